package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// The exec socket joins berth create and berth start. Create binds a
// listening AF_UNIX socket at <state dir>/exec.sock and hands it to the
// init, which waits in accept(2) once the container is set up. Start
// connects; the init then runs the startContainer hooks and execs. The
// accepted connection is close-on-exec, so start reads end-of-file when the
// process has executed, or the init's error when a hook or execve failed.
// A refused connection means the init is gone. The socket exists while the
// container is created and not started: it is what Status looks for.
//
// Where runc uses a fifo, which only carries "go" one way, the socket also
// carries the outcome back, so that start can fail on a failed
// startContainer hook and run the poststart hooks after execve, as the
// runtime spec asks.

// listenExecSock binds and listens on the exec socket in dir.
func listenExecSock(dir string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("exec socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), execSockName)
	err = withSockaddr(dir, execSockName, func(sa *unix.SockaddrUnix) error { return unix.Bind(fd, sa) })
	if err == nil {
		err = unix.Listen(fd, 1)
	}
	if err != nil {
		f.Close()
		os.Remove(filepath.Join(dir, execSockName))
		return nil, fmt.Errorf("exec socket %s: %w", filepath.Join(dir, execSockName), err)
	}
	return f, nil
}

// startExecSock connects to the exec socket in dir and reads until the
// init closes the connection: an empty result means the process has
// executed; anything else is the init's error.
func startExecSock(dir string) (string, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("exec socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), execSockName)
	defer f.Close()
	err = withSockaddr(dir, execSockName, func(sa *unix.SockaddrUnix) error {
		for {
			err := unix.Connect(fd, sa)
			if !errors.Is(err, unix.EINTR) {
				return err
			}
		}
	})
	switch {
	case errors.Is(err, unix.ECONNREFUSED):
		return "", ErrNotRunning
	case errors.Is(err, unix.ENOENT):
		return "", fmt.Errorf("%w: already started", ErrNotCreated)
	case err != nil:
		return "", fmt.Errorf("exec socket %s: %w", filepath.Join(dir, execSockName), err)
	}
	msg, err := io.ReadAll(f)
	if err != nil && !errors.Is(err, unix.ECONNRESET) {
		return "", fmt.Errorf("exec socket %s: %w", filepath.Join(dir, execSockName), err)
	}
	return string(msg), nil
}

// withSockaddr calls fn with the address of the socket name in dir. A path
// too long for sun_path (108 bytes) is reached through the directory's
// descriptor.
func withSockaddr(dir, name string, fn func(*unix.SockaddrUnix) error) error {
	path := filepath.Join(dir, name)
	if len(path) < len(unix.RawSockaddrUnix{}.Path) {
		return fn(&unix.SockaddrUnix{Name: path})
	}
	d, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(d)
	return fn(&unix.SockaddrUnix{Name: "/proc/self/fd/" + strconv.Itoa(d) + "/" + name})
}
