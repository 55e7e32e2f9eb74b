package launch

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
	"github.com/berthrt/berth/libcontainer/internal/capabilities"
	"github.com/berthrt/berth/libcontainer/internal/hooks"
	"github.com/berthrt/berth/libcontainer/internal/lsm"
	"github.com/berthrt/berth/libcontainer/internal/proc"
	"github.com/berthrt/berth/libcontainer/internal/rootfs"
	"github.com/berthrt/berth/libcontainer/internal/terminal"
)

// Main is the init process: it reads the bootstrap from the parent, sets up
// the container and execs the user process. It never returns. The caller
// must run on the main thread, locked to it (libcontainer.Init does this).
func Main() {
	base := -1
	if len(os.Args) == 3 {
		base, _ = strconv.Atoi(os.Args[2])
	}
	if base < 3 {
		fmt.Fprintln(os.Stderr, "berth init: run by berth only, with the base of its descriptors")
		os.Exit(1)
	}
	// Read by the runtime at start; the hooks the init runs must not
	// inherit it.
	_ = os.Unsetenv(strings.Split(initEnvGomaxprocs, "=")[0])
	// Go's ExtraFiles are inherited without close-on-exec, and so is any
	// descriptor berth's caller leaked to berth: mark every descriptor from
	// base up, the protocol's included, so that none reaches the container
	// (runc does the same, CVE-2024-21626). The process's own extra files,
	// below base, stay inheritable.
	if err := closeExecFrom(base); err != nil {
		fmt.Fprintln(os.Stderr, "berth init:", err)
		os.Exit(1)
	}
	ch := newChannel(os.NewFile(uintptr(base), "init-sock"))
	logW := os.NewFile(uintptr(base+1), "init-log")
	b, err := ch.recvBootstrap()
	if err != nil {
		fmt.Fprintln(os.Stderr, "berth init:", err)
		os.Exit(1)
	}
	fds := newInitFds(base, b)
	p := &initProc{
		ch:   ch,
		b:    b,
		cfg:  b.Config,
		fds:  fds,
		log:  slog.New(slog.NewJSONHandler(logW, &slog.HandlerOptions{Level: slog.Level(b.LogLevel)})),
		logW: logW,
	}
	if err := p.run(); err != nil {
		if sendErr := ch.sendError(err); sendErr != nil {
			fmt.Fprintln(os.Stderr, "berth init:", err)
		}
		os.Exit(1)
	}
	panic("unreachable: run returned without exec")
}

// closeExecFrom sets close-on-exec on every descriptor from fd up.
func closeExecFrom(fd int) error {
	err := unix.CloseRange(uint(fd), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil || !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) {
		return err
	}
	// Before Linux 5.11: one by one, from the descriptor table.
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list descriptors: %w", err)
	}
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && n >= fd {
			unix.CloseOnExec(n)
		}
	}
	return nil
}

// initProc is the init process's state while it sets up the container.
type initProc struct {
	ch         *channel
	b          *Bootstrap
	cfg        *configs.Config
	fds        initFds
	log        *slog.Logger
	logW       *os.File
	cgroupDone bool
	user       *proc.User
	caps       *capabilities.Caps
	exe        string
	env        []string
}

type step struct {
	name string
	do   func() error
}

// run sets the container up step by step, in the order runc does, then
// reports ready and execs. It returns only on error.
func (p *initProc) run() error {
	steps := []step{
		{"session", p.ensureSession},
		{"time namespace", p.setupTimeNamespace},
		{"rootfs", p.setupRootfs},
		{"cgroup", p.waitCgroup},
		{"terminal", p.setupTerminal},
		{"hostname", p.setHostname},
		{"process.apparmorProfile", p.setAppArmorProfile},
		{"sysctl", func() error { return proc.WriteSysctls(p.cfg.Sysctl) }},
		{"rootfs finalize", func() error { return rootfs.FinalizeWith(p.cfg, rootfs.Options{MountLabel: p.mountLabel()}) }},
		{"session keyring", p.joinKeyring},
		{"rlimits", p.setRlimits},
		{"capabilities", p.prepareCaps},
		{"process.user", p.lookupUser},
		{"process.cwd", p.chdirAsRoot},
		{"stdio", p.fixStdioOwner},
		{"process.selinuxLabel", p.setExecLabel},
		{"seccomp", p.loadSeccompEarly},
		{"process.user", p.setupUser},
		{"process.cwd", p.chdir},
		{"capabilities", func() error { return p.caps.ApplyCaps() }},
		{"no_new_privs", p.setNoNewPrivs},
		{"process.args", p.lookupExe},
		{"seccomp", p.loadSeccompLate},
	}
	return p.runSteps(steps)
}

