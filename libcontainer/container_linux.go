package libcontainer

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/cgroups"
	"github.com/berthrt/berth/libcontainer/configs"
	"github.com/berthrt/berth/libcontainer/internal/hooks"
	"github.com/berthrt/berth/libcontainer/internal/launch"
	"github.com/berthrt/berth/libcontainer/internal/terminal"
)

// Container is one container, created by Create or reopened by Load. Its
// methods may be called from several processes at once: the state file is
// written atomically, and creation, start and destruction take a lock on
// the container's state directory.
type Container struct {
	id     string
	dir    string
	config *configs.Config
	cgroup cgroups.Manager // nil when the config has no cgroup
	logger *slog.Logger
	state  *State // nil until started
}

// Option changes how Create and Load open a container.
type Option func(*Container)

// WithLogger sends the container's log lines (including the init's) to l.
func WithLogger(l *slog.Logger) Option { return func(c *Container) { c.logger = l } }

// idRegexp is runc's rule for container ids.
var idRegexp = regexp.MustCompile(`^[\w+-][\w+.-]*$`)

// ValidateID checks id against runc's rules: letters, digits, "_", "+", "-"
// and ".", not starting with "."; so never "." or "..", and never a path.
func ValidateID(id string) error {
	if !idRegexp.MatchString(id) || strings.Contains(id, "..") {
		return fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	return nil
}

// Create validates config and creates the container's state directory
// <root>/<id>. It starts nothing: call Start or Run next. On error nothing
// is left behind.
func Create(root, id string, config *configs.Config, opts ...Option) (*Container, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if config == nil {
		return nil, errors.New("config: missing")
	}
	if err := config.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create state root: %w", err)
	}
	dir := filepath.Join(root, id)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%w: %s", ErrExist, id)
		}
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	c, err := newContainer(id, dir, config, nil, opts)
	if err != nil {
		os.Remove(dir)
		return nil, err
	}
	return c, nil
}

// Load opens the container id in root.
func Load(root, id string, opts ...Option) (*Container, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	dir := filepath.Join(root, id)
	st, err := loadState(dir)
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotExist, id)
		}
		return nil, err
	}
	c, err := newContainer(id, dir, &st.Config, st.CgroupPaths, opts)
	if err != nil {
		return nil, err
	}
	c.state = st
	return c, nil
}

func newContainer(id, dir string, config *configs.Config, cgPaths map[string]string, opts []Option) (*Container, error) {
	c := &Container{id: id, dir: dir, config: config, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(c)
	}
	if config.Cgroups != nil {
		m, err := cgroups.New(config.Cgroups, cgPaths)
		if err != nil {
			return nil, err
		}
		c.cgroup = m
	}
	return c, nil
}

// ID returns the container's id.
func (c *Container) ID() string { return c.id }

// Config returns the container's config.
func (c *Container) Config() configs.Config { return *c.config }

// Start starts the container's init process and returns once it has set
// the container up; the init then waits for Exec before it runs
// process.Args. The container's status becomes Created.
func (c *Container) Start(process *Process) error { return c.start(process, true) }

// Run starts the container's init process and lets it exec process.Args at
// once, as Start followed by Exec.
func (c *Container) Run(process *Process) error { return c.start(process, false) }

func (c *Container) start(process *Process, waitStart bool) (retErr error) {
	if !process.Init {
		return c.startExec(process)
	}
	if err := process.validate(); err != nil {
		return err
	}
	if err := c.checkLSM(process); err != nil {
		return err
	}
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if c.state != nil && c.state.initAlive() {
		return ErrRunning
	}

	var execSock *os.File
	if waitStart {
		if execSock, err = listenExecSock(c.dir); err != nil {
			return err
		}
		defer execSock.Close()
	}
	defer func() {
		if retErr != nil {
			c.undoStart()
		}
	}()

	o := &launch.StartOptions{
		Bootstrap:     c.bootstrap(process, waitStart),
		ExecSock:      execSock,
		ConsoleSocket: process.ConsoleSocket,
		RunHooks:      c.runCreateHooks,
		Stdin:         process.Stdin,
		Stdout:        process.Stdout,
		Stderr:        process.Stderr,
		ExtraFiles:    process.ExtraFiles,
		Logger:        c.logger.With("container", c.id),
	}
	c.prepareCgroup(o)
	in, err := launch.Start(o)
	if err != nil {
		return fmt.Errorf("start container init: %w", err)
	}
	process.mu.Lock()
	process.init = in
	process.mu.Unlock()
	if err := c.saveStarted(in.Pid); err != nil {
		_ = in.Signal(unix.SIGKILL)
		return err
	}
	if err := sendPidfd(process.PidfdSocket, in.Pidfd); err != nil {
		_ = in.Signal(unix.SIGKILL)
		return err
	}
	if !waitStart {
		c.runPoststart()
	}
	return nil
}

