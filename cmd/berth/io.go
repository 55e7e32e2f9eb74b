package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer"
)

// stdio is berth's side of a container process's standard streams, as
// runc arranges them:
//
//   - detached (create, run -d) without a terminal: the process inherits
//     berth's own descriptors as they are;
//   - detached with a terminal: the pty master goes to --console-socket;
//   - foreground without a terminal: pipes, owned by the container's root,
//     copied to and from berth's stdio;
//   - foreground with a terminal: the master comes back to berth over a
//     socketpair and is proxied to berth's terminal (libcontainer.Console).
type stdio struct {
	// consoleSock is berth's end of the foreground terminal's socketpair.
	consoleSock *os.File
	console     *libcontainer.Console
	// childEnds are the container's ends of the pipes or sockets, closed
	// in berth once the process has them.
	childEnds []*os.File
	// copies are the output copies of the foreground pipes.
	copies sync.WaitGroup
}

// ioOptions are the flags that shape a process's stdio and descriptors.
type ioOptions struct {
	detach        bool
	consoleSocket string
	pidfdSocket   string
	preserveFds   int
	// noListenFds leaves out the socket-activation descriptors
	// ($LISTEN_FDS): exec passes only --preserve-fds, as runc.
	noListenFds bool
}

// setupStdio fills p's stdio, console and pidfd sockets and extra files
// for the process sp. rootUID and rootGID own the foreground pipes.
func setupStdio(p *libcontainer.Process, sp *specs.Process, o *ioOptions, rootUID, rootGID int) (_ *stdio, retErr error) {
	s := &stdio{}
	defer func() {
		if retErr != nil {
			s.close()
		}
	}()
	if err := checkTerminal(sp, o); err != nil {
		return nil, err
	}
	if sp.ConsoleSize != nil {
		p.ConsoleWidth, p.ConsoleHeight = uint16(sp.ConsoleSize.Width), uint16(sp.ConsoleSize.Height)
	}
	if o.pidfdSocket != "" {
		f, err := dialUnix(o.pidfdSocket)
		if err != nil {
			return nil, fmt.Errorf("--pidfd-socket: %w", err)
		}
		s.childEnds = append(s.childEnds, f)
		p.PidfdSocket = f
	}
	files, env, err := passedFiles(o.preserveFds, !o.noListenFds)
	if err != nil {
		return nil, err
	}
	p.ExtraFiles = files
	p.Env = append(p.Env, env...)

	switch {
	case sp.Terminal && o.detach:
		f, err := dialUnix(o.consoleSocket)
		if err != nil {
			return nil, fmt.Errorf("--console-socket: %w", err)
		}
		s.childEnds = append(s.childEnds, f)
		p.ConsoleSocket = f
	case sp.Terminal:
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("console socketpair: %w", err)
		}
		s.consoleSock = os.NewFile(uintptr(fds[0]), "console")
		child := os.NewFile(uintptr(fds[1]), "console")
		s.childEnds = append(s.childEnds, child)
		p.ConsoleSocket = child
		// The pty starts with berth's own terminal's size, so that the
		// process never sees another one before the proxy runs.
		if ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ); err == nil && ws.Row != 0 && ws.Col != 0 {
			p.ConsoleWidth, p.ConsoleHeight = ws.Col, ws.Row
		}
	case o.detach:
		p.Stdin, p.Stdout, p.Stderr = os.Stdin, os.Stdout, os.Stderr
	default:
		if err := s.pipes(p, rootUID, rootGID); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// checkTerminal applies runc's rules on terminals and console sockets.
func checkTerminal(sp *specs.Process, o *ioOptions) error {
	switch {
	case o.consoleSocket != "" && (!sp.Terminal || !o.detach):
		return errors.New("--console-socket: cannot use a console socket unless the container detaches and process.terminal is true")
	case sp.Terminal && o.detach && o.consoleSocket == "":
		return errors.New("process.terminal: cannot allocate a tty when detaching without --console-socket")
	}
	return nil
}

