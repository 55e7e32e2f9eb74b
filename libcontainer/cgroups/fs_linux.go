package cgroups

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// v1Manager is the cgroup v1 manager: one directory per mounted hierarchy,
// plus the cgroup2 hierarchy of a hybrid host under the key "".
type v1Manager struct {
	mu       sync.Mutex
	rootless bool
	// paths maps each controller to its directory; comounted controllers
	// ("cpu", "cpuacct") share one.
	paths map[string]string
	// unifiedRoot is the mountpoint of a hybrid host's cgroup2 hierarchy
	// (the parents of paths[""]), or "".
	unifiedRoot string
	// rtRuntime and rtPeriod are the config's realtime limits, which Apply
	// writes before a process joins the cpu cgroup (see setRtSched).
	rtRuntime int64
	rtPeriod  uint64
}

func newV1(h *host, c *configs.Cgroup, paths map[string]string) (*v1Manager, error) {
	m := &v1Manager{rootless: c.Rootless, unifiedRoot: h.unifiedRoot}
	if c.Resources != nil {
		m.rtRuntime, m.rtPeriod = c.CPURtRuntime, c.CPURtPeriod
	}
	if paths != nil {
		m.paths = maps.Clone(paths)
		return m, nil
	}
	p, err := h.v1Paths(c)
	if err != nil {
		return nil, fmt.Errorf("new cgroup manager: %w", err)
	}
	m.paths = p
	return m, nil
}

// dirs returns each directory once, ordered by the first controller that
// uses it.
func (m *v1Manager) dirs() []string {
	var dirs []string
	seen := make(map[string]bool, len(m.paths))
	for _, k := range slices.Sorted(maps.Keys(m.paths)) {
		d := m.paths[k]
		if d == "" || seen[d] {
			continue
		}
		seen[d] = true
		dirs = append(dirs, d)
	}
	return dirs
}

// Apply creates the directories in every hierarchy and moves pid in.
func (m *v1Manager) Apply(pid int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.apply(func(dir string) error {
		if pid == -1 {
			return nil
		}
		return writeFile(dir, "cgroup.procs", strconv.Itoa(pid))
	})
}

// EnterThread moves the calling thread into the cgroup v1 directory dir
// (writes "0", the calling thread, to its tasks file).
func EnterThread(dir string) error {
	return writeFile(dir, "tasks", "0")
}

// ApplyThread creates the directories and moves the calling thread into
// every v1 hierarchy; the unified hierarchy of a hybrid host is returned as
// a directory fd for CLONE_INTO_CGROUP.
func (m *v1Manager) ApplyThread() (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	unified := m.paths[""]
	err := m.apply(func(dir string) error {
		if dir == unified {
			return nil
		}
		return EnterThread(dir)
	})
	if err != nil || unified == "" {
		return -1, err
	}
	fd, err := unix.Open(unified, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("apply cgroup: %w", &os.PathError{Op: "open", Path: unified, Err: err})
	}
	return fd, nil
}

// apply creates every directory (filling in cpuset) and calls join on it.
func (m *v1Manager) apply(join func(dir string) error) error {
	var created []string
	fail := func(err error) error {
		// Undo what this call created; a dir a task already joined stays
		// (EBUSY) for Destroy.
		for _, d := range slices.Backward(created) {
			_ = unix.Rmdir(d)
		}
		return fmt.Errorf("apply cgroup: %w", err)
	}
	dirs := m.dirs()
	for _, dir := range dirs {
		c, err := mkdirAll(dir)
		created = append(created, c...)
		if err != nil {
			if m.rootless && isPermission(err) {
				m.forget(dir)
				continue
			}
			return fail(err)
		}
		if m.paths["cpuset"] == dir {
			if err := fillCpuset(dir, c); err != nil && !m.ignore(err) {
				return fail(err)
			}
		}
		if m.paths["cpu"] == dir {
			if err := m.setRtSched(dir, m.rtRuntime, m.rtPeriod); err != nil {
				return fail(err)
			}
		}
		if err := join(dir); err != nil && !m.ignore(err) {
			return fail(err)
		}
	}
	return nil
}

// forget drops every controller whose directory is dir (a rootless manager
// that may not create it).
func (m *v1Manager) forget(dir string) {
	maps.DeleteFunc(m.paths, func(_, d string) bool { return d == dir })
}

