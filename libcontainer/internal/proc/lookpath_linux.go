package proc

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// LookPath finds the program file in the PATH of env (DefaultPath when env
// has no PATH) with the rules of exec.LookPath, which runc calls before
// execve, but without reading the process's own environment:
//
//   - a file with a slash is checked as it is;
//   - an empty PATH element means the current directory, and a program found
//     there through a relative PATH element is refused with exec.ErrDot;
//   - a candidate must not be a directory and must be executable by the
//     calling process (faccessat2 AT_EACCESS, so a noexec mount fails here
//     rather than at execve); candidates that fail are skipped.
//
// It runs against the current root and credentials: call it after
// pivot_root and the user switch. Not found is
// `exec: "foo": executable file not found in $PATH`, an *exec.Error
// wrapping exec.ErrNotFound.
func LookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		if err := executable(file); err != nil {
			return "", &exec.Error{Name: file, Err: err}
		}
		return file, nil
	}
	path, ok := pathOf(env)
	if !ok {
		path = DefaultPath
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "." // Unix shell semantics.
		}
		p := filepath.Join(dir, file)
		if executable(p) != nil {
			continue
		}
		if !filepath.IsAbs(p) {
			return p, &exec.Error{Name: file, Err: exec.ErrDot}
		}
		return p, nil
	}
	return "", &exec.Error{Name: file, Err: exec.ErrNotFound}
}

// executable checks that path is not a directory and that the process may
// execute it, as os/exec's findExecutable does.
func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return unix.EISDIR
	}
	err = unix.Faccessat(unix.AT_FDCWD, path, unix.X_OK, unix.AT_EACCESS)
	// ENOSYS: no faccessat2 and no emulation; EPERM: a seccomp filter.
	// Fall back to the permission bits then, as os/exec does.
	if err == nil || (!errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EPERM)) {
		return err
	}
	if fi.Mode()&0o111 != 0 {
		return nil
	}
	return os.ErrPermission
}