// runSteps runs the steps in order, then sets the umask and execs the
// container's process. It returns only on error.
func (p *initProc) runSteps(steps []step) error {
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	unix.Umask(int(p.umask()))
	return p.start()
}

// ensureSession makes the init a session leader, so that it can take a
// controlling terminal: the clone did (Setsid), but a child that the
// bootstrap forked into its pid namespace is in that session without
// leading it. The oom score is the parent's to write (see Start).
func (p *initProc) ensureSession() error {
	if sid, err := unix.Getsid(0); err == nil && sid == unix.Getpid() {
		return nil
	}
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	return nil
}

// setRlimits applies the process's rlimits, or else the config's.
func (p *initProc) setRlimits() error {
	if rl := p.b.Process.Rlimits; rl != nil {
		return proc.SetRlimits(rl)
	}
	return proc.SetRlimits(p.cfg.Rlimits)
}

// setupTimeNamespace unshares a time namespace for the process to come and
// writes its clock offsets, which the kernel only accepts before any
// process has entered the namespace; execve enters it.
func (p *initProc) setupTimeNamespace() error {
	if !p.b.TimeNS {
		return nil
	}
	if err := unix.Unshare(unix.CLONE_NEWTIME); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	if len(p.cfg.TimeOffsets) == 0 {
		return nil
	}
	var sb strings.Builder
	for clock, off := range p.cfg.TimeOffsets {
		fmt.Fprintf(&sb, "%s %d %d\n", clock, off.Secs, off.Nanosecs)
	}
	return withDumpable(func() error {
		if err := os.WriteFile("/proc/self/timens_offsets", []byte(sb.String()), 0); err != nil {
			return fmt.Errorf("write offsets: %w", err)
		}
		return nil
	})
}

// withDumpable runs fn with the process dumpable. The bootstrap leaves the
// init non-dumpable when it joined a namespace, and once it became root of
// a joined user namespace, a non-dumpable process's /proc/self files
// belong to the host's root, out of its reach: /proc/self/timens_offsets
// among them.
func withDumpable(fn func() error) error {
	d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil || d == 1 {
		return fn()
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_DUMPABLE: %w", err)
	}
	ferr := fn()
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil && ferr == nil {
		ferr = fmt.Errorf("prctl PR_SET_DUMPABLE: %w", err)
	}
	return ferr
}

func (p *initProc) setupRootfs() error {
	return rootfs.Setup(p.cfg, rootfs.Options{WaitCgroup: p.waitCgroup, BeforePivot: p.beforePivot, Logger: p.log, MountLabel: p.mountLabel()})
}

// beforePivot is the hook point of the create operation, with every mount
// in place: the parent runs the prestart and createRuntime hooks in the
// runtime's namespaces, then the init runs the createContainer hooks in
// the container's (the host's files still visible for their paths).
func (p *initProc) beforePivot() error {
	if err := p.waitCgroup(); err != nil {
		return err
	}
	h := p.cfg.Hooks
	if len(h[configs.Prestart])+len(h[configs.CreateRuntime]) > 0 {
		if err := p.ch.sendHooks(); err != nil {
			return err
		}
		if err := p.ch.recvHooksDone(); err != nil {
			return err
		}
	}
	return p.runHooks(configs.CreateContainer, specs.StateCreated, nil)
}

// runHooks runs the hooks of one point from the init, with the state the
// spec gives for it; the pid is the init's as the host sees it.
// Hooks without an env of their own get env (nil: the init's).
func (p *initProc) runHooks(name configs.HookName, status specs.ContainerState, env []string) error {
	list := p.cfg.Hooks[name]
	if len(list) == 0 {
		return nil
	}
	state, err := hooks.State(&specs.State{
		Version:     specs.Version,
		ID:          p.b.ID,
		Status:      status,
		Pid:         p.b.Pid,
		Bundle:      p.cfg.Label("bundle"),
		Annotations: p.cfg.Annotations,
	})
	if err != nil {
		return err
	}
	if env != nil {
		list = slices.Clone(list)
		for i := range list {
			if list[i].Env == nil {
				list[i].Env = env
			}
		}
	}
	return hooks.RunAll(name, list, state)
}

