package terminal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// SendFd sends f over sock, an AF_UNIX socket, as one message whose data is
// name and whose one SCM_RIGHTS descriptor is f. name must not be empty (a
// stream socket drops the descriptors of a message without data) and is at
// most 4096 bytes. f stays open: the receiver gets its own descriptor.
func SendFd(sock *os.File, name string, f *os.File) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("send fd over %s: name of %d bytes, want 1 to %d", sock.Name(), len(name), maxNameLen)
	}
	src, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("send %s over %s: %w", name, sock.Name(), err)
	}
	dst, err := sock.SyscallConn()
	if err != nil {
		return fmt.Errorf("send %s over %s: %w", name, sock.Name(), err)
	}
	var n int
	var sendErr error
	ctlErr := src.Control(func(fd uintptr) {
		oob := unix.UnixRights(int(fd))
		// Write waits for the socket to become writable when sock is in
		// Go's poller (non-blocking); a blocking socket just blocks.
		err := dst.Write(func(s uintptr) bool {
			n, sendErr = unix.SendmsgN(int(s), []byte(name), oob, nil, 0)
			return !errors.Is(sendErr, unix.EAGAIN)
		})
		if sendErr == nil {
			sendErr = err
		}
	})
	switch {
	case ctlErr != nil:
		sendErr = ctlErr
	case sendErr == nil && n != len(name):
		sendErr = io.ErrShortWrite
	}
	if sendErr != nil {
		return fmt.Errorf("send %s over %s: %w", name, sock.Name(), sendErr)
	}
	return nil
}

// RecvFd receives one message sent by SendFd from sock, an AF_UNIX socket,
// and returns its descriptor (close-on-exec) as a file named by the
// message's data. A message with no descriptor or more than one is an error
// (extra descriptors are closed); so is a closed connection.
func RecvFd(sock *os.File) (*os.File, error) {
	rc, err := sock.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("receive fd over %s: %w", sock.Name(), err)
	}
	buf := make([]byte, maxNameLen)
	// Room for a few descriptors, so that a peer sending too many is seen
	// (and its descriptors closed) rather than truncated.
	oob := make([]byte, unix.CmsgSpace(8*4))
	var n, oobn, flags int
	var recvErr error
	err = rc.Read(func(s uintptr) bool {
		n, oobn, flags, _, recvErr = unix.Recvmsg(int(s), buf, oob, unix.MSG_CMSG_CLOEXEC)
		return !errors.Is(recvErr, unix.EAGAIN)
	})
	if recvErr == nil {
		recvErr = err
	}
	if recvErr != nil {
		return nil, fmt.Errorf("receive fd over %s: %w", sock.Name(), recvErr)
	}
	fds, err := parseRights(oob[:oobn])
	if err == nil && flags&unix.MSG_CTRUNC != 0 {
		err = errors.New("control message truncated")
	}
	if err == nil && len(fds) != 1 {
		err = fmt.Errorf("got %d descriptors with %d bytes of data, want 1", len(fds), n)
		if n == 0 && len(fds) == 0 {
			err = io.ErrUnexpectedEOF
		}
	}
	if err != nil {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("receive fd over %s: %w", sock.Name(), err)
	}
	return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
}

// parseRights returns the descriptors of every SCM_RIGHTS message in oob.
// Even on error it returns those it found, for the caller to close.
func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("parse control message: %w", err)
	}
	var fds []int
	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET || msgs[i].Header.Type != unix.SCM_RIGHTS {
			continue
		}
		got, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			return fds, fmt.Errorf("parse control message: %w", err)
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

// notSocketError is the error of SendToConsoleSocket when the path names
// something other than a socket. It matches unix.ENOTSOCK in errors.Is.
type notSocketError struct{}

func (notSocketError) Error() string        { return "not a socket" }
func (notSocketError) Is(target error) bool { return target == unix.ENOTSOCK }

// SendToConsoleSocket connects to the AF_UNIX stream socket at path (the
// --console-socket of berth create and run) and sends master in one
// SCM_RIGHTS message whose data is master.Name(), as runc does. The
// connection is closed on return; master stays open. A path longer than
// sun_path allows is reached through its directory. A missing path gives
// "console socket PATH: no such file or directory" and a path that is not a
// socket "console socket PATH: not a socket" (errors.Is unix.ENOTSOCK).
func SendToConsoleSocket(path string, master *os.File) error {
	s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "console socket", Path: path, Err: fmt.Errorf("socket: %w", err)}
	}
	sock := os.NewFile(uintptr(s), path)
	defer sock.Close()
	err = connect(s, path)
	if errors.Is(err, unix.ECONNREFUSED) {
		// A file that is not a socket refuses too; say which it is.
		if st, serr := os.Stat(path); serr == nil && st.Mode()&os.ModeSocket == 0 {
			err = notSocketError{}
		}
	}
	if err != nil {
		return &os.PathError{Op: "console socket", Path: path, Err: err}
	}
	if err := SendFd(sock, master.Name(), master); err != nil {
		return fmt.Errorf("console socket %s: %w", path, err)
	}
	return nil
}

// connect connects s to the socket at path. A path too long for sun_path
// (108 bytes) is reached through its directory's descriptor instead.
func connect(s int, path string) error {
	addr := path
	if len(path) >= len(unix.RawSockaddrUnix{}.Path) {
		dir, base := filepath.Split(path)
		d, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(d)
		addr = "/proc/self/fd/" + strconv.Itoa(d) + "/" + base
	}
	for {
		err := unix.Connect(s, &unix.SockaddrUnix{Name: addr})
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