// runCreateHooks runs the prestart and createRuntime hooks in the
// runtime's namespaces while the init waits before pivot_root. Their
// status is "created": the lifecycle puts them after step 2, when the
// environment exists ("creating" is step 2 itself).
func (c *Container) runCreateHooks(pid int) error {
	state, err := hooks.State(c.ociStateAs(specs.StateCreated, pid))
	if err != nil {
		return err
	}
	for _, name := range []configs.HookName{configs.Prestart, configs.CreateRuntime} {
		if err := hooks.RunAll(name, c.config.Hooks[name], state); err != nil {
			return err
		}
	}
	return nil
}

// runPoststart runs the poststart hooks once the process has executed; a
// failure is a warning, as the runtime spec says.
func (c *Container) runPoststart() {
	c.runWarnHooks(configs.Poststart, specs.StateRunning, c.state.InitProcessPid)
}

// runWarnHooks runs the hooks of a point where a failure is a warning and
// "the remaining hooks and lifecycle continue as if the hook had
// succeeded" (runtime spec): every hook runs.
func (c *Container) runWarnHooks(name configs.HookName, status specs.ContainerState, pid int) {
	list := c.config.Hooks[name]
	if len(list) == 0 {
		return
	}
	state, err := hooks.State(c.ociStateAs(status, pid))
	if err != nil {
		c.logger.Warn(err.Error(), "container", c.id)
		return
	}
	for i, h := range list {
		if err := hooks.Run(h, state); err != nil {
			c.logger.Warn(fmt.Sprintf("%s hook #%d: %v", name, i, err), "container", c.id)
		}
	}
}

// ociStateAs is the container's OCI state with the given status and pid.
func (c *Container) ociStateAs(status specs.ContainerState, pid int) *specs.State {
	return &specs.State{
		Version:     specs.Version,
		ID:          c.id,
		Status:      status,
		Pid:         pid,
		Bundle:      c.config.Label("bundle"),
		Annotations: c.config.Annotations,
	}
}

// sendPidfd sends a pidfd of the process to sock (--pidfd-socket), as one
// SCM_RIGHTS message named "pidfd".
func sendPidfd(sock *os.File, pidfd int) error {
	if sock == nil {
		return nil
	}
	if pidfd < 0 {
		return errors.New("pidfd socket: the kernel gave no pidfd")
	}
	f := os.NewFile(uintptr(pidfd), "pidfd")
	if err := terminal.SendFd(sock, "pidfd", f); err != nil {
		return fmt.Errorf("pidfd socket: %w", err)
	}
	return nil
}

func (c *Container) bootstrap(p *Process, waitStart bool) *launch.Bootstrap {
	b := &launch.Bootstrap{
		ID:     c.id,
		Config: c.config,
		Process: launch.ProcessSpec{
			Args:           p.Args,
			Env:            p.Env,
			Cwd:            p.Cwd,
			User:           p.User,
			GID:            p.GID,
			AdditionalGids: p.AdditionalGroups,
		},
		WaitStart: waitStart,
		Terminal:  p.ConsoleSocket != nil,
		CgroupNS:  c.config.Namespaces.Contains(configs.NEWCGROUP) && c.config.Namespaces.PathOf(configs.NEWCGROUP) == "",
		TimeNS:    c.config.Namespaces.Contains(configs.NEWTIME) && c.config.Namespaces.PathOf(configs.NEWTIME) == "",
	}
	if p.ConsoleWidth != 0 || p.ConsoleHeight != 0 {
		b.ConsoleSize = &terminal.Size{Width: p.ConsoleWidth, Height: p.ConsoleHeight}
	}
	if p.User == "" {
		uid := p.UID
		b.Process.UID = &uid
	}
	b.Process.AppArmorProfile, b.Process.Label = c.processLSM(p)
	return b
}

// prepareCgroup arranges the init's cgroup placement: the thread that
// forks it enters the cgroups first, so the init is born in them and no
// process has to be moved (see cgroups.Manager.ApplyThread); the limits
// are written while the init prepares its mounts.
func (c *Container) prepareCgroup(o *launch.StartOptions) {
	if c.cgroup == nil {
		return
	}
	o.EnterCgroup = c.cgroup.ApplyThread
	if res := c.config.Cgroups.Resources; res != nil {
		o.Bootstrap.CgroupReady = true
		o.SetCgroup = func() error { return c.cgroup.Set(res) }
	}
}

