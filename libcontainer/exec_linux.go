package libcontainer

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/cgroups"
	"github.com/berthrt/berth/libcontainer/configs"
	"github.com/berthrt/berth/libcontainer/internal/launch"
)

// startExec runs process p (Init false) in the container, as runc's
// Container.Run does for a non-init process: p joins every namespace of the
// container's init, its cgroup (or the sub-cgroups of p.SubCgroupPaths),
// and gets the container's capabilities, rlimits and no_new_privs unless p
// overrides them. It returns once p has executed its program; p.Wait waits
// for it. The container must be created, running or paused (then p stays
// frozen with it until it is resumed).
func (c *Container) startExec(p *Process) error {
	if err := p.validate(); err != nil {
		return err
	}
	if err := c.checkLSM(p); err != nil {
		return err
	}
	st, err := c.Status()
	if err != nil {
		return err
	}
	if st == Stopped {
		return ErrNotRunning
	}
	if st != Paused {
		// Serialise with Destroy until p is in the container's cgroup,
		// where Destroy finds it. A paused container's cgroup would
		// hold the forking thread (or the child) frozen, and the lock
		// with it until the container is resumed: no lock then.
		unlock, err := c.lock()
		if err != nil {
			return err
		}
		defer unlock()
	}
	enter, err := c.execCgroup(p.SubCgroupPaths)
	if err != nil {
		return err
	}
	target, err := c.pinInit()
	if err != nil {
		return err
	}
	defer target.close()
	b := c.bootstrap(p, false)
	// The init's root is its mount namespace's root unless the container
	// has no mount namespace of its own, or no pivot_root.
	b.Exec = true
	b.Chroot = !c.config.Namespaces.Contains(configs.NEWNS) || c.config.NoPivotRoot
	b.CgroupNS, b.TimeNS = false, false
	b.Process.Capabilities = p.Capabilities
	b.Process.NoNewPrivileges = p.NoNewPrivileges
	b.Process.Rlimits = p.Rlimits
	in, err := launch.Start(&launch.StartOptions{
		Bootstrap:     b,
		EnterCgroup:   enter,
		ConsoleSocket: p.ConsoleSocket,
		Stdin:         p.Stdin,
		Stdout:        p.Stdout,
		Stderr:        p.Stderr,
		ExtraFiles:    p.ExtraFiles,
		Namespaces:    target.ns,
		Root:          target.root,
		Logger:        c.logger.With("container", c.id),
	})
	if err != nil {
		return fmt.Errorf("exec in container %s: %w", c.id, err)
	}
	p.mu.Lock()
	p.init = in
	p.mu.Unlock()
	if err := sendPidfd(p.PidfdSocket, in.Pidfd); err != nil {
		_ = in.Signal(unix.SIGKILL)
		_, _ = in.Wait()
		return err
	}
	return nil
}

// pinnedInit is what exec joins of the container's init, opened while the
// init is known to be the container's.
type pinnedInit struct {
	ns []launch.NamespaceFile
	// root is the init's root directory: where the process's user is
	// looked up and its pty allocated, and what it chroots into when
	// that is not its mount namespace's root.
	root *os.File
}

func (t *pinnedInit) close() {
	for _, n := range t.ns {
		n.File.Close()
	}
	if t.root != nil {
		t.root.Close()
	}
}

