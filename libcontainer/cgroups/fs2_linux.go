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

// v2Manager is the cgroup v2 manager: one directory of the unified
// hierarchy.
type v2Manager struct {
	mu       sync.Mutex
	rootless bool
	// root is the unified hierarchy's mountpoint; controllers are enabled
	// in the cgroup.subtree_control of every directory from root down to
	// dir's parent.
	root string
	dir  string
}

func newV2(h *host, c *configs.Cgroup, paths map[string]string) (*v2Manager, error) {
	m := &v2Manager{rootless: c.Rootless, root: h.unifiedRoot}
	if paths != nil {
		if m.dir = paths[""]; m.dir == "" {
			return nil, errors.New("new cgroup manager: saved paths have no unified (\"\") entry")
		}
		return m, nil
	}
	dir, err := h.v2Path(c)
	if err != nil {
		return nil, fmt.Errorf("new cgroup manager: %w", err)
	}
	m.dir = dir
	return m, nil
}

func (m *v2Manager) ignore(err error) bool { return m.rootless && isPermission(err) }

// Apply creates the directory and moves pid in. It enables no controller:
// Set does that when a limit needs one.
func (m *v2Manager) Apply(pid int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	created, err := mkdirAll(m.dir)
	if err != nil {
		if m.ignore(err) {
			return nil
		}
		return fmt.Errorf("apply cgroup: %w", err)
	}
	if pid == -1 {
		return nil
	}
	if err := writeFile(m.dir, "cgroup.procs", strconv.Itoa(pid)); err != nil && !m.ignore(err) {
		for _, d := range slices.Backward(created) {
			_ = unix.Rmdir(d)
		}
		return fmt.Errorf("apply cgroup: %w", err)
	}
	return nil
}

// ApplyThread returns the directory fd for CLONE_INTO_CGROUP: a cgroup v2
// hierarchy has no per-thread placement outside threaded subtrees.
func (m *v2Manager) ApplyThread() (int, error) { return m.CgroupFD() }

// CgroupFD opens the cgroup directory, creating it when missing.
func (m *v2Manager) CgroupFD() (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := mkdirAll(m.dir); err != nil {
		return -1, fmt.Errorf("open cgroup fd: %w", err)
	}
	fd, err := unix.Open(m.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open cgroup fd: %w", &os.PathError{Op: "open", Path: m.dir, Err: err})
	}
	return fd, nil
}

// Set enables the controllers that r needs and writes its limits.
func (m *v2Manager) Set(r *configs.Resources) error {
	if r == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.set(r); err != nil {
		return fmt.Errorf("set cgroup: %w", err)
	}
	return nil
}

// v2write is one interface file write of a Set.
type v2write struct {
	ctrl, file, value string
}

func (m *v2Manager) set(r *configs.Resources) error {
	if err := unsupportedV2(r); err != nil {
		return err
	}
	if err := m.setDevices(r); err != nil && !m.ignore(err) {
		return err
	}
	writes, err := v2Writes(r)
	if err != nil || len(writes) == 0 {
		return err
	}
	var need []string
	for _, w := range writes {
		if w.ctrl != "" && !slices.Contains(need, w.ctrl) {
			need = append(need, w.ctrl)
		}
	}
	if err := m.enableControllers(need); err != nil && !m.ignore(err) {
		return err
	}
	for _, w := range writes {
		if err := writeFile(m.dir, w.file, w.value); err != nil && !m.ignore(err) {
			return err
		}
	}
	return nil
}

// setDevices makes r.Devices the whole device policy of the cgroup, as an
// eBPF device filter (see setDeviceFilter); nil leaves the policy alone.
func (m *v2Manager) setDevices(r *configs.Resources) error {
	if r.SkipDevices || r.Devices == nil {
		return nil
	}
	return setDeviceFilter(m.dir, r.Devices)
}

// unsupportedV2 refuses the limits that this manager does not write yet.
func unsupportedV2(r *configs.Resources) error {
	var names []string
	add := func(set bool, name string) {
		if set {
			names = append(names, name)
		}
	}
	add(r.CPUBurst != nil, "cpu burst")
	add(r.CPUIdle != nil, "cpu idle")
	add(r.CPURtRuntime != 0 || r.CPURtPeriod != 0, "cpu realtime")
	add(r.MemorySwappiness != nil, "memory swappiness (cgroup v1 only)")
	add(r.OomKillDisable, "oom kill disable (cgroup v1 only)")
	add(r.BlkioWeight != 0 || r.BlkioLeafWeight != 0 || len(r.BlkioWeightDevice) > 0 ||
		len(r.BlkioThrottleReadBpsDevice) > 0 || len(r.BlkioThrottleWriteBpsDevice) > 0 ||
		len(r.BlkioThrottleReadIOPSDevice) > 0 || len(r.BlkioThrottleWriteIOPSDevice) > 0, "io")
	add(len(r.HugetlbLimit) > 0, "hugetlb")
	add(len(r.Rdma) > 0, "rdma")
	add(r.NetClsClassid != 0 || len(r.NetPrioIfpriomap) > 0, "net_cls/net_prio (cgroup v1 only)")
	if names == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", strings.Join(names, ", "), errors.ErrUnsupported)
}

