package proc

import (
	"fmt"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// SetRlimits applies the resource limits to the process (setrlimit(2):
// limits belong to the whole process, not to a thread).
//
// It goes through package syscall on purpose: the Go runtime raises its own
// RLIMIT_NOFILE soft limit at start-up and puts the original value back in
// syscall.Exec, which would undo a configured RLIMIT_NOFILE; only
// syscall.Setrlimit tells the runtime to leave it alone (go.dev/issue/46279,
// runc issue 4195).
func SetRlimits(rl []configs.Rlimit) error {
	for _, r := range rl {
		lim := syscall.Rlimit{Cur: r.Soft, Max: r.Hard}
		if err := syscall.Setrlimit(r.Type, &lim); err != nil {
			return fmt.Errorf("set rlimit %s (soft %d, hard %d): %w", rlimitName(r.Type), r.Soft, r.Hard, err)
		}
	}
	return nil
}

// SetRlimitsOf applies the resource limits to process pid (prlimit(2)), as
// runc's parent does for a process it executes into a container: a limit
// above the hard one is then raised with the runtime's privileges, which
// the process may have lost in a user namespace.
func SetRlimitsOf(pid int, rl []configs.Rlimit) error {
	for _, r := range rl {
		lim := unix.Rlimit{Cur: r.Soft, Max: r.Hard}
		if err := unix.Prlimit(pid, r.Type, &lim, nil); err != nil {
			return fmt.Errorf("set rlimit %s (soft %d, hard %d): %w", rlimitName(r.Type), r.Soft, r.Hard, err)
		}
	}
	return nil
}

func rlimitName(t int) string {
	switch t {
	case unix.RLIMIT_AS:
		return "RLIMIT_AS"
	case unix.RLIMIT_CORE:
		return "RLIMIT_CORE"
	case unix.RLIMIT_CPU:
		return "RLIMIT_CPU"
	case unix.RLIMIT_DATA:
		return "RLIMIT_DATA"
	case unix.RLIMIT_FSIZE:
		return "RLIMIT_FSIZE"
	case unix.RLIMIT_LOCKS:
		return "RLIMIT_LOCKS"
	case unix.RLIMIT_MEMLOCK:
		return "RLIMIT_MEMLOCK"
	case unix.RLIMIT_MSGQUEUE:
		return "RLIMIT_MSGQUEUE"
	case unix.RLIMIT_NICE:
		return "RLIMIT_NICE"
	case unix.RLIMIT_NOFILE:
		return "RLIMIT_NOFILE"
	case unix.RLIMIT_NPROC:
		return "RLIMIT_NPROC"
	case unix.RLIMIT_RSS:
		return "RLIMIT_RSS"
	case unix.RLIMIT_RTPRIO:
		return "RLIMIT_RTPRIO"
	case unix.RLIMIT_RTTIME:
		return "RLIMIT_RTTIME"
	case unix.RLIMIT_SIGPENDING:
		return "RLIMIT_SIGPENDING"
	case unix.RLIMIT_STACK:
		return "RLIMIT_STACK"
	}
	return "type " + strconv.Itoa(t)
}
