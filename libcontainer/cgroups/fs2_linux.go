package cgroups

import (
	"errors"
	"fmt"
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

// Apply creates the directory, enables the host's controllers for it (see
// enableAll) and moves pid in.
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
	m.enableAll()
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

// CgroupFD opens the cgroup directory, creating it when missing and
// enabling the host's controllers for it as Apply does.
func (m *v2Manager) CgroupFD() (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := mkdirAll(m.dir); err != nil {
		return -1, fmt.Errorf("open cgroup fd: %w", err)
	}
	m.enableAll()
	fd, err := unix.Open(m.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open cgroup fd: %w", &os.PathError{Op: "open", Path: m.dir, Err: err})
	}
	return fd, nil
}

// enableAll enables, on a best-effort basis, the hierarchy's controllers
// for the cgroup, as runc does when it creates one, so that the usage
// counters (memory.current, memory.events, io.stat, pids.current) exist
// even for a container without limits. It leaves out what an ancestor
// cannot give (a delegated subtree without a controller) and stops at an
// ancestor with processes of its own; Set reports such a controller if a
// limit needs it.
func (m *v2Manager) enableAll() {
	avail, err := readFile(m.root, "cgroup.controllers")
	if err != nil {
		return
	}
	_ = walkV2Controllers(m.root, m.dir, strings.Fields(avail), true)
}

// Set checks r, enables the controllers it needs and writes its limits.
// Nothing is written when r is invalid, names a controller or a file that
// the host lacks, or (with MemoryCheckBeforeUpdate) sets a memory limit at
// or below the current usage. When the kernel refuses one of the writes,
// the files written before it get their previous values back.
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

func (m *v2Manager) set(r *configs.Resources) error {
	writes, err := planV2(r)
	if err != nil {
		return err
	}
	devices := !r.SkipDevices && r.Devices != nil
	if devices {
		// The same check that setDeviceFilter makes, made before
		// anything is written.
		if _, err := targetPolicy(r.Devices); err != nil {
			return err
		}
	}
	if err := m.prepare(writes); err != nil {
		return err
	}
	if err := checkMemoryUsageV2(m.dir, r); err != nil {
		return err
	}
	writes, err = m.resolve(writes)
	if err != nil {
		return err
	}
	snap := snapshotV2(m.dir, writes)
	writes = snap.keepQuota(writes)
	done, err := m.write(writes)
	if err == nil && devices {
		if err = setDeviceFilter(m.dir, r.Devices); err != nil {
			if m.ignore(err) {
				err = nil
			} else {
				err = v2Err("devices", err)
			}
		}
	}
	if err != nil {
		snap.restore(m.dir, done)
		return err
	}
	return nil
}

// prepare enables the controllers that writes need. A controller that the
// hierarchy's root lacks fails with an error wrapping
// errors.ErrUnsupported and naming the first resource that needs it.
func (m *v2Manager) prepare(writes []v2write) error {
	var need []string
	first := map[string]string{}
	for _, w := range writes {
		if w.ctrl != "" && !slices.Contains(need, w.ctrl) {
			need = append(need, w.ctrl)
			first[w.ctrl] = w.field
		}
	}
	if len(need) == 0 {
		return nil
	}
	avail, err := readFile(m.root, "cgroup.controllers")
	if err != nil {
		return err
	}
	if gone := missing(need, avail); gone != nil {
		c := gone[0]
		return v2Errf(first[c], "the cgroup v2 %s controller is not available on this host: %w", c, errors.ErrUnsupported)
	}
	if err := enableV2Controllers(m.root, m.dir, need); err != nil && !m.ignore(err) {
		fields := make([]string, len(need))
		for i, c := range need {
			fields[i] = "linux.resources." + first[c]
		}
		return fmt.Errorf("%s: %w", strings.Join(fields, ", "), err)
	}
	return nil
}

// checkMemoryUsageV2 refuses, for memory.checkBeforeUpdate, a memory or
// memory+swap limit at or below the cgroup's current memory usage, as runc
// does (CheckMemoryUsage). An unreadable usage checks nothing.
func checkMemoryUsageV2(dir string, r *configs.Resources) error {
	if !r.MemoryCheckBeforeUpdate || (r.Memory <= 0 && r.MemorySwap <= 0) {
		return nil
	}
	s, err := readFile(dir, "memory.current")
	if err != nil {
		return nil
	}
	usage, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return nil
	}
	if r.MemorySwap > 0 && uint64(r.MemorySwap) <= usage {
		return v2Errf("memory.swap", "memory+swap limit %d is not above the current usage %d (memory.checkBeforeUpdate)", r.MemorySwap, usage)
	}
	if r.Memory > 0 && uint64(r.Memory) <= usage {
		return v2Errf("memory.limit", "limit %d is not above the current usage %d (memory.checkBeforeUpdate)", r.Memory, usage)
	}
	return nil
}

