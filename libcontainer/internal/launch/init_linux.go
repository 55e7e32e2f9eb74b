package launch

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
	"github.com/berthrt/berth/libcontainer/internal/capabilities"
	"github.com/berthrt/berth/libcontainer/internal/proc"
	"github.com/berthrt/berth/libcontainer/internal/rootfs"
)

// Main is the init process: it reads the bootstrap from the parent, sets up
// the container and execs the user process. It never returns. The caller
// must run on the main thread, locked to it (libcontainer.Init does this).
func Main() {
	// Go's ExtraFiles are inherited without close-on-exec: mark the
	// protocol's descriptors so that none of them reaches the container.
	for _, fd := range []int{initSockFd, logFd, fifoFd} {
		unix.CloseOnExec(fd)
	}
	ch := newChannel(os.NewFile(initSockFd, "init-sock"))
	logW := os.NewFile(logFd, "init-log")
	b, err := ch.recvBootstrap()
	if err != nil {
		fmt.Fprintln(os.Stderr, "berth init:", err)
		os.Exit(1)
	}
	p := &initProc{
		ch:   ch,
		b:    b,
		cfg:  b.Config,
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

// initProc is the init process's state while it sets up the container.
type initProc struct {
	ch         *channel
	b          *Bootstrap
	cfg        *configs.Config
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
		{"oom score", p.setOomScore},
		{"time namespace", p.setupTimeNamespace},
		{"rootfs", p.setupRootfs},
		{"cgroup", p.waitCgroup},
		{"hostname", p.setHostname},
		{"sysctl", func() error { return proc.WriteSysctls(p.cfg.Sysctl) }},
		{"rootfs finalize", func() error { return rootfs.Finalize(p.cfg) }},
		{"session keyring", p.joinKeyring},
		{"rlimits", func() error { return proc.SetRlimits(p.cfg.Rlimits) }},
		{"capabilities", p.prepareCaps},
		{"process.user", p.lookupUser},
		{"process.cwd", p.chdirAsRoot},
		{"process.user", p.setupUser},
		{"process.cwd", p.chdir},
		{"capabilities", func() error { return p.caps.ApplyCaps() }},
		{"no_new_privs", p.setNoNewPrivs},
		{"process.args", p.lookupExe},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	unix.Umask(int(p.umask()))
	return p.start()
}

func (p *initProc) setOomScore() error {
	if p.cfg.OomScoreAdj == nil {
		return nil
	}
	return proc.SetOomScoreAdj(*p.cfg.OomScoreAdj)
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
	if err := os.WriteFile("/proc/self/timens_offsets", []byte(sb.String()), 0); err != nil {
		return fmt.Errorf("write offsets: %w", err)
	}
	return nil
}

func (p *initProc) setupRootfs() error {
	return rootfs.Setup(p.cfg, rootfs.Options{WaitCgroup: p.waitCgroup, Logger: p.log})
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

func (p *initProc) joinKeyring() error {
	if p.cfg.NoNewKeyring {
		return nil
	}
	return proc.JoinSessionKeyring("_ses."+p.b.ID, p.cfg.Namespaces.Contains(configs.NEWUSER))
}

func (p *initProc) prepareCaps() error {
	caps, unknown, err := capabilities.New(p.cfg.Capabilities)
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
	err := unix.Chdir(cwd)
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
		if err := unix.Chdir(cwd); err != nil {
			return cwdError(cwd, err)
		}
	}
	return nil
}

func cwdError(cwd string, err error) error {
	return fmt.Errorf("chdir to cwd (%q) set in config.json: %w", cwd, err)
}

func (p *initProc) setNoNewPrivs() error {
	if !p.cfg.NoNewPrivileges {
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
	if p.cfg.Umask != nil {
		return *p.cfg.Umask
	}
	return configs.DefaultUmask
}

// start reports ready and, in fifo mode, waits for berth start before it
// execs the user process.
func (p *initProc) start() error {
	if p.b.WaitFifo {
		// berth create exits on ready: nobody reads logs after it.
		p.logW.Close()
	}
	if err := p.ch.sendReady(); err != nil {
		return err
	}
	if p.b.WaitFifo {
		if err := waitFifo(); err != nil {
			return fmt.Errorf("exec fifo: %w", err)
		}
	}
	err := unix.Exec(p.exe, p.b.Process.Args, p.env)
	return fmt.Errorf("exec %s: %w", p.b.Process.Args[0], err)
}

// waitFifo blocks until berth start writes to the exec fifo. The fifo was
// opened non-blocking for reading by the parent, so poll(2) sleeps until a
// writer delivers data: there is no busy loop and no path lookup here.
func waitFifo() error {
	fds := []unix.PollFd{{Fd: fifoFd, Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	var buf [1]byte
	n, err := unix.Read(fifoFd, buf[:])
	if err != nil {
		return err
	}
	if n != 1 || buf[0] != '0' {
		return errors.New("unexpected data")
	}
	unix.Close(fifoFd)
	return nil
}
