package seccomp

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Load installs the program as the calling thread's seccomp filter
// (seccomp(2), SECCOMP_SET_MODE_FILTER), to be inherited by the process it
// execs. Without no_new_privs the caller needs CAP_SYS_ADMIN. With
// FlagNewListener it returns the filter's notification listener, else
// nil. The caller must stay on this thread until execve.
func Load(p *Program) (*os.File, error) {
	if len(p.Instructions) == 0 {
		return nil, errors.New("load seccomp filter: empty program")
	}
	filter := make([]unix.SockFilter, len(p.Instructions))
	for i, in := range p.Instructions {
		filter[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(p.Flags), uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return nil, fmt.Errorf("load seccomp filter (flags %#x): %w", p.Flags, errno)
	}
	if p.Flags&FlagNewListener == 0 {
		return nil, nil
	}
	return os.NewFile(fd, "seccomp-listener"), nil
}

// FlagSupported says whether the kernel knows a filter flag: it answers
// EFAULT for the missing program when it does, EINVAL when it does not
// (the probe libseccomp uses).
func FlagSupported(flag uint) bool {
	if flag&FlagWaitKillableRecv != 0 {
		// Valid only with a listener.
		flag |= FlagNewListener
	}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flag), 0)
	return errno == unix.EFAULT
}

// ActionSupported says whether the kernel knows a filter return value
// (SECCOMP_GET_ACTION_AVAIL).
func ActionSupported(ret uint32) bool {
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&ret)))
	return errno == 0
}
