package launch

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/internal/seccomp"
)

// compileSeccomp compiles the container's seccomp profile into the
// bootstrap, in the parent: a bad profile fails before anything is
// forked, and the init only loads the program.
func compileSeccomp(b *Bootstrap, log *slog.Logger) error {
	if b.Config == nil || b.Config.Seccomp == nil {
		return nil
	}
	prog, err := seccomp.Compile(b.Config.Seccomp, seccomp.Options{})
	if err != nil {
		return err
	}
	if log != nil {
		for _, name := range prog.Skipped {
			log.Debug("unknown seccomp syscall ignored", "syscall", name)
		}
		for _, a := range prog.IgnoredArches {
			log.Debug("seccomp architecture this host cannot run ignored", "arch", a)
		}
	}
	if prog.Flags&seccomp.FlagNewListener != 0 && b.Config.Seccomp.ListenerPath == "" {
		return errors.New("seccomp.listenerPath: required by SCMP_ACT_NOTIFY")
	}
	b.Seccomp = &SeccompFilter{Program: prog.Bytes(), Flags: prog.Flags}
	return nil
}

// noNewPrivs says whether the process gets no_new_privs: its own
// setting, else the container's.
func (p *initProc) noNewPrivs() bool {
	if v := p.b.Process.NoNewPrivileges; v != nil {
		return *v
	}
	return p.cfg.NoNewPrivileges
}

// loadSeccompEarly loads the filter while the init still has
// CAP_SYS_ADMIN, which seccomp(2) wants without no_new_privs: before the
// user switch drops it, as runc does.
func (p *initProc) loadSeccompEarly() error {
	if p.noNewPrivs() {
		return nil
	}
	return p.loadSeccomp()
}

// loadSeccompLate loads the filter as the last step before execve when
// no_new_privs is set, so that the filter sees as few of the runtime's own
// system calls as possible: what remains is reporting ready (write),
// waiting for start (accept4), the startContainer hooks and execve.
func (p *initProc) loadSeccompLate() error {
	if !p.noNewPrivs() {
		return nil
	}
	return p.loadSeccomp()
}

func (p *initProc) loadSeccomp() error {
	f := p.b.Seccomp
	if f == nil {
		return nil
	}
	prog, err := seccomp.ProgramFromBytes(f.Program, f.Flags)
	if err != nil {
		return err
	}
	listener, err := seccomp.Load(prog)
	if err != nil {
		return err
	}
	if listener == nil {
		return nil
	}
	// The parent hands the listener to the agent; wait until it has,
	// so that a failure stops the container before execve.
	defer listener.Close()
	if err := p.ch.sendSeccompListener(listener); err != nil {
		return err
	}
	return p.ch.recvSeccompDone()
}

// handOverListener takes the filter's listener from the init and sends it
// to linux.seccomp.listenerPath with the container's process state, as
// runc does (the OCI ContainerProcessState, the fd in SCM_RIGHTS), then
// tells the init to go on.
func (p *Init) handOverListener(b *Bootstrap) error {
	listener, err := p.ch.takeFile()
	if err != nil {
		return err
	}
	defer listener.Close()
	s := b.Config.Seccomp
	if s == nil || s.ListenerPath == "" {
		return errors.New("protocol error: a seccomp listener without a listenerPath")
	}
	status := specs.StateCreating
	if b.Exec {
		status = specs.StateRunning
	}
	state := specs.ContainerProcessState{
		Version:  specs.Version,
		Fds:      []string{specs.SeccompFdName},
		Pid:      p.Pid,
		Metadata: s.ListenerMetadata,
		State: specs.State{
			Version:     specs.Version,
			ID:          b.ID,
			Status:      status,
			Pid:         p.Pid,
			Bundle:      b.Config.Label("bundle"),
			Annotations: b.Config.Annotations,
		},
	}
	if err := sendListener(s.ListenerPath, &state, listener); err != nil {
		return err
	}
	if err := p.ch.sendSeccompDone(); err != nil {
		return p.sendError(err)
	}
	return nil
}

// sendListener connects to the agent's socket and sends it the state,
// with the listener attached.
func sendListener(path string, state *specs.ContainerProcessState, listener *os.File) error {
	data, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("seccomp listenerPath: %w", err)
	}
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return fmt.Errorf("seccomp listenerPath %s: %w", path, err)
	}
	defer conn.Close()
	if _, _, err := conn.WriteMsgUnix(data, unix.UnixRights(int(listener.Fd())), nil); err != nil {
		return fmt.Errorf("seccomp listenerPath %s: send: %w", path, err)
	}
	return nil
}
