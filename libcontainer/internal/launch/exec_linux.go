package launch

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/internal/lsm"
	"github.com/berthrt/berth/libcontainer/internal/terminal"
)

// runExec sets up a process executed into a running container (berth
// exec), whose namespaces and cgroups are already the container's: only
// the process's own attributes remain, in the order runc's setns init
// applies them. It returns only on error.
func (p *initProc) runExec() error {
	steps := []step{
		{"session", p.ensureSession},
		{"root", p.enterRoot},
		{"terminal", p.setupExecTerminal},
		{"session keyring", p.joinKeyring},
		{"rlimits", p.setRlimits},
		{"capabilities", p.prepareCaps},
		{"process.user", p.lookupUser},
		{"process.cwd", p.chdirAsRoot},
		{"stdio", p.fixStdioOwner},
		{"process.apparmorProfile", p.setAppArmorProfile},
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

// enterRoot chroots into the container's root when the parent passed it:
// setns(2) into a mount namespace makes its root mount "/", which is the
// container's root only when the init pivoted into it.
func (p *initProc) enterRoot() error {
	if !p.b.Chroot {
		return nil
	}
	defer unix.Close(p.fds.root)
	if err := unix.Fchdir(p.fds.root); err != nil {
		return fmt.Errorf("fchdir to the container's root: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot to the container's root: %w", err)
	}
	return unix.Chdir("/")
}

// setupExecTerminal gives the process a pty of the container's devpts,
// without touching /dev/console (the init's), and sends the master to the
// parent.
func (p *initProc) setupExecTerminal() error { return p.sendTerminal(terminal.SetupExec) }

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