// resolve makes each write's host-dependent choice (see writeCond) and
// fails, naming the resource, when a file that a write needs is missing.
func (m *v2Manager) resolve(writes []v2write) ([]v2write, error) {
	exists := func(file string) bool {
		err := unix.Access(filepath.Join(m.dir, file), unix.F_OK)
		return err == nil
	}
	out := make([]v2write, 0, len(writes))
	for _, w := range writes {
		switch w.cond {
		case condAlways:
		case condOptional:
			if !exists(w.file) {
				continue
			}
		case condAlt:
			if !exists(w.file) {
				w = *w.alt
			}
		case condBFQDevice:
			if !bfqDeviceWeights(m.dir) {
				w = *w.alt
			}
		}
		if !exists(w.file) {
			p := filepath.Join(m.dir, w.file)
			return nil, v2Errf(w.field, "%s: %s: %w", p, w.missing, os.ErrNotExist)
		}
		out = append(out, w)
	}
	return out, nil
}

// bfqDeviceWeights reports whether io.bfq.weight takes per-device weights:
// since Linux 5.4 it reads "default N" and then a line per device, before
// that a bare number.
func bfqDeviceWeights(dir string) bool {
	s, err := readFile(dir, "io.bfq.weight")
	if err != nil {
		return false
	}
	_, err = strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	return err != nil
}

// write performs writes in order and returns those that succeeded. A write
// marked retry that fails with EINVAL is tried again after the others.
func (m *v2Manager) write(writes []v2write) ([]v2write, error) {
	var done, later []v2write
	one := func(w v2write) error {
		v := w.value
		if v == "" {
			// An empty write(2) does not reach the kernel's parser;
			// a lone newline is the empty value ("cpuset.cpus").
			v = "\n"
		}
		err := writeFile(m.dir, w.file, v)
		if err == nil {
			done = append(done, w)
		}
		return err
	}
	for _, w := range writes {
		err := one(w)
		if w.retry && errors.Is(err, unix.EINVAL) {
			later = append(later, w)
			continue
		}
		if err != nil && !m.ignore(err) {
			return done, v2Err(w.field, err)
		}
	}
	for _, w := range later {
		if err := one(w); err != nil && !m.ignore(err) {
			return done, v2Err(w.field, err)
		}
	}
	return done, nil
}

// v2Snapshot holds the content that the files of a Set had before it, to
// put back when the kernel refuses one of the writes.
type v2Snapshot map[string]string

// snapshotV2 reads the files that writes are about to change. A file that
// cannot be read (cgroup.kill, memory.reclaim) is not restored.
func snapshotV2(dir string, writes []v2write) v2Snapshot {
	s := v2Snapshot{}
	for _, w := range writes {
		if _, ok := s[w.file]; ok {
			continue
		}
		if v, err := readFile(dir, w.file); err == nil {
			s[w.file] = v
		}
	}
	return s
}

// keepQuota fills in the current quota of the writes marked keepQuota.
func (s v2Snapshot) keepQuota(writes []v2write) []v2write {
	for i, w := range writes {
		if !w.keepQuota {
			continue
		}
		quota := "max"
		if f := strings.Fields(s[w.file]); len(f) > 0 {
			quota = f[0]
		}
		writes[i].value = quota + " " + w.value
	}
	return writes
}

