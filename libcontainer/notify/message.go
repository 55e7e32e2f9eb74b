package notify

import (
	"bytes"
	"strconv"
)

// isReady reports whether a datagram from the container says it is ready:
// sd_notify(3) messages are newline-separated KEY=VALUE lines, and readiness
// is a line that is exactly "READY=1".
func isReady(msg []byte) bool {
	for line := range bytes.SplitSeq(msg, []byte{'\n'}) {
		if string(line) == "READY=1" {
			return true
		}
	}
	return false
}

// readyMessage is what the host socket gets once the container is ready:
// both lines in one datagram, so that the manager learns the main pid
// together with the readiness.
func readyMessage(pid int) []byte {
	return []byte("READY=1\nMAINPID=" + strconv.Itoa(pid) + "\n")
}
