package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer"
	"github.com/berthrt/berth/libcontainer/notify"
)

// notifyProxy relays the container's sd_notify readiness to berth's own
// NOTIFY_SOCKET, as runc does: the container gets a socket of berth's in
// its state directory, mounted at /run/notify, and berth run or berth
// start waits for READY=1 there before it tells the host. A nil
// *notifyProxy (no NOTIFY_SOCKET) does nothing.
type notifyProxy struct {
	host string
	sock *notify.Socket
}

// notifySocketFor prepares spec for the proxy when NOTIFY_SOCKET is set:
// the mount of the socket's directory and the process's NOTIFY_SOCKET.
// The directory is made by listen, once the state directory exists.
func notifySocketFor(spec *specs.Spec, root, id string) *notifyProxy {
	host := os.Getenv("NOTIFY_SOCKET")
	if host == "" {
		return nil
	}
	spec.Mounts = append(spec.Mounts, specs.Mount{
		Destination: notify.ContainerDir,
		Source:      filepath.Join(root, id, notify.DirName),
		Type:        "bind",
		Options:     []string{"bind", "nosuid", "noexec", "nodev", "ro"},
	})
	env := spec.Process.Env[:0:0]
	for _, e := range spec.Process.Env {
		if !strings.HasPrefix(e, "NOTIFY_SOCKET=") {
			env = append(env, e)
		}
	}
	spec.Process.Env = append(env, "NOTIFY_SOCKET="+notify.ContainerPath)
	return &notifyProxy{host: host}
}

// prepare makes the socket's directory in the container's state directory
// and, for run, binds the socket (berth start binds it for create).
func (n *notifyProxy) prepare(c *libcontainer.Container, root string, bind bool) error {
	if n == nil {
		return nil
	}
	dir := filepath.Join(root, c.ID(), notify.DirName)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: %w", err)
	}
	if !bind {
		return nil
	}
	return n.listen(root, c.ID())
}

func (n *notifyProxy) listen(root, id string) error {
	s, err := notify.Listen(filepath.Join(root, id), n.host)
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: %w", err)
	}
	n.sock = s
	return nil
}

// forward waits for the container's READY=1 and relays it with mainPid
// (the init's pid, or berth's own for a foreground run, as runc reports
// them), and gives up quietly when the init exits first, as runc does. A
// host that does not acknowledge the barrier only earns a warning.
func (n *notifyProxy) forward(c *libcontainer.Container, g *globals, mainPid int) error {
	if n == nil || n.sock == nil {
		return nil
	}
	defer n.sock.Close()
	st, err := c.State()
	if err != nil {
		return err
	}
	pid := st.InitProcessPid
	pidfd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: watch init %d: %w", pid, err)
	}
	// In Go's poller, the pidfd turns readable when the init exits, and
	// closing it ends the wait.
	pf := os.NewFile(uintptr(pidfd), "pidfd")
	defer pf.Close()
	rc, err := pf.SyscallConn()
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: watch init %d: %w", pid, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		waited := false
		_ = rc.Read(func(uintptr) bool {
			done := waited
			waited = true
			return done
		})
		cancel()
	}()
	if mainPid == 0 {
		mainPid = pid
	}
	err = n.sock.Forward(ctx, mainPid)
	switch {
	case errors.Is(err, notify.ErrBarrierTimeout):
		g.logger.Warn("NOTIFY_SOCKET: " + err.Error())
		return nil
	case errors.Is(err, context.Canceled):
		g.logger.Debug("NOTIFY_SOCKET: the container exited before it reported READY=1")
		return nil
	case err != nil:
		return fmt.Errorf("NOTIFY_SOCKET: %w", err)
	}
	return nil
}
