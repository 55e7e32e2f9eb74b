package cgroups

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
}

func newV1(h *host, c *configs.Cgroup, paths map[string]string) (*v1Manager, error) {
	m := &v1Manager{rootless: c.Rootless}
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
		// "0" is the calling thread (cgroup_procs_write_start).
		return writeFile(dir, "tasks", "0")
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

// Set writes the limits in r.
func (m *v1Manager) Set(r *configs.Resources) error {
	if r == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := unsupportedV1(r); err != nil {
		return fmt.Errorf("set cgroup: %w", err)
	}
	for _, set := range []func(*configs.Resources) error{
		m.setDevices, m.setCpuset, m.setCPU, m.setMemory, m.setPids,
	} {
		if err := set(r); err != nil {
			return fmt.Errorf("set cgroup: %w", err)
		}
	}
	return nil
}

// unsupportedV1 refuses the limits that this manager does not write yet,
// rather than dropping them silently.
func unsupportedV1(r *configs.Resources) error {
	var names []string
	add := func(set bool, name string) {
		if set {
			names = append(names, name)
		}
	}
	add(r.CPUBurst != nil, "cpu burst")
	add(r.CPUIdle != nil, "cpu idle")
	add(r.CPURtRuntime != 0 || r.CPURtPeriod != 0, "cpu realtime")
	add(r.BlkioWeight != 0 || r.BlkioLeafWeight != 0 || len(r.BlkioWeightDevice) > 0 ||
		len(r.BlkioThrottleReadBpsDevice) > 0 || len(r.BlkioThrottleWriteBpsDevice) > 0 ||
		len(r.BlkioThrottleReadIOPSDevice) > 0 || len(r.BlkioThrottleWriteIOPSDevice) > 0, "blkio")
	add(len(r.HugetlbLimit) > 0, "hugetlb")
	add(r.NetClsClassid != 0 || len(r.NetPrioIfpriomap) > 0, "net_cls/net_prio")
	add(len(r.Rdma) > 0, "rdma")
	add(len(r.Unified) > 0, "unified (cgroup v2 only)")
	if names == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", strings.Join(names, ", "), errors.ErrUnsupported)
}

// dir returns ctrl's directory, or an error when a limit needs it and the
// controller is not mounted (nil for a rootless manager, which skips it).
func (m *v1Manager) dir(ctrl string) (string, error) {
	if d := m.paths[ctrl]; d != "" {
		return d, nil
	}
	if m.rootless {
		return "", nil
	}
	return "", fmt.Errorf("%s cgroup controller not mounted", ctrl)
}

// write writes one file, ignoring permission errors for a rootless manager.
func (m *v1Manager) write(dir, name, data string) error {
	if dir == "" {
		return nil
	}
	if err := writeFile(dir, name, data); err != nil && !m.ignore(err) {
		return err
	}
	return nil
}

func (m *v1Manager) setPids(r *configs.Resources) error {
	if r.PidsLimit == nil {
		return nil
	}
	dir, err := m.dir("pids")
	if err != nil {
		return err
	}
	return m.write(dir, "pids.max", limitString(*r.PidsLimit))
}

func (m *v1Manager) setCpuset(r *configs.Resources) error {
	if r.CpusetCpus == "" && r.CpusetMems == "" {
		return nil
	}
	dir, err := m.dir("cpuset")
	if err != nil {
		return err
	}
	if r.CpusetCpus != "" {
		if err := m.write(dir, "cpuset.cpus", r.CpusetCpus); err != nil {
			return err
		}
	}
	if r.CpusetMems != "" {
		return m.write(dir, "cpuset.mems", r.CpusetMems)
	}
	return nil
}

func (m *v1Manager) setCPU(r *configs.Resources) error {
	if r.CPUShares == 0 && r.CPUQuota == 0 && r.CPUPeriod == 0 {
		return nil
	}
	dir, err := m.dir("cpu")
	if err != nil {
		return err
	}
	if r.CPUShares != 0 {
		if err := m.write(dir, "cpu.shares", strconv.FormatUint(r.CPUShares, 10)); err != nil {
			return err
		}
	}
	period := func() error {
		if r.CPUPeriod == 0 {
			return nil
		}
		return m.write(dir, "cpu.cfs_period_us", strconv.FormatUint(r.CPUPeriod, 10))
	}
	quota := func() error {
		if r.CPUQuota == 0 {
			return nil
		}
		return m.write(dir, "cpu.cfs_quota_us", strconv.FormatInt(r.CPUQuota, 10))
	}
	// The kernel checks quota against period at every write, so a pair
	// that is valid together may fail in one order: retry in the other.
	if err := period(); err != nil {
		if !errors.Is(err, unix.EINVAL) || r.CPUQuota == 0 {
			return err
		}
		if err := quota(); err != nil {
			return err
		}
		return period()
	}
	return quota()
}

func (m *v1Manager) setMemory(r *configs.Resources) error {
	if r.Memory == 0 && r.MemorySwap == 0 && r.MemoryReservation == 0 &&
		r.MemorySwappiness == nil && !r.OomKillDisable {
		return nil
	}
	dir, err := m.dir("memory")
	if err != nil || dir == "" {
		return err
	}
	if err := m.setMemoryLimits(dir, r); err != nil {
		return err
	}
	if r.MemoryReservation != 0 {
		if err := m.write(dir, "memory.soft_limit_in_bytes", strconv.FormatInt(r.MemoryReservation, 10)); err != nil {
			return err
		}
	}
	if r.MemorySwappiness != nil {
		if err := m.write(dir, "memory.swappiness", strconv.FormatUint(*r.MemorySwappiness, 10)); err != nil {
			return err
		}
	}
	if r.OomKillDisable {
		return m.write(dir, "memory.oom_control", "1")
	}
	return nil
}

// setMemoryLimits writes memory.limit_in_bytes and
// memory.memsw.limit_in_bytes. The kernel keeps memsw >= memory at every
// write, so a growing limit writes memsw first and a shrinking one last.
func (m *v1Manager) setMemoryLimits(dir string, r *configs.Resources) error {
	mem, swap := r.Memory, r.MemorySwap
	implicitSwap := false
	if mem == -1 && swap == 0 {
		// An unlimited memory makes memory+swap unlimited too (runc
		// update), where swap accounting exists.
		swap, implicitSwap = -1, true
	}
	if mem == 0 && swap == 0 {
		return nil
	}
	if r.MemoryCheckBeforeUpdate && mem > 0 {
		usage, err := readFile(dir, "memory.usage_in_bytes")
		if err != nil {
			return err
		}
		if u, err := strconv.ParseInt(usage, 10, 64); err == nil && u > mem {
			return fmt.Errorf("memory limit %d is below the current usage %d in %s", mem, u, dir)
		}
	}
	writeMem := func() error {
		if mem == 0 {
			return nil
		}
		return m.write(dir, "memory.limit_in_bytes", strconv.FormatInt(mem, 10))
	}
	writeSwap := func() error {
		if swap == 0 {
			return nil
		}
		err := m.write(dir, "memory.memsw.limit_in_bytes", strconv.FormatInt(swap, 10))
		if implicitSwap && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	swapFirst := false
	if mem != 0 && swap != 0 {
		cur, err := readFile(dir, "memory.limit_in_bytes")
		if err != nil {
			return err
		}
		c, err := strconv.ParseUint(cur, 10, 64)
		if err != nil {
			return fmt.Errorf("parse %s: %w", filepath.Join(dir, "memory.limit_in_bytes"), err)
		}
		swapFirst = mem == -1 || uint64(mem) > c
	}
	if swapFirst {
		if err := writeSwap(); err != nil {
			return err
		}
		return writeMem()
	}
	if err := writeMem(); err != nil {
		return err
	}
	return writeSwap()
}

// setDevices applies r.Devices as the whole device policy of the cgroup
// (nil leaves the policy alone). See devicesTransition for the order.
func (m *v1Manager) setDevices(r *configs.Resources) error {
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
