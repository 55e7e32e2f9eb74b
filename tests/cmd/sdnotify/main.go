// Command sdnotify sends one sd_notify(3) datagram to the socket named by
// $NOTIFY_SOCKET, for tests of berth's NOTIFY_SOCKET proxy: busybox has no
// client for AF_UNIX datagram sockets.
//
//	sdnotify [MESSAGE...]
//
// The datagram is the messages joined by newlines ("READY=1" when none is
// given), sent to a path, or to an abstract address when NOTIFY_SOCKET
// starts with "@". It prints nothing; errors go to stderr with exit status
// 1. Build it with CGO_ENABLED=0 to copy it into a container's rootfs.
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

func main() {
	msgs := os.Args[1:]
	if len(msgs) == 0 {
		msgs = []string{"READY=1"}
	}
	if err := send(os.Getenv("NOTIFY_SOCKET"), strings.Join(msgs, "\n")); err != nil {
		fmt.Fprintln(os.Stderr, "sdnotify:", err)
		os.Exit(1)
	}
}

// send writes msg as one datagram to the socket at addr.
func send(addr, msg string) error {
	if addr == "" {
		return errors.New("NOTIFY_SOCKET is not set")
	}
	// Package net spells an abstract address with a leading "@", as
	// systemd does.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("connect to NOTIFY_SOCKET %s: %w", addr, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(msg)); err != nil {
		return fmt.Errorf("send to NOTIFY_SOCKET %s: %w", addr, err)
	}
	return nil
}