func (c *Container) saveStarted(pid int) error {
	st, err := readProcStat(pid)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read init start time: %w", err)
	}
	s := &State{
		ID:                   c.id,
		InitProcessPid:       pid,
		InitProcessStartTime: st.startTime,
		Created:              time.Now().UTC(),
		Config:               *c.config,
		NamespacePaths:       make(map[configs.NamespaceType]string),
	}
	if c.cgroup != nil {
		s.CgroupPaths = c.cgroup.GetPaths()
	}
	for _, ns := range c.config.Namespaces {
		s.NamespacePaths[ns.Type] = fmt.Sprintf("/proc/%d/ns/%s", pid, ns.Type.ProcName())
		var st unix.Stat_t
		if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/%s", pid, initNamespaceFile(ns.Type)), &st); err == nil {
			if s.NamespaceInodes == nil {
				s.NamespaceInodes = make(map[configs.NamespaceType]uint64)
			}
			s.NamespaceInodes[ns.Type] = st.Ino
		}
	}
	if err := saveState(c.dir, s); err != nil {
		return err
	}
	c.state = s
	return nil
}

// undoStart removes what a failed start made: the cgroup and the exec
// socket.
func (c *Container) undoStart() {
	if c.cgroup != nil {
		if err := c.cgroup.Destroy(); err != nil {
			c.logger.Warn("remove cgroup after failed start", "container", c.id, "error", err)
		}
	}
	os.Remove(filepath.Join(c.dir, execSockName))
}

// Exec lets a created container's init run its startContainer hooks and
// exec its process (berth start), waits until it has, and runs the
// poststart hooks. A failed startContainer hook or execve is Exec's error;
// the init then exits.
func (c *Container) Exec() error {
	st, err := c.Status()
	if err != nil {
		return err
	}
	if st != Created {
		return fmt.Errorf("%w: %s", ErrNotCreated, st)
	}
	msg, err := startExecSock(c.dir)
	if err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(c.dir, execSockName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if msg != "" {
		return fmt.Errorf("start container: %s", msg)
	}
	c.runPoststart()
	return nil
}

// Status returns the container's status, read afresh from the kernel.
func (c *Container) Status() (Status, error) {
	if c.state == nil || !c.state.initAlive() {
		return Stopped, nil
	}
	if _, err := os.Lstat(filepath.Join(c.dir, execSockName)); err == nil {
		return Created, nil
	}
	if c.cgroup != nil {
		fs, err := c.cgroup.GetFreezerState()
		if err == nil && fs == cgroups.Frozen {
			return Paused, nil
		}
	}
	return Running, nil
}

// State returns a copy of the container's stored state.
func (c *Container) State() (*State, error) {
	if c.state == nil {
		return nil, ErrNotExist
	}
	s := *c.state
	return &s, nil
}

// OCIState returns the container's state as the OCI runtime spec defines
// it; the pid is 0 once the container has stopped.
func (c *Container) OCIState() (*specs.State, error) {
	st, err := c.Status()
	if err != nil {
		return nil, err
	}
	s := &specs.State{
		Version:     specs.Version,
		ID:          c.id,
		Status:      specs.ContainerState(st.String()),
		Bundle:      c.config.Label("bundle"),
		Annotations: c.config.Annotations,
	}
	if st != Stopped && c.state != nil {
		s.Pid = c.state.InitProcessPid
	}
	return s, nil
}

// Processes returns the pids of every process in the container's cgroup;
// none once the cgroup is gone.
func (c *Container) Processes() ([]int, error) {
	if c.cgroup == nil {
		return nil, errNoCgroup
	}
	pids, err := c.cgroup.GetAllPids()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return pids, err
}

// Signal sends sig to the container's init process. SIGKILL also kills
// every process of the cgroup when the container shares the host's pid
// namespace, as runc does (those processes would survive the init).
func (c *Container) Signal(sig os.Signal) error {
	s, ok := sig.(unix.Signal)
	if !ok {
		return fmt.Errorf("unsupported signal %v", sig)
	}
	if c.state == nil {
		return ErrNotRunning
	}
	fd, err := c.state.pidfd()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, s, nil, 0); err != nil {
		return fmt.Errorf("signal init %d: %w", c.state.InitProcessPid, err)
	}
	if s == unix.SIGKILL && !c.config.Namespaces.Contains(configs.NEWPID) {
		return c.signalAll(s)
	}
	return nil
}

