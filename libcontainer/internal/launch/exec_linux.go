package launch

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/berthrt/berth/libcontainer/configs"
	"github.com/berthrt/berth/libcontainer/internal/capabilities"
	"github.com/berthrt/berth/libcontainer/internal/proc"
	"github.com/berthrt/berth/libcontainer/internal/terminal"
	"github.com/berthrt/berth/libcontainer/nsenter"
)

// A process executed into a running container (Bootstrap.Exec, berth
// exec) never starts the Go runtime: the parent decides everything here,
// before it forks, and the bootstrap (libcontainer/nsenter, exec.c) makes
// the system calls once it has joined the container's namespaces. A Go
// init would cost every exec two milliseconds of runtime start for half a
// millisecond of work.

// execStart is Start's part for a process executed into a running
// container.
type execStart struct {
	// opts are Start's options for the process: with a terminal, its
	// stdio is the pty's slave.
	opts          *StartOptions
	plan          *nsenter.ExecPlan
	rlimits       []configs.Rlimit
	master, slave *os.File
}

// prepareExec plans the process before anything is forked, so that a
// user that does not exist or a bad capability fails early, and allocates
// its pty in the container's devpts.
func prepareExec(o *StartOptions) (_ *execStart, retErr error) {
	b := o.Bootstrap
	rootFD := newInitFds(initBase(o), b).root
	plan, rlimits, err := execPlan(b, o.Root, rootFD, o.Logger)
	if err != nil {
		return nil, err
	}
	e := &execStart{opts: o, plan: plan, rlimits: rlimits}
	if !b.Terminal {
		return e, nil
	}
	if e.master, e.slave, err = terminal.OpenExec(o.Root, b.ConsoleSize); err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	withPty := *o
	withPty.Stdin, withPty.Stdout, withPty.Stderr = e.slave, e.slave, e.slave
	e.opts = &withPty
	return e, nil
}

// start hands the forked process its rlimits and its plan, and the pty's
// master to the console socket. Start then waits for the bootstrap's
// ready frame and for its socket to close on execve.
func (e *execStart) start(p *Init) error {
	if err := proc.SetRlimitsOf(p.Pid, e.rlimits); err != nil {
		return fmt.Errorf("rlimits: %w", err)
	}
	if _, err := p.ch.f.Write(e.plan.Marshal()); err != nil {
		return p.sendError(fmt.Errorf("send the exec plan: %w", err))
	}
	if e.master == nil {
		return nil
	}
	e.slave.Close()
	e.slave = nil
	return sendConsole(e.opts.ConsoleSocket, e.master.Name(), e.master)
}

func (e *execStart) close() {
	for _, f := range []*os.File{e.master, e.slave} {
		if f != nil {
			f.Close()
		}
	}
}

// execPlan is the bootstrap's plan for b: the process's user, read from
// the container's account files below root, its environment, capability
// sets, seccomp filter (Start compiled it) and the rest, with the
// container's settings where the process has none of its own. rootFD is
// the descriptor the process chroots into, with Bootstrap.Chroot. It also
// returns the rlimits, which the parent sets on the process.
func execPlan(b *Bootstrap, root *os.File, rootFD int, log *slog.Logger) (*nsenter.ExecPlan, []configs.Rlimit, error) {
	if !nsenter.Available {
		return nil, nil, fmt.Errorf("exec: this binary was built without the bootstrap (cgo)")
	}
	if root == nil {
		return nil, nil, fmt.Errorf("exec: no root directory of the container")
	}
	ps := execProcess(b)
	if len(ps.Args) == 0 {
		return nil, nil, fmt.Errorf("process.args: empty")
	}
	u, err := lookupExecUser(ps, "/proc/self/fd/"+strconv.Itoa(int(root.Fd())))
	if err != nil {
		return nil, nil, fmt.Errorf("process.user: %w", err)
	}
	caps, unknown, err := capabilities.New(ps.Capabilities)
	if err != nil {
		return nil, nil, fmt.Errorf("capabilities: %w", err)
	}
	if log != nil {
		for _, name := range unknown {
			log.Warn("ignoring unknown or unavailable capability " + strconv.Quote(name))
		}
		for _, name := range caps.SkippedAmbient() {
			log.Debug("ignoring ambient capability " + strconv.Quote(name) + ": not in the permitted and inheritable sets")
		}
	}
	env := proc.SetupEnv(ps.Env, u)
	plan := &nsenter.ExecPlan{
		RootFD:          -1,
		Terminal:        b.Terminal,
		UID:             uint32(u.UID),
		GID:             uint32(u.GID),
		Umask:           configs.DefaultUmask,
		NoNewPrivs:      ps.NoNewPrivileges != nil && *ps.NoNewPrivileges,
		AppArmorProfile: ps.AppArmorProfile,
		SELinuxLabel:    ps.Label,
		Cwd:             ps.Cwd,
		Path:            proc.SearchPath(env),
		Args:            ps.Args,
		Env:             env,
	}
	for _, g := range u.AdditionalGids {
		plan.Groups = append(plan.Groups, uint32(g))
	}
	if b.Chroot {
		plan.RootFD = rootFD
	}
	if ps.Umask != nil {
		plan.Umask = *ps.Umask
	}
	if !caps.Keep() {
		var c nsenter.CapSets
		c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient = caps.Masks()
		plan.Caps = &c
	}
	if !b.Config.NoNewKeyring {
		plan.Keyring = "_ses." + b.ID
		plan.KeyringOthers = b.Config.Namespaces.Contains(configs.NEWUSER)
	}
	if f := b.Seccomp; f != nil {
		plan.Seccomp, plan.SeccompFlags = f.Program, f.Flags
	}
	return plan, ps.Rlimits, nil
}

// execProcess is b's process with the settings of the container's config
// that an exec'd process uses where the process sets none of its own.
func execProcess(b *Bootstrap) *ProcessSpec {
	ps := b.Process
	c := b.Config
	if ps.Capabilities == nil {
		ps.Capabilities = c.Capabilities
	}
	if ps.Rlimits == nil {
		ps.Rlimits = c.Rlimits
	}
	if ps.NoNewPrivileges == nil {
		ps.NoNewPrivileges = &c.NoNewPrivileges
	}
	if ps.Umask == nil {
		ps.Umask = c.Umask
	}
	return &ps
}

// lookupExecUser resolves the process's user against the container's
// /etc/passwd and /etc/group below root.
func lookupExecUser(ps *ProcessSpec, root string) (*proc.User, error) {
	if ps.UID != nil {
		return proc.LookupUserIn(root, *ps.UID, ps.GID, ps.AdditionalGids)
	}
	return proc.LookupUserStringIn(root, ps.User)
}