// v2Writes lists the interface file writes for r, in order, with the
// controller each needs.
func v2Writes(r *configs.Resources) ([]v2write, error) {
	var w []v2write
	if r.CpusetCpus != "" {
		w = append(w, v2write{"cpuset", "cpuset.cpus", r.CpusetCpus})
	}
	if r.CpusetMems != "" {
		w = append(w, v2write{"cpuset", "cpuset.mems", r.CpusetMems})
	}
	if weight := sharesToWeight(r.CPUShares); weight != 0 {
		w = append(w, v2write{"cpu", "cpu.weight", strconv.FormatUint(weight, 10)})
	}
	if r.CPUQuota != 0 || r.CPUPeriod != 0 {
		// cpu.max is "$QUOTA $PERIOD"; the period may be left out.
		v := "max"
		if r.CPUQuota > 0 {
			v = strconv.FormatInt(r.CPUQuota, 10)
		}
		if r.CPUPeriod != 0 {
			v += " " + strconv.FormatUint(r.CPUPeriod, 10)
		}
		w = append(w, v2write{"cpu", "cpu.max", v})
	}
	swap, setSwap, err := swapToV2(r.MemorySwap, r.Memory)
	if err != nil {
		return nil, err
	}
	if setSwap {
		w = append(w, v2write{"memory", "memory.swap.max", swap})
	}
	if r.Memory != 0 {
		w = append(w, v2write{"memory", "memory.max", limitString(r.Memory)})
	}
	if r.MemoryReservation != 0 {
		w = append(w, v2write{"memory", "memory.low", limitString(r.MemoryReservation)})
	}
	if r.PidsLimit != nil {
		w = append(w, v2write{"pids", "pids.max", limitString(*r.PidsLimit)})
	}
	for _, k := range slices.Sorted(maps.Keys(r.Unified)) {
		if k == "" || strings.ContainsRune(k, '/') || strings.HasPrefix(k, ".") {
			return nil, fmt.Errorf("unified %q: not a cgroup interface file name", k)
		}
		ctrl, _, _ := strings.Cut(k, ".")
		if ctrl == "cgroup" {
			ctrl = ""
		}
		w = append(w, v2write{ctrl, k, r.Unified[k]})
	}
	return w, nil
}

// enableControllers makes each controller in need available in the cgroup
// by adding it to the cgroup.subtree_control of every ancestor below root
// that lacks it. It writes nothing when cgroup.controllers already lists
// them all.
func (m *v2Manager) enableControllers(need []string) error {
	if len(need) == 0 {
		return nil
	}
	have, err := readFile(m.dir, "cgroup.controllers")
	if err != nil {
		return err
	}
	if missing(need, have) == nil {
		return nil
	}
	rel, err := filepath.Rel(m.root, m.dir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("enable controllers %s: %s is not below %s", strings.Join(need, " "), m.dir, m.root)
	}
	parent := m.root
	for name := range strings.SplitSeq(rel, "/") {
		sub, err := readFile(parent, "cgroup.subtree_control")
		if err != nil {
			return err
		}
		if add := missing(need, sub); add != nil {
			avail, err := readFile(parent, "cgroup.controllers")
			if err != nil {
				return err
			}
			if gone := missing(add, avail); gone != nil {
				return fmt.Errorf("enable controllers %s: not available in %s", strings.Join(gone, " "), parent)
			}
			if err := writeFile(parent, "cgroup.subtree_control", "+"+strings.Join(add, " +")); err != nil {
				return err
			}
		}
		parent = filepath.Join(parent, name)
	}
	return nil
}

// missing returns the names in need that the space-separated list lacks.
func missing(need []string, list string) []string {
	f := strings.Fields(list)
	var out []string
	for _, n := range need {
		if !slices.Contains(f, n) {
			out = append(out, n)
		}
	}
	return out
}

// Destroy removes the directory and every cgroup below it. The kernel
// detaches the device filter with the cgroup.
func (m *v2Manager) Destroy() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := removeCgroup(m.dir); err != nil && !m.ignore(err) {
		return fmt.Errorf("destroy cgroup: %w", err)
	}
	return nil
}

// Path returns the cgroup directory, whatever subsystem is asked for.
func (m *v2Manager) Path(string) string { return m.dir }

// GetPaths returns {"": dir}.
func (m *v2Manager) GetPaths() map[string]string { return map[string]string{"": m.dir} }

// GetPids returns the pids of the cgroup.
func (m *v2Manager) GetPids() ([]int, error) { return readPids(m.dir) }

// GetAllPids returns the pids of the cgroup and its descendants.
func (m *v2Manager) GetAllPids() ([]int, error) { return readAllPids(m.dir) }

// Exists reports whether the cgroup directory exists.
func (m *v2Manager) Exists() bool {
	_, err := os.Stat(m.dir)
	return err == nil
}
