package launch

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
	"github.com/berthrt/berth/libcontainer/internal/terminal"
	"github.com/berthrt/berth/libcontainer/nsenter"
)

// StartOptions configure Start.
type StartOptions struct {
	// Bootstrap is sent to the init process as it is.
	Bootstrap *Bootstrap
	// Exe is the binary re-executed as init; empty means this process's
	// own executable.
	Exe string
	// EnterCgroup runs on the thread that forks the init, just before the
	// fork, so that the init is born in the container's cgroups: it moves
	// that thread (cgroups.Manager.ApplyThread) and returns a cgroup v2
	// directory fd for clone3 CLONE_INTO_CGROUP, or -1. May be nil.
	EnterCgroup func() (int, error)
	// SetCgroup writes the container's limits while the init sets up;
	// the init waits for it (Bootstrap.CgroupReady) before pivot_root.
	// May be nil.
	SetCgroup func() error
	// ExecSock is the listening exec socket, held by the init until
	// berth start connects (Bootstrap.WaitStart).
	ExecSock *os.File
	// ConsoleSocket receives the pty master (Bootstrap.Terminal).
	ConsoleSocket *os.File
	// RunHooks runs the prestart and createRuntime hooks, with the init's
	// pid, when the init asks for them; the init waits meanwhile.
	RunHooks func(pid int) error
	// Stdin, Stdout and Stderr are the init's standard streams.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// ExtraFiles are the process's descriptors 3, 4, …
	ExtraFiles []*os.File
	// Namespaces are the namespaces to join, open: for a process executed
	// into a running container, those of its init. Nil means the
	// namespaces that Bootstrap.Config gives by path, which Start opens.
	Namespaces []NamespaceFile
	// Root is the container's root directory, for a process executed
	// into it (Bootstrap.Exec): its user is looked up there, its pty
	// allocated there, and it chroots into it with Bootstrap.Chroot (the
	// container's root is not its mount namespace's).
	Root *os.File
	// Logger receives the init's log lines.
	Logger *slog.Logger
}

// Init is a started init process.
type Init struct {
	// Pid is the init's pid in berth's pid namespace.
	Pid int
	// Pidfd refers to the init process; -1 if the kernel gave none.
	Pidfd int
	cmd   *exec.Cmd
	// proc is the init when the bootstrap forked it into its pid
	// namespace (cmd is then the process in between, reaped by
	// middleDone); nil otherwise.
	proc       *os.Process
	middleDone chan struct{}
	ch         *channel
	logs       chan struct{}
	reaped     bool
}

// Start forks the init process, sends it the bootstrap, places it in its
// cgroup while it sets up, and returns once the init has finished setup: in
// fifo mode it then waits on the exec fifo, otherwise it has called execve.
// On error the init process is killed and reaped.
func Start(o *StartOptions) (_ *Init, retErr error) {
	if err := compileSeccomp(o.Bootstrap, o.Logger); err != nil {
		return nil, err
	}
	exe := o.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find own executable: %w", err)
		}
	}
	joins := o.Namespaces
	if joins == nil {
		var err error
		if joins, err = openConfigNamespaces(o.Bootstrap.Config); err != nil {
			return nil, err
		}
		defer closeNamespaces(joins)
	}
	plan, err := planNamespaces(o.Bootstrap, joins)
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	parentSock, childSock := os.NewFile(uintptr(fds[0]), "init-parent"), os.NewFile(uintptr(fds[1]), "init-child")
	logR, logW, err := os.Pipe()
	if err != nil {
		parentSock.Close()
		childSock.Close()
		return nil, fmt.Errorf("log pipe: %w", err)
	}

	var exec *execStart
	if o.Bootstrap.Exec {
		if exec, err = prepareExec(o); err != nil {
			parentSock.Close()
			childSock.Close()
			logR.Close()
			logW.Close()
			return nil, err
		}
		defer exec.close()
		o = exec.opts
	}
	cmd, req := initCommand(exe, o, plan, childSock, logW)
	pidfd := -1
	cmd.SysProcAttr.PidFD = &pidfd
	err = forkInit(cmd, o.Bootstrap.Config, plan, o.EnterCgroup)
	childSock.Close()
	logW.Close()
	if err != nil {
		parentSock.Close()
		logR.Close()
		return nil, err
	}
	p := &Init{Pid: cmd.Process.Pid, Pidfd: pidfd, cmd: cmd, ch: newChannel(parentSock), logs: make(chan struct{})}
	go p.forwardLogs(logR, o.Logger)
	defer func() {
		if retErr != nil {
			p.kill()
		}
	}()
	if req != nil && req.Forks() {
		if err := p.awaitFork(); err != nil {
			return nil, p.initError(err)
		}
	}
	if adj := o.Bootstrap.Config.OomScoreAdj; adj != nil {
		// Written here, by root, for the init: once it has joined a user
		// namespace it may no longer write its own (it is not dumpable).
		if err := setOomScoreAdj(p.Pid, *adj); err != nil {
			return nil, err
		}
	}

	o.Bootstrap.Pid = p.Pid
	if exec != nil {
		if err := exec.start(p); err != nil {
			return nil, err
		}
	} else if err := p.ch.sendBootstrap(o.Bootstrap); err != nil {
		return nil, p.sendError(err)
	}
	if o.Bootstrap.CgroupReady {
		if err := o.SetCgroup(); err != nil {
			return nil, err
		}
		if err := p.ch.sendCgroupReady(); err != nil {
			return nil, p.sendError(err)
		}
	}
	if err := p.serve(o); err != nil {
		var ie *InitError
		if !errors.As(err, &ie) && !errors.Is(err, errInitExited) {
			// Berth's side failed (a hook, the console socket) while
			// the init waits: end it before waiting for its logs.
			p.kill()
		}
		return nil, p.initError(err)
	}
	if !o.Bootstrap.WaitStart {
		// The socket closes on execve; an error frame means execve failed.
		if _, err := p.ch.recv(msgExec); err != nil && !errors.Is(err, errInitExited) {
			return nil, p.initError(err)
		}
	}
	<-p.logs
	p.ch.close()
	return p, nil
}