func (m *v1Manager) ignore(err error) bool { return m.rootless && isPermission(err) }

// fillCpuset gives every new cpuset cgroup (created, outermost first, or the
// leaf dir itself) its parent's cpus and mems when they are empty: the
// kernel refuses tasks in a v1 cpuset with no cpus or mems.
func fillCpuset(dir string, created []string) error {
	if len(created) == 0 {
		created = []string{dir}
	}
	for _, d := range created {
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			v, err := readFile(d, f)
			if err != nil {
				return err
			}
			if v != "" {
				continue
			}
			parent := filepath.Dir(d)
			pv, err := readFile(parent, f)
			if err != nil {
				return err
			}
			if pv == "" {
				return fmt.Errorf("copy %s from %s: empty", f, parent)
			}
			if err := writeFile(d, f, pv); err != nil {
				return err
			}
		}
	}
	return nil
}

// Set checks every limit in r (see checkV1), then writes them in runc's
// order. Bad input writes nothing.
func (m *v1Manager) Set(r *configs.Resources) error {
	if r == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p, err := m.checkV1(r)
	if err != nil {
		return fmt.Errorf("set cgroup: %w", err)
	}
	for _, set := range []func(*configs.Resources, *v1Plan) error{
		m.setCpuset, m.setDevices, m.setMemory, m.setCPU, m.setPids,
		m.setBlkio, m.setHugetlb, m.setNetwork, m.setRdma,
	} {
		if err := set(r, p); err != nil {
			return fmt.Errorf("set cgroup: %w", err)
		}
	}
	return nil
}

// setDevices applies r.Devices as the whole device policy of the cgroup
// (nil leaves the policy alone). See devicesTransition for the order.
func (m *v1Manager) setDevices(r *configs.Resources, _ *v1Plan) error {
	if r.SkipDevices || r.Devices == nil {
		return nil
	}
	dir, err := m.dir("devices")
	if err != nil || dir == "" {
		return err
	}
	want, err := targetPolicy(r.Devices)
	if err != nil {
		return err
	}
	list, err := readFile(dir, "devices.list")
	if err != nil {
		return err
	}
	cur, err := parseDevicesList(list)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, "devices.list"), err)
	}
	for _, w := range devicesTransition(cur, want) {
		if err := m.write(dir, w.file, w.line); err != nil {
			return err
		}
	}
	return nil
}

// Destroy removes the directory in every hierarchy.
func (m *v1Manager) Destroy() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	dirs := m.dirs()
	for _, d := range dirs {
		if err := removeCgroup(d); err != nil && !m.ignore(err) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("destroy cgroup: %w", err)
	}
	return nil
}

// Path returns subsystem's directory ("" is the unified hierarchy).
func (m *v1Manager) Path(subsystem string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.paths[subsystem]
}

// GetPaths returns a copy of the directories by controller.
func (m *v1Manager) GetPaths() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.paths)
}

// taskDir is the directory whose cgroup.procs lists the container's tasks:
// that of the first of these controllers that is mounted.
func (m *v1Manager) taskDir() (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range []string{"freezer", "pids", "memory", "devices", "cpu", "name=systemd", ""} {
		if d := m.paths[c]; d != "" {
			return d, nil
		}
	}
	for _, d := range m.paths {
		if d != "" {
			return d, nil
		}
	}
	return "", errors.New("no cgroup directory")
}

// GetPids returns the pids of the cgroup.
func (m *v1Manager) GetPids() ([]int, error) {
	d, err := m.taskDir()
	if err != nil {
		return nil, err
	}
	return readPids(d)
}

// GetAllPids returns the pids of the cgroup and its descendants.
func (m *v1Manager) GetAllPids() ([]int, error) {
	d, err := m.taskDir()
	if err != nil {
		return nil, err
	}
	return readAllPids(d)
}

// Exists reports whether the cgroup's task directory exists.
func (m *v1Manager) Exists() bool {
	d, err := m.taskDir()
	if err != nil {
		return false
	}
	_, err = os.Stat(d)
	return err == nil
}

// CgroupFD returns -1 and ErrNotV2: on v1 one directory fd cannot place a
// process in every hierarchy.
func (m *v1Manager) CgroupFD() (int, error) { return -1, ErrNotV2 }