// restore writes back, newest first, what done changed. A keyed line gets
// the previous line for its key, or the kernel's "no limit" for that key
// when it had none; other files get their previous content.
func (s v2Snapshot) restore(dir string, done []v2write) {
	restored := map[string]bool{}
	for _, w := range slices.Backward(done) {
		old, ok := s[w.file]
		if !ok {
			continue
		}
		if w.key == "" {
			if restored[w.file] {
				continue
			}
			restored[w.file] = true
			for line := range strings.SplitSeq(old, "\n") {
				if line == "" {
					line = "\n"
				}
				_ = writeFile(dir, w.file, line)
			}
			continue
		}
		_ = writeFile(dir, w.file, previousLine(w.file, w.key, old))
	}
}

// previousLine returns the line of a keyed file's old content for key, or
// the line that resets key.
func previousLine(file, key, old string) string {
	for line := range strings.SplitSeq(old, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == key {
			return line
		}
	}
	if key == "default" {
		// io.bfq.weight before Linux 5.4 holds the bare default weight.
		return strings.TrimSpace(old)
	}
	switch file {
	case "io.max":
		return key + " rbps=max wbps=max riops=max wiops=max"
	case "rdma.max":
		return key + " hca_handle=max hca_object=max"
	}
	return key + " default" // io.weight, io.bfq.weight
}

// enableControllers makes each controller in need available in the
// cgroup; see enableV2Controllers.
func (m *v2Manager) enableControllers(need []string) error {
	return enableV2Controllers(m.root, m.dir, need)
}

// enableV2Controllers makes each controller in need available in the
// cgroup dir of the cgroup2 hierarchy mounted at root, by adding it to the
// cgroup.subtree_control of every ancestor below root that lacks it. It
// writes nothing when dir's cgroup.controllers already lists them all. A
// controller that an ancestor cannot give fails with an error wrapping
// errors.ErrUnsupported.
func enableV2Controllers(root, dir string, need []string) error {
	return walkV2Controllers(root, dir, need, false)
}

// walkV2Controllers is enableV2Controllers; with bestEffort, it enables at
// each level what that level can give and stops, without an error, where
// enabling fails.
//
// It never enables a controller in an ancestor (below root) that has
// processes of its own: the kernel refuses the domain controllers there
// (EBUSY, the "no internal processes" rule of cgroup-v2.rst), but takes
// the threaded ones (cpu, pids), which turns the ancestor into a threaded
// domain and its other children into "domain invalid" cgroups that cannot
// take a process.
func walkV2Controllers(root, dir string, need []string, bestEffort bool) error {
	if len(need) == 0 {
		return nil
	}
	have, err := readFile(dir, "cgroup.controllers")
	if err != nil {
		return err
	}
	if missing(need, have) == nil {
		return nil
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("enable controllers %s: %s is not below %s", strings.Join(need, " "), dir, root)
	}
	parent := root
	for name := range strings.SplitSeq(rel, "/") {
		if err := enableLevel(root, parent, need, bestEffort); err != nil {
			if bestEffort {
				return nil
			}
			return err
		}
		parent = filepath.Join(parent, name)
	}
	return nil
}

// enableLevel adds the controllers of need that dir lacks to its
// cgroup.subtree_control; see walkV2Controllers.
func enableLevel(root, dir string, need []string, bestEffort bool) error {
	sub, err := readFile(dir, "cgroup.subtree_control")
	if err != nil {
		return err
	}
	add := missing(need, sub)
	if add == nil {
		return nil
	}
	avail, err := readFile(dir, "cgroup.controllers")
	if err != nil {
		return err
	}
	if gone := missing(add, avail); gone != nil {
		if !bestEffort {
			return fmt.Errorf("enable controllers %s: not available in %s: %w", strings.Join(gone, " "), dir, errors.ErrUnsupported)
		}
		if add = slices.DeleteFunc(add, func(c string) bool { return slices.Contains(gone, c) }); len(add) == 0 {
			return nil
		}
	}
	if dir != root {
		pids, err := readPids(dir)
		if err != nil {
			return err
		}
		if len(pids) > 0 {
			return fmt.Errorf("enable controllers %s in %s: it has processes of its own, and cgroup v2 lets only a cgroup without processes give controllers to its children: %w",
				strings.Join(add, " "), dir, unix.EBUSY)
		}
	}
	if err := writeFile(dir, "cgroup.subtree_control", "+"+strings.Join(add, " +")); err != nil {
		return fmt.Errorf("enable controllers %s: %w", strings.Join(add, " "), err)
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