// serve answers the init's requests until it reports ready.
func (p *Init) serve(o *StartOptions) error {
	for {
		f, err := p.ch.recvNext()
		if err != nil {
			return err
		}
		switch f.Kind {
		case msgReady:
			return nil
		case msgHooks:
			if o.RunHooks == nil {
				return errors.New("protocol error: hooks requested, none to run")
			}
			if err := o.RunHooks(p.Pid); err != nil {
				return err
			}
			if err := p.ch.sendHooksDone(); err != nil {
				return p.sendError(err)
			}
		case msgSeccomp:
			if err := p.handOverListener(o.Bootstrap); err != nil {
				return err
			}
		case msgConsole:
			master, err := p.ch.takeFile()
			if err != nil {
				return err
			}
			err = sendConsole(o.ConsoleSocket, f.Console, master)
			master.Close()
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("protocol error: unexpected %q", f.Kind)
		}
	}
}

func sendConsole(sock *os.File, name string, master *os.File) error {
	if sock == nil {
		return errors.New("protocol error: a terminal without a console socket")
	}
	if err := terminal.SendFd(sock, name, master); err != nil {
		return fmt.Errorf("console socket: %w", err)
	}
	return nil
}

// sendError explains a failed send: the init most likely stopped reading
// because a step failed, and its error frame says which.
func (p *Init) sendError(err error) error {
	if _, rerr := p.ch.recv(msgReady); rerr != nil && !errors.Is(rerr, errInitExited) {
		return p.initError(rerr)
	}
	return err
}

// initError waits for the log forwarder so that the init's last log lines
// come before the error, and returns err.
func (p *Init) initError(err error) error {
	<-p.logs
	return err
}

// initBase is the init's first protocol descriptor (initFds): after its
// stdio and the process's extra files.
func initBase(o *StartOptions) int { return 3 + len(o.ExtraFiles) }

