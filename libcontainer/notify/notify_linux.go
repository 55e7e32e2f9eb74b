package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// ContainerDir is where the container sees the directory holding the proxy
// socket: the caller bind-mounts filepath.Dir(Socket.Path()) there.
const ContainerDir = "/run/notify"

// ContainerPath is the NOTIFY_SOCKET value for the container's processes.
const ContainerPath = ContainerDir + "/" + socketName

// DirName is the name of the socket's directory in the state directory.
const DirName = "notify"

const (
	socketName = "notify.sock"

	// barrierTimeout bounds the wait for the host manager to acknowledge
	// the barrier. systemd answers at once; a manager that does not know
	// BARRIER=1 still closes the descriptor when it reads the datagram.
	barrierTimeout = 5 * time.Second

	// maxMessage is the largest datagram read from the container; a longer
	// one is cut, which can only lose lines that do not matter here.
	maxMessage = 64 << 10
)

// ErrBarrierTimeout is wrapped by Forward's error when the host manager did
// not acknowledge the barrier in time. READY=1 and MAINPID have been sent by
// then; runc logs this case as a warning and carries on.
var ErrBarrierTimeout = errors.New("no barrier acknowledgement from the host")

// Socket is berth's end of the proxy: a unixgram socket bound at
// <stateDir>/notify/notify.sock (directory 0755, socket 0777 so that any
// container user can write), which the container sees at ContainerPath.
type Socket struct {
	// conn is the bound socket the container writes to.
	conn *net.UnixConn
	// path is conn's host path.
	path string
	// host is the caller's notify socket.
	host *net.UnixAddr
	// barrierTimeout is barrierTimeout; tests shorten it.
	barrierTimeout time.Duration
}

// Listen creates the directory and binds the socket. hostSocket is the
// caller's NOTIFY_SOCKET value: a path, or "@name" for an abstract socket.
func Listen(stateDir, hostSocket string) (*Socket, error) {
	if hostSocket == "" {
		return nil, errors.New("listen for sd_notify: empty NOTIFY_SOCKET")
	}
	dir := filepath.Join(stateDir, DirName)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	// Mode bits of mkdir and bind are cut by the umask; set them for good.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("chmod %s: %w", dir, err)
	}
	path := filepath.Join(dir, socketName)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("bind sd_notify socket: %w", err)
	}
	if err := os.Chmod(path, 0o777); err != nil {
		conn.Close()
		os.Remove(path)
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return &Socket{
		conn:           conn,
		path:           path,
		host:           &net.UnixAddr{Name: hostSocket, Net: "unixgram"},
		barrierTimeout: barrierTimeout,
	}, nil
}

// Path returns the socket's host path.
func (s *Socket) Path() string { return s.path }

// Close closes and removes the socket. Its directory stays, as the
// container may have it mounted; it goes with the state directory.
func (s *Socket) Close() error {
	err := s.conn.Close()
	if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return fmt.Errorf("close sd_notify socket %s: %w", s.path, err)
	}
	return nil
}

// Forward waits for the container to send a message with a "READY=1" line,
// then sends the host socket one datagram "READY=1\nMAINPID=<pid>\n" (pid is
// the container's init in the caller's pid namespace) and waits, at most 5
// seconds, for the host to acknowledge a BARRIER=1 (sd_notify_barrier(3)).
//
// Forward returns nil once the barrier is acknowledged, an error wrapping
// ErrBarrierTimeout if it is not (callers should warn and go on, as runc
// does), and ctx.Err() when ctx is cancelled before READY=1 arrives. It
// does not watch the container: cancel ctx when the init exits.
func (s *Socket) Forward(ctx context.Context, pid int) error {
	if err := s.waitReady(ctx); err != nil {
		return err
	}
	// The container is ready: relay it even if the container exits
	// meanwhile (a foreground run may end at once); only the barrier's
	// own timeout bounds what follows.
	ctx = context.WithoutCancel(ctx)
	host, err := net.DialUnix("unixgram", nil, s.host)
	if err != nil {
		return fmt.Errorf("connect to NOTIFY_SOCKET %s: %w", s.host.Name, err)
	}
	defer host.Close()
	// A host that stops reading must not block Forward past ctx.
	stop := interruptOnDone(ctx, host)
	defer stop()
	if _, err := host.Write(readyMessage(pid)); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("send READY=1 to %s: %w", s.host.Name, err)
	}
	if err := s.barrier(ctx, host); err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return err
		}
		return fmt.Errorf("barrier on %s: %w", s.host.Name, err)
	}
	return nil
}

// waitReady reads the container's messages until one says READY=1.
func (s *Socket) waitReady(ctx context.Context) error {
	if err := s.conn.SetDeadline(time.Time{}); err != nil {
		return fmt.Errorf("read sd_notify socket: %w", err)
	}
	stop := interruptOnDone(ctx, s.conn)
	defer stop()
	buf := make([]byte, maxMessage)
	for {
		// Read takes no control messages: descriptors the container sends
		// (FDSTORE=1) are closed by the kernel, not received.
		n, err := s.conn.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read sd_notify socket: %w", err)
		}
		if isReady(buf[:n]) {
			return nil
		}
	}
}

// barrier implements sd_notify_barrier(3): it sends BARRIER=1 with the write
// end of a pipe, closes its own copy, and waits for EOF on the read end,
// which comes when the host manager has read the message and closed the
// descriptor it got.
func (s *Socket) barrier(ctx context.Context, host *net.UnixConn) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create pipe: %w", err)
	}
	defer r.Close()
	err = sendWithFD(host, []byte("BARRIER=1\n"), w)
	w.Close()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("send BARRIER=1: %w", err)
	}
	if err := r.SetReadDeadline(time.Now().Add(s.barrierTimeout)); err != nil {
		return fmt.Errorf("set pipe deadline: %w", err)
	}
	stop := interruptOnDone(ctx, r)
	defer stop()
	var b [1]byte
	n, err := r.Read(b[:])
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w after %s", ErrBarrierTimeout, s.barrierTimeout)
	case err != nil:
		return fmt.Errorf("read pipe: %w", err)
	default:
		return fmt.Errorf("read pipe: got %d bytes, want EOF", n)
	}
}

// sendWithFD sends msg with f attached (SCM_RIGHTS) on the connected
// datagram socket conn. It calls sendmsg(2) itself because package net
// refuses WriteMsgUnix on a connected datagram socket.
func sendWithFD(conn *net.UnixConn, msg []byte, f *os.File) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	rights := unix.UnixRights(int(f.Fd()))
	var sendErr error
	err = rc.Write(func(fd uintptr) bool {
		sendErr = unix.Sendmsg(int(fd), msg, rights, nil, 0)
		// On EAGAIN (the host's queue is full) wait until it is writable.
		return !errors.Is(sendErr, unix.EAGAIN)
	})
	if err != nil {
		return err
	}
	if sendErr != nil {
		return &os.SyscallError{Syscall: "sendmsg", Err: sendErr}
	}
	return nil
}

// interruptOnDone makes a blocked read or write on d return when ctx is
// done, by moving its deadlines to the past. The returned stop undoes the arrangement
// and waits for a deadline change already under way, so that it cannot land
// on a later read.
func interruptOnDone(ctx context.Context, d interface{ SetDeadline(time.Time) error }) (stop func()) {
	done := make(chan struct{})
	stopAfter := context.AfterFunc(ctx, func() {
		defer close(done)
		_ = d.SetDeadline(time.Unix(1, 0))
	})
	return func() {
		if !stopAfter() {
			<-done // ctx is done and the function ran or is running
		}
	}
}