// setupTerminal gives the process a pty from the container's devpts, the
// slave over /dev/console and on stdio, and sends the master to the
// parent.
func (p *initProc) setupTerminal() error { return p.sendTerminal(terminal.Setup) }

// sendTerminal makes the process's pty with setup, when it has a
// terminal, and sends the master to the parent.
func (p *initProc) sendTerminal(setup func(uid int, size *terminal.Size) (*os.File, error)) error {
	if !p.b.Terminal {
		return nil
	}
	master, err := setup(-1, p.b.ConsoleSize)
	if err != nil {
		return err
	}
	defer master.Close()
	return p.ch.sendConsole(master)
}

// fixStdioOwner gives the process's user its stdio (a pty slave, or the
// pipes of a foreground run), as runc does, so that it can reopen them
// through /proc/self/fd. /dev/null and what the user owns already stay;
// a descriptor the container's root cannot chown is left as it is.
func (p *initProc) fixStdioOwner() error {
	var null unix.Stat_t
	if err := unix.Stat("/dev/null", &null); err != nil {
		return fmt.Errorf("stat /dev/null: %w", err)
	}
	for fd := range 3 {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			if errors.Is(err, unix.EBADF) {
				continue
			}
			return fmt.Errorf("stat fd %d: %w", fd, err)
		}
		if st.Rdev == null.Rdev && st.Mode&unix.S_IFMT == unix.S_IFCHR || st.Uid == uint32(p.user.UID) {
			continue
		}
		err := unix.Fchown(fd, p.user.UID, int(st.Gid))
		if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EROFS) {
			return fmt.Errorf("chown fd %d: %w", fd, err)
		}
	}
	return nil
}

// waitCgroup waits until the parent has written the cgroup's limits, then
// unshares the cgroup namespace, whose root is the current cgroup.
func (p *initProc) waitCgroup() error {
	if p.cgroupDone {
		return nil
	}
	p.cgroupDone = true
	if p.b.CgroupReady {
		if err := p.ch.recvCgroupReady(); err != nil {
			return err
		}
	}
	if p.b.CgroupNS {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("unshare cgroup namespace: %w", err)
		}
	}
	return nil
}

func (p *initProc) setHostname() error {
	if p.cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(p.cfg.Hostname)); err != nil {
			return fmt.Errorf("sethostname %q: %w", p.cfg.Hostname, err)
		}
	}
	if p.cfg.Domainname != "" {
		if err := unix.Setdomainname([]byte(p.cfg.Domainname)); err != nil {
			return fmt.Errorf("setdomainname %q: %w", p.cfg.Domainname, err)
		}
	}
	return nil
}

// joinKeyring gives the process a session keyring of its own, labelled
// with the process's SELinux label (set for the keyrings this thread
// creates, then cleared, as runc's init does).
func (p *initProc) joinKeyring() error {
	if p.cfg.NoNewKeyring {
		return nil
	}
	if label := p.b.Process.Label; label != "" {
		var h lsm.Host
		if err := h.SetKeyLabel(label); err != nil {
			return err
		}
		defer func() { _ = h.SetKeyLabel("") }()
	}
	return proc.JoinSessionKeyring("_ses."+p.b.ID, p.cfg.Namespaces.Contains(configs.NEWUSER))
}

func (p *initProc) prepareCaps() error {
	c := p.cfg.Capabilities
	if p.b.Process.Capabilities != nil {
		c = p.b.Process.Capabilities
	}
	caps, unknown, err := capabilities.New(c)
	if err != nil {
		return err
	}
	for _, name := range unknown {
		p.log.Warn("ignoring unknown or unavailable capability " + strconv.Quote(name))
	}
	for _, name := range caps.SkippedAmbient() {
		p.log.Debug("ignoring ambient capability " + strconv.Quote(name) + ": not in the permitted and inheritable sets")
	}
	p.caps = caps
	return caps.ApplyBoundingSet()
}

func (p *initProc) lookupUser() error {
	ps := &p.b.Process
	var (
		u   *proc.User
		err error
	)
	if ps.UID != nil {
		u, err = proc.LookupUser(*ps.UID, ps.GID, ps.AdditionalGids)
	} else {
		u, err = proc.LookupUserString(ps.User)
	}
	if err != nil {
		return err
	}
	p.user = u
	p.env = proc.SetupEnv(ps.Env, u)
	return nil
}