// initCommand is the init's command: berth's binary as "berth init
// <base>", its descriptors, the clone flags and ID maps of the new
// namespaces, and the bootstrap's request (returned; nil when there is
// none) in its environment.
func initCommand(exe string, o *StartOptions, plan *joinPlan, sock, logW *os.File) (*exec.Cmd, *nsenter.Request) {
	// The process's extra files keep their numbers; the protocol's
	// descriptors follow them (see initFds), then the namespaces that the
	// bootstrap joins.
	base := initBase(o)
	cmd := &exec.Cmd{
		Path: exe,
		Args: []string{exe, "init", strconv.Itoa(base)},
		// The init runs on one thread (libcontainer's init sets
		// GOMAXPROCS to 1): a runtime that starts so spares about a
		// quarter of a millisecond. Main removes the variable.
		Env:    []string{initEnvGomaxprocs},
		Stdin:  o.Stdin,
		Stdout: o.Stdout,
		Stderr: o.Stderr,
	}
	cmd.ExtraFiles = append(slices.Clip(o.ExtraFiles), sock, logW)
	if o.Bootstrap.WaitStart {
		cmd.ExtraFiles = append(cmd.ExtraFiles, o.ExecSock)
	}
	if o.Bootstrap.Chroot {
		cmd.ExtraFiles = append(cmd.ExtraFiles, o.Root)
	}
	nsFds := make([]int, len(plan.boot))
	for i, j := range plan.boot {
		nsFds[i] = 3 + len(cmd.ExtraFiles)
		cmd.ExtraFiles = append(cmd.ExtraFiles, j.File)
	}
	req := plan.request(base, nsFds, o.Bootstrap.Exec)
	if req != nil {
		cmd.Env = append(cmd.Env, req.Env())
	}
	c := o.Bootstrap.Config
	attr := &syscall.SysProcAttr{
		Setsid: true,
		// cgroup and time namespaces are unshared by the init itself:
		// the first after it is in its cgroup (so that the namespace's
		// root is the container's cgroup), the second after the offsets
		// are written.
		Cloneflags: plan.clone,
	}
	if plan.clone&unix.CLONE_NEWUSER != 0 {
		attr.UidMappings = idMaps(c.UIDMappings)
		attr.GidMappings = idMaps(c.GIDMappings)
		attr.GidMappingsEnableSetgroups = !c.RootlessEUID
		// The child keeps its host uid, which the new namespace may not
		// map: it would exec the init as the overflow uid, without
		// capabilities. Become the namespace's root first.
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: c.RootlessEUID}
	}
	cmd.SysProcAttr = attr
	return cmd, req
}

func idMaps(m []configs.IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, e := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(e.ContainerID), HostID: int(e.HostID), Size: int(e.Size)}
	}
	return out
}

// forkInit starts cmd from a dedicated OS thread that first joins the
// namespaces the plan gives it, enters the container's cgroups and, when the
// container has a mount namespace, hides the binary behind a read-only bind
// mount. The child inherits that thread's namespaces and cgroups. The thread
// is never reused: its goroutine exits while locked, so the runtime
// discards it (and creates new threads from a clean template thread
// meanwhile).
func forkInit(cmd *exec.Cmd, c *configs.Config, plan *joinPlan, enterCgroup func() (int, error)) error {
	errc := make(chan error, 1)
	onThrowawayThread(func() {
		errc <- func() error {
			if err := joinOnThread(plan.thread); err != nil {
				return err
			}
			if enterCgroup != nil {
				fd, err := enterCgroup()
				if err != nil {
					return err
				}
				if fd >= 0 {
					defer unix.Close(fd)
					cmd.SysProcAttr.UseCgroupFD = true
					cmd.SysProcAttr.CgroupFD = fd
				}
			}
			// The bootstrap joins a mount namespace given by path after
			// execve: the init's binary is this read-only mount, there
			// too.
			if c.Namespaces.Contains(configs.NEWNS) {
				if err := protectExe(cmd.Path); err != nil {
					return err
				}
			} else {
				// In the host's mount namespace: a sealed copy.
				sealed, path, err := sealedExe(cmd.Path)
				if err != nil {
					return err
				}
				defer sealed.Close()
				cmd.Path = path
			}
			// A descriptor berth's caller leaked to it (one without
			// close-on-exec) must not reach the init, where a cwd of
			// /proc/self/fd/N would name it (CVE-2024-21626). The
			// ExtraFiles are passed all the same: the child dup2s them.
			if err := closeExecFrom(3); err != nil {
				return fmt.Errorf("mark descriptors close-on-exec: %w", err)
			}
			if err := cmd.Start(); err != nil {
				return fmt.Errorf("start init process: %w", err)
			}
			return nil
		}()
	})
	return <-errc
}

// onThrowawayThread runs fn on a goroutine locked to an OS thread that the
// Go runtime discards when fn returns, so that whatever fn changes in the
// thread (namespaces, cgroups) never reaches other goroutines. The main
// thread cannot be discarded (the runtime parks it instead): if the
// goroutine lands there, it holds it and hands fn to another thread.
func onThrowawayThread(fn func()) {
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			fn() // returns without unlocking: the thread exits
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread() // not the main thread: it is held
			fn()
		}()
		<-done
		runtime.UnlockOSThread()
	}()
}