// SignalAll sends sig to every process in the container's cgroup.
func (c *Container) SignalAll(sig os.Signal) error {
	s, ok := sig.(unix.Signal)
	if !ok {
		return fmt.Errorf("unsupported signal %v", sig)
	}
	if st, _ := c.Status(); st == Stopped {
		return ErrNotRunning
	}
	return c.signalAll(s)
}

// signalAll signals the cgroup's processes, with the cgroup frozen so
// that none can fork away meanwhile.
func (c *Container) signalAll(s unix.Signal) error {
	if c.cgroup == nil {
		return nil
	}
	frozen := c.cgroup.Freeze(cgroups.Frozen) == nil
	pids, err := c.cgroup.GetAllPids()
	for _, pid := range pids {
		_ = unix.Kill(pid, s)
	}
	if frozen {
		if err := c.cgroup.Freeze(cgroups.Thawed); err != nil {
			return err
		}
	}
	return err
}

// Pause freezes the container's processes. The container must be created
// or running (ErrNotRunning otherwise, a paused one included, as runc).
func (c *Container) Pause() error {
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := c.Status()
	if err != nil {
		return err
	}
	if st != Running && st != Created {
		return ErrNotRunning
	}
	if c.cgroup == nil {
		return errNoCgroup
	}
	return c.cgroup.Freeze(cgroups.Frozen)
}

// Resume thaws a paused container (ErrNotPaused otherwise).
func (c *Container) Resume() error {
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := c.Status()
	if err != nil {
		return err
	}
	if st != Paused {
		return ErrNotPaused
	}
	return c.cgroup.Freeze(cgroups.Thawed)
}

// Destroy kills the container's processes if any still run, removes its
// cgroup and its state directory, then runs the poststop hooks (a failing
// one is logged as a warning).
func (c *Container) Destroy() error {
	unlock, err := c.lock()
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			return nil
		}
		return err
	}
	defer unlock()
	var errs []error
	if err := c.killAll(); err != nil {
		errs = append(errs, err)
	}
	if c.cgroup != nil {
		if err := c.cgroup.Destroy(); err != nil {
			errs = append(errs, err)
		}
	}
	if !c.config.Namespaces.Contains(configs.NEWNS) {
		if err := unmountUnder(c.config.Rootfs); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove state directory: %w", err))
	}
	c.state = nil
	// The container is gone: the poststop hooks run, and only warn.
	c.runWarnHooks(configs.Poststop, specs.StateStopped, 0)
	return errors.Join(errs...)
}

// killAll kills the init (and, without a pid namespace of its own, every
// process of the cgroup) and waits for the init to exit.
func (c *Container) killAll() error {
	if c.state != nil {
		if fd, err := c.state.pidfd(); err == nil {
			_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
			if c.cgroup != nil {
				// A frozen process cannot act on SIGKILL.
				_ = c.cgroup.Freeze(cgroups.Thawed)
			}
			err := waitPidfd(fd, 10*time.Second)
			unix.Close(fd)
			if err != nil {
				return fmt.Errorf("wait for init %d to exit: %w", c.state.InitProcessPid, err)
			}
		}
	}
	if c.cgroup != nil && c.cgroup.Exists() && !c.config.Namespaces.Contains(configs.NEWPID) {
		return c.signalAll(unix.SIGKILL)
	}
	return nil
}

// unmountUnder detaches every mount below dir, deepest first: a container
// without a mount namespace of its own made its mounts in the host's, and
// they must not outlive it. dir itself is left alone: it may be the
// caller's own mount of the rootfs (containerd mounts an overlay there).
func unmountUnder(dir string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return fmt.Errorf("read mounts under %s: %w", dir, err)
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].Mountpoint) > len(mounts[j].Mountpoint) })
	for _, m := range mounts {
		if m.Mountpoint == dir {
			continue
		}
		if err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount %s: %w", m.Mountpoint, err)
		}
	}
	return nil
}

// waitPidfd waits until the process behind fd has exited.
func waitPidfd(fd int, timeout time.Duration) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		n, err := unix.Poll(fds, int(time.Until(deadline).Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return unix.ETIMEDOUT
		}
		return nil
	}
}

// lock takes an exclusive flock(2) on the container's state directory,
// serialising start and destroy across processes.
func (c *Container) lock() (func(), error) {
	fd, err := unix.Open(c.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("%w: %s", ErrNotExist, c.id)
		}
		return nil, fmt.Errorf("lock %s: %w", c.dir, err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock %s: %w", c.dir, err)
	}
	return func() { unix.Close(fd) }, nil
}