// chdirAsRoot changes to cwd before the user switch, as runc does; when
// root may not enter it (root squashing, cwd.bats), chdir retries as the
// user.
func (p *initProc) chdirAsRoot() error {
	cwd := p.b.Process.Cwd
	if cwd == "" {
		return nil
	}
	// proc.Chdir refuses a cwd outside the root (CVE-2024-21626).
	err := proc.Chdir(cwd)
	if err == nil {
		p.b.Process.Cwd = ""
		return nil
	}
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
		return nil
	}
	return cwdError(cwd, err)
}

func (p *initProc) setupUser() error { return proc.SetupUser(p.user) }

func (p *initProc) chdir() error {
	if cwd := p.b.Process.Cwd; cwd != "" {
		if err := proc.Chdir(cwd); err != nil {
			return cwdError(cwd, err)
		}
	}
	return nil
}

func cwdError(cwd string, err error) error {
	return fmt.Errorf("chdir to cwd (%q) set in config.json: %w", cwd, err)
}

// setAppArmorProfile makes the process exec into its AppArmor profile
// (lsm: "exec <profile>" written to the thread's attr/apparmor/exec, or
// the older attr/exec). The parent checked that the host runs AppArmor.
// The init applies it after the hostname, as runc's init does.
func (p *initProc) setAppArmorProfile() error {
	var h lsm.Host
	return h.ApplyAppArmorProfile(p.b.Process.AppArmorProfile)
}

// setExecLabel makes the process exec with its SELinux label (attr/exec
// of the thread that calls execve), before the user switch as runc does.
// The parent checked that the host runs SELinux.
func (p *initProc) setExecLabel() error {
	var h lsm.Host
	return h.SetExecLabel(p.b.Process.Label)
}

func (p *initProc) setNoNewPrivs() error {
	nnp := p.cfg.NoNewPrivileges
	if v := p.b.Process.NoNewPrivileges; v != nil {
		nnp = *v
	}
	if !nnp {
		return nil
	}
	return proc.SetNoNewPrivs()
}

func (p *initProc) lookupExe() error {
	args := p.b.Process.Args
	if len(args) == 0 {
		return errors.New("process.args: empty")
	}
	exe, err := proc.LookPath(args[0], p.env)
	if err != nil {
		return err
	}
	p.exe = exe
	return nil
}

func (p *initProc) umask() uint32 {
	if p.b.Process.Umask != nil {
		return *p.b.Process.Umask
	}
	if p.cfg.Umask != nil {
		return *p.cfg.Umask
	}
	return configs.DefaultUmask
}

// start reports ready and, for berth create, waits for berth start on the
// exec socket; then it runs the startContainer hooks and execs the user
// process. The exec socket's connection (or, for run, the parent's socket)
// closes on execve; an error travels on it instead.
func (p *initProc) start() error {
	if p.b.WaitStart {
		// berth create exits on ready: nobody reads logs after it.
		p.logW.Close()
	}
	if err := p.ch.sendReady(); err != nil {
		return err
	}
	if !p.b.WaitStart {
		if err := p.runHooks(configs.StartContainer, specs.StateCreated, p.env); err != nil {
			return err
		}
		return p.exec()
	}
	p.ch.close()
	conn, err := acceptStart(p.fds.execSock)
	if err != nil {
		// Nobody to tell: berth start sees the socket refuse.
		os.Exit(1)
	}
	err = p.runHooks(configs.StartContainer, specs.StateCreated, p.env)
	if err == nil {
		err = p.exec()
	}
	_, _ = unix.Write(conn, []byte(err.Error()))
	os.Exit(1)
	return nil
}

func (p *initProc) exec() error {
	err := unix.Exec(p.exe, p.b.Process.Args, p.env)
	return fmt.Errorf("exec %s: %w", p.b.Process.Args[0], err)
}

// acceptStart waits for berth start to connect to the exec socket and
// returns the connection (close-on-exec), closing the listener.
func acceptStart(listener int) (int, error) {
	defer unix.Close(listener)
	for {
		conn, _, err := unix.Accept4(listener, unix.SOCK_CLOEXEC)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) {
			continue
		}
		return conn, err
	}
}