// protectExe makes exe read-only for the processes forked by this thread,
// against CVE-2019-5736: a container process that reaches the runtime's
// binary through /proc/<init>/exe must not be able to write to it. This
// thread gets a private mount namespace (unshare(CLONE_NEWNS) is allowed for
// one thread of a multi-threaded process) where exe is bind-mounted
// read-only onto itself; the init is exec'd from that path, so its
// /proc/self/exe is on the read-only mount. A bind mount costs a fraction of
// a millisecond where a sealed memfd copy of the binary costs several.
func protectExe(exe string) error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare mount namespace for %s: %w", exe, err)
	}
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make / rslave: %w", err)
	}
	if err := unix.Mount(exe, exe, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s: %w", exe, err)
	}
	if err := unix.Mount("", exe, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", exe, err)
	}
	return nil
}

// forwardLogs re-emits the init's JSON log lines through logger.
func (p *Init) forwardLogs(r *os.File, logger *slog.Logger) {
	defer close(p.logs)
	defer r.Close()
	s := bufio.NewScanner(r)
	for s.Scan() {
		var line struct {
			Level slog.Level `json:"level"`
			Msg   string     `json:"msg"`
		}
		if json.Unmarshal(s.Bytes(), &line) != nil {
			logger.Warn("init: " + s.Text())
			continue
		}
		logger.Log(context.Background(), line.Level, line.Msg, "pid", p.Pid)
	}
}

// awaitFork reads the bootstrap's report of the init it forked into its
// pid namespace, and makes that process the one this Init stands for: it is
// berth's child (CLONE_PARENT), so its pid cannot be reused before berth
// waits for it. The process in between exits at once; it is reaped in the
// background.
func (p *Init) awaitFork() error {
	f, err := p.ch.recv(msgPid)
	if err != nil {
		return err
	}
	if f.Pid <= 0 {
		return fmt.Errorf("protocol error: pid frame with pid %d", f.Pid)
	}
	proc, err := os.FindProcess(f.Pid)
	if err != nil {
		return fmt.Errorf("find init %d: %w", f.Pid, err)
	}
	pidfd, err := unix.PidfdOpen(f.Pid, 0)
	if err != nil {
		_ = proc.Release()
		return fmt.Errorf("pidfd_open %d: %w", f.Pid, err)
	}
	p.closePidfd()
	p.middleDone = make(chan struct{})
	go func() {
		// It exited once it wrote the pid; Wait also waits for the
		// copies of non-file stdio, which the init now holds.
		_ = p.cmd.Wait()
		close(p.middleDone)
	}()
	p.Pid, p.Pidfd, p.proc = f.Pid, pidfd, proc
	return nil
}

// setOomScoreAdj writes the init's oom_score_adj.
func setOomScoreAdj(pid, adj int) error {
	path := "/proc/" + strconv.Itoa(pid) + "/oom_score_adj"
	if err := os.WriteFile(path, []byte(strconv.Itoa(adj)), 0); err != nil {
		return fmt.Errorf("oom score: %w", err)
	}
	return nil
}

// Wait waits for the init process to exit and releases its pidfd.
func (p *Init) Wait() (*os.ProcessState, error) {
	if p.proc != nil {
		ps, err := p.proc.Wait()
		p.closePidfd()
		<-p.middleDone
		return ps, err
	}
	err := p.cmd.Wait()
	p.closePidfd()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ProcessState, nil
	}
	return p.cmd.ProcessState, err
}

// Signal sends sig to the init process through its pidfd.
func (p *Init) Signal(sig unix.Signal) error {
	if p.Pidfd >= 0 {
		return unix.PidfdSendSignal(p.Pidfd, sig, nil, 0)
	}
	return unix.Kill(p.Pid, sig)
}

// Release forgets the init process without waiting for it (berth create
// leaves it running).
func (p *Init) Release() {
	p.closePidfd()
	if p.proc != nil {
		_ = p.proc.Release()
		return
	}
	_ = p.cmd.Process.Release()
}

func (p *Init) closePidfd() {
	if p.Pidfd >= 0 {
		unix.Close(p.Pidfd)
		p.Pidfd = -1
	}
}

// kill kills and reaps the init, once.
func (p *Init) kill() {
	if p.reaped {
		return
	}
	p.reaped = true
	_ = p.Signal(unix.SIGKILL)
	p.ch.close()
	_, _ = p.Wait()
}
