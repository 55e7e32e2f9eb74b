package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
	"github.com/berthrt/berth/libcontainer/internal/launch"
)

// Process is a process to run in a container: the container's first
// process when Init is true.
type Process struct {
	// Args are the program and its arguments; Args[0] is looked up in
	// the container's PATH.
	Args []string
	// Env is the environment, "KEY=value" each. PATH is defaulted and
	// HOME set from the user's passwd entry when missing.
	Env []string
	// User is "uid", "uid:gid", "name" or "name:group", resolved against
	// the container's /etc/passwd and /etc/group. When empty, UID, GID
	// and AdditionalGroups are used.
	User string
	// UID, GID and AdditionalGroups are the numeric identity, used when
	// User is empty.
	UID, GID         uint32
	AdditionalGroups []uint32
	// Cwd is the absolute working directory inside the container.
	Cwd string
	// Stdin, Stdout and Stderr are the process's standard streams. Files
	// are passed as they are; other readers and writers through pipes.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// ExtraFiles are passed to the process as fds 3, 4, …
	ExtraFiles []*os.File
	// ConsoleSocket, when set, gives the process a pty: the container's
	// init binds its slave over /dev/console and on stdio, and the master
	// is sent to this AF_UNIX socket in one SCM_RIGHTS message whose data
	// is the master's name, as runc sends it.
	ConsoleSocket *os.File
	// ConsoleWidth and ConsoleHeight are the pty's initial size in
	// character cells; zero leaves the kernel's.
	ConsoleWidth, ConsoleHeight uint16
	// PidfdSocket, when set, receives a pidfd of the process once it is
	// started, in one SCM_RIGHTS message whose data is "pidfd".
	PidfdSocket *os.File
	// Init marks the container's first process. Run or Start with a
	// process whose Init is false executes it into the running container
	// (berth exec): it joins the init's namespaces and cgroup.
	Init bool

	// The fields below are for a process executed into a running
	// container; nil or empty means the container's own setting.

	// Capabilities replace the container's capability sets.
	Capabilities *configs.Capabilities
	// NoNewPrivileges replaces the container's no_new_privileges.
	NoNewPrivileges *bool
	// Rlimits replace the container's rlimits.
	Rlimits []configs.Rlimit
	// AppArmorProfile is the AppArmor profile to run the process under
	// (the init's too, as in runc); empty means the config's
	// AppArmorProfile. The host must run AppArmor.
	AppArmorProfile string
	// Label is the SELinux label of the process and of its session
	// keyring (the init's too, as in runc); empty means the config's
	// ProcessLabel. The host must run SELinux.
	Label string
	// SubCgroupPaths put the process in sub-cgroups of the container's
	// cgroup, which must exist: the key is a cgroup v1 controller
	// ("memory", "cpu") or "" for every hierarchy (the only key on cgroup
	// v2), the value a path relative to the container's cgroup.
	SubCgroupPaths map[string]string

	mu   sync.Mutex
	init *launch.Init
}

var errNotStarted = errors.New("process not started")

// validate checks what the runtime spec requires of a process before
// anything is created for it.
func (p *Process) validate() error {
	if len(p.Args) == 0 {
		return errors.New("process.args: must not be empty")
	}
	if p.Cwd != "" && !path.IsAbs(p.Cwd) {
		return fmt.Errorf("process.cwd: %q is not an absolute path", p.Cwd)
	}
	return nil
}

// Pid returns the process's pid in the caller's pid namespace.
func (p *Process) Pid() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.init == nil {
		return -1, errNotStarted
	}
	return p.init.Pid, nil
}

// Wait waits for the process to exit. Only the process that started it can
// wait for it.
func (p *Process) Wait() (*os.ProcessState, error) {
	p.mu.Lock()
	in := p.init
	p.mu.Unlock()
	if in == nil {
		return nil, errNotStarted
	}
	return in.Wait()
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.init == nil {
		return errNotStarted
	}
	s, ok := sig.(unix.Signal)
	if !ok {
		return errors.New("unsupported signal type")
	}
	return p.init.Signal(s)
}