// pinInit opens the namespaces of the container's init, and its root
// directory. A pid can be recycled once its process is gone: the files are
// opened between a pidfd that matches the init's start time and a signal
// through that pidfd that proves the init still lives, and each namespace
// must be the one the init had when it started (its inode), so they are
// the init's, never a newcomer's, even one started in the same clock tick.
func (c *Container) pinInit() (_ *pinnedInit, retErr error) {
	if c.state == nil {
		return nil, ErrNotRunning
	}
	pidfd, err := c.state.pidfd()
	if err != nil {
		return nil, err
	}
	defer unix.Close(pidfd)
	t := &pinnedInit{}
	defer func() {
		if retErr != nil {
			t.close()
		}
	}()
	proc := "/proc/" + strconv.Itoa(c.state.InitProcessPid)
	for _, typ := range configs.NamespaceTypes() {
		if !c.config.Namespaces.Contains(typ) {
			continue
		}
		f, err := os.OpenFile(proc+"/ns/"+initNamespaceFile(typ), os.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, initGone(err, fmt.Errorf("open the init's %s namespace: %w", typ.ProcName(), err))
		}
		t.ns = append(t.ns, launch.NamespaceFile{Type: typ, File: f})
		if want, ok := c.state.NamespaceInodes[typ]; ok {
			var st unix.Stat_t
			if err := unix.Fstat(int(f.Fd()), &st); err != nil {
				return nil, fmt.Errorf("stat the init's %s namespace: %w", typ.ProcName(), err)
			}
			if st.Ino != want {
				// Another process took the init's pid.
				return nil, ErrNotRunning
			}
		}
	}
	f, err := os.OpenFile(proc+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, initGone(err, fmt.Errorf("open the init's root: %w", err))
	}
	t.root = f
	if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
		return nil, ErrNotRunning
	}
	return t, nil
}

// initGone turns the error of a /proc/<init> file that vanished into
// ErrNotRunning, and returns other otherwise.
func initGone(err, other error) error {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ESRCH) {
		return ErrNotRunning
	}
	return other
}

// execCgroup resolves where an exec'd process goes: the container's
// cgroup, or the sub-cgroups that sub gives, by v1 controller name, "" for
// every hierarchy (and the only key on cgroup v2), as runc's --cgroup. It
// returns the function that the forking thread runs: it moves that thread
// into each v1 directory ("0" to tasks) and opens the cgroup v2 directory
// for CLONE_INTO_CGROUP. Nil when the container has no cgroup.
func (c *Container) execCgroup(sub map[string]string) (func() (int, error), error) {
	if c.cgroup == nil {
		if len(sub) > 0 {
			return nil, errors.New("sub-cgroup: the container has no cgroup")
		}
		return nil, nil
	}
	paths := c.cgroup.GetPaths()
	v2 := len(paths) == 1 && paths[""] != ""
	for ctrl := range sub {
		if ctrl == "" {
			continue
		}
		if v2 {
			return nil, fmt.Errorf("sub-cgroup %s:%s: a cgroup v2 host takes a path without a controller", ctrl, sub[ctrl])
		}
		if _, ok := paths[ctrl]; !ok {
			return nil, fmt.Errorf("sub-cgroup %s:%s: unknown controller %q", ctrl, sub[ctrl], ctrl)
		}
	}
	var v1 []string
	unified := ""
	subOf := make(map[string]string, len(paths)) // base directory -> sub
	for _, ctrl := range slices.Sorted(maps.Keys(paths)) {
		base := paths[ctrl]
		if base == "" {
			continue
		}
		s, ok := sub[ctrl]
		if !ok {
			s = sub[""]
		}
		if prev, seen := subOf[base]; seen {
			// Controllers mounted together share a directory.
			if prev != s {
				return nil, fmt.Errorf("sub-cgroup: controller %s shares its hierarchy with another one given %q, not %q", ctrl, prev, s)
			}
			continue
		}
		subOf[base] = s
		dir, err := subCgroup(base, s)
		if err != nil {
			return nil, err
		}
		if ctrl == "" {
			unified = dir
		} else {
			v1 = append(v1, dir)
		}
	}
	return func() (int, error) {
		for _, dir := range v1 {
			if err := cgroups.EnterThread(dir); err != nil {
				return -1, fmt.Errorf("join cgroup %s: %w", dir, err)
			}
		}
		if unified == "" {
			return -1, nil
		}
		fd, err := unix.Open(unified, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("join cgroup %s: %w", unified, err)
		}
		return fd, nil
	}, nil
}

// subCgroup is the existing directory sub below base (base itself for "").
func subCgroup(base, sub string) (string, error) {
	if sub == "" {
		return base, nil
	}
	dir := filepath.Join(base, sub)
	if dir != base && !strings.HasPrefix(dir, base+"/") {
		return "", fmt.Errorf("sub-cgroup %s: not below the container's cgroup %s", sub, base)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("sub-cgroup %s: %w", sub, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("sub-cgroup %s: %s is not a directory", sub, dir)
	}
	return dir, nil
}