// dialUnix connects to the AF_UNIX stream socket at path.
func dialUnix(path string) (*os.File, error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) && errors.Is(err, unix.ECONNREFUSED) {
			if st, serr := os.Stat(path); serr == nil && st.Mode()&os.ModeSocket == 0 {
				return nil, fmt.Errorf("%s: not a socket", path)
			}
		}
		return nil, err
	}
	defer conn.Close()
	f, err := conn.(*net.UnixConn).File()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// passedFiles returns the descriptors berth passes on to the process: with
// listen, the socket-activation ones ($LISTEN_FDS, when $LISTEN_PID is
// berth's pid), which the process finds with LISTEN_FDS and LISTEN_PID=1,
// then the --preserve-fds ones that follow them.
func passedFiles(preserve int, listen bool) ([]*os.File, []string, error) {
	if preserve < 0 {
		return nil, nil, fmt.Errorf("--preserve-fds: %d is negative", preserve)
	}
	var (
		files []*os.File
		env   []string
	)
	if n, ok := listenFds(); ok && listen {
		for fd := 3; fd < 3+n; fd++ {
			files = append(files, os.NewFile(uintptr(fd), "listen-fd-"+strconv.Itoa(fd)))
		}
		env = append(env, "LISTEN_FDS="+strconv.Itoa(n), "LISTEN_PID=1")
	}
	base := 3 + len(files)
	for fd := base; fd < base+preserve; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return nil, nil, fmt.Errorf("--preserve-fds: descriptor %d: %w", fd, err)
		}
		files = append(files, os.NewFile(uintptr(fd), "preserve-fd-"+strconv.Itoa(fd)))
	}
	return files, env, nil
}

// listenFds reads systemd's socket activation variables (sd_listen_fds(3)):
// they count only when LISTEN_PID is this process.
func listenFds() (int, bool) {
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return 0, false
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// pipes gives a foreground process pipes for its stdio, owned by the
// container's root so that it may reopen them, and copies them to and from
// berth's own.
func (s *stdio) pipes(p *libcontainer.Process, uid, gid int) error {
	inR, inW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("stdin pipe: %w", err)
	}
	s.childEnds = append(s.childEnds, inR)
	p.Stdin = inR
	go func() {
		_, _ = io.Copy(inW, os.Stdin)
		inW.Close()
	}()
	for _, out := range []struct {
		dst  *os.File
		into *io.Writer
	}{{os.Stdout, &p.Stdout}, {os.Stderr, &p.Stderr}} {
		r, w, err := os.Pipe()
		if err != nil {
			return fmt.Errorf("output pipe: %w", err)
		}
		s.childEnds = append(s.childEnds, w)
		*out.into = w
		s.copies.Add(1)
		go func() {
			defer s.copies.Done()
			_, _ = io.Copy(out.dst, r)
			r.Close()
		}()
	}
	for _, f := range []*os.File{inR, p.Stdout.(*os.File), p.Stderr.(*os.File)} {
		if err := unix.Fchown(int(f.Fd()), uid, gid); err != nil {
			return fmt.Errorf("chown stdio pipe to %d:%d: %w", uid, gid, err)
		}
	}
	return nil
}

// started closes berth's copies of the container's ends and, for a
// foreground terminal, starts proxying it.
func (s *stdio) started() error {
	for _, f := range s.childEnds {
		f.Close()
	}
	s.childEnds = nil
	if s.consoleSock != nil {
		c, err := libcontainer.NewConsole(s.consoleSock, os.Stdin, os.Stdout)
		s.consoleSock.Close()
		s.consoleSock = nil
		if err != nil {
			return err
		}
		s.console = c
	}
	return nil
}

// wait waits for the process's output to be copied out, once the process
// and whatever shared its stdio are gone.
func (s *stdio) wait() {
	if s.console != nil {
		s.console.Wait()
	}
	s.copies.Wait()
}

// close restores berth's terminal and closes what is left.
func (s *stdio) close() {
	for _, f := range s.childEnds {
		f.Close()
	}
	s.childEnds = nil
	if s.consoleSock != nil {
		s.consoleSock.Close()
	}
	if s.console != nil {
		_ = s.console.Close()
	}
}
