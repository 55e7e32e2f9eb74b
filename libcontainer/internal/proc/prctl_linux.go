package proc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// SetNoNewPrivs sets no_new_privs (prctl(PR_SET_NO_NEW_PRIVS)): execve will
// not grant privileges through setuid bits or file capabilities. The flag
// belongs to the calling thread and is inherited by execve, so call it on
// the thread that calls execve. It cannot be cleared.
func SetNoNewPrivs() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_NO_NEW_PRIVS: %w", err)
	}
	return nil
}
