package proc

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrCwdOutsideRoot is returned by Chdir when the new working directory is
// not reachable from the process's root.
var ErrCwdOutsideRoot = errors.New("outside the container's root, a possible breakout")

// Chdir changes the working directory to dir, then checks with getcwd(2)
// that it is inside the process's root. A dir such as /proc/self/fd/N
// names whatever descriptor N is: one opened on a host directory (leaked by
// the runtime or by its caller) would start the process outside the
// container, whence ".." walks the host's filesystem (CVE-2024-21626). The
// kernel reports such a directory as "(unreachable)/...", which
// unix.Getwd turns into ENOENT. A chdir failure is returned as the bare
// errno, so that callers can test it.
func Chdir(dir string) error {
	if err := unix.Chdir(dir); err != nil {
		return err
	}
	wd, err := unix.Getwd()
	if err != nil || !strings.HasPrefix(wd, "/") {
		if err == nil {
			err = unix.ENOENT
		}
		return fmt.Errorf("%w: getcwd: %w", ErrCwdOutsideRoot, err)
	}
	return nil
}
