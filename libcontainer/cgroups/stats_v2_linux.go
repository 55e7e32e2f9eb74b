package cgroups

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// GetStats reads the v2 controllers' counters; see statV2.
func (m *v2Manager) GetStats() (*Stats, error) {
	st, err := statV2(m.dir)
	if err != nil {
		return st, fmt.Errorf("cgroup stats: %w", err)
	}
	return st, nil
}

// statV2 reads the counters of the cgroup v2 directory dir into runc's
// Stats shape. A file that is missing (a controller that is not enabled, a
// kernel without PSI or memory.peak) leaves its part zero; other failures
// are returned together, with the counters that could be read.
func statV2(dir string) (*Stats, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	st := &Stats{}
	var errs []error
	for _, f := range []func(string, *Stats) error{
		statPidsV2, statMemoryV2, statIOV2, statCPUV2, statCpusetV2, statHugetlbV2, statRdmaV2, statMiscV2,
	} {
		if err := f(dir, st); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return st, errors.Join(errs...)
}

// parseFileV2 reads dir/name and parses it with parse; a parse error names
// the file.
func parseFileV2(dir, name string, parse func(string) error) error {
	data, err := readFile(dir, name)
	if err != nil {
		return err
	}
	if err := parse(data); err != nil {
		return fmt.Errorf("parse %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

// uintFileV2 reads a single-value file.
func uintFileV2(dir, name string) (uint64, error) {
	var v uint64
	err := parseFileV2(dir, name, func(s string) (err error) {
		v, err = parseCgroupUint(s)
		return err
	})
	return v, err
}

// keyedFileV2 reads one key of a flat keyed file.
func keyedFileV2(dir, name, key string) (uint64, error) {
	var v uint64
	err := parseFileV2(dir, name, func(s string) (err error) {
		kv, err := parseFlatKeyed(s)
		v = kv[key]
		return err
	})
	return v, err
}

// psiV2 reads a pressure file; nil when the kernel has no PSI (no file, or
// EOPNOTSUPP with psi=0 on the command line).
func psiV2(dir, name string) (*PSIStats, error) {
	var p *PSIStats
	err := parseFileV2(dir, name, func(s string) (err error) {
		p, err = parsePressure(s)
		return err
	})
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.EOPNOTSUPP) {
		return nil, nil
	}
	return p, err
}

func statPidsV2(dir string, st *Stats) error {
	cur, err := uintFileV2(dir, "pids.current")
	if errors.Is(err, os.ErrNotExist) {
		// No pids controller: count the processes, as runc does.
		pids, err := readPids(dir)
		if err != nil {
			return err
		}
		st.PidsStats.Current = uint64(len(pids))
		return nil
	}
	if err != nil {
		return err
	}
	limit, err := uintFileV2(dir, "pids.max")
	if err != nil {
		return err
	}
	if limit == 1<<64-1 {
		limit = 0 // "max": 0 means no limit in PidsStats
	}
	st.PidsStats = PidsStats{Current: cur, Limit: limit}
	return nil
}

// memoryDataV2 reads memory.<name>current, .max, .peak and the "max" count
// of .events, where name is "" or "swap.".
func memoryDataV2(dir, name string) (MemoryData, error) {
	var d MemoryData
	var err error
	if d.Usage, err = uintFileV2(dir, "memory."+name+"current"); err != nil {
		return d, err
	}
	if d.Limit, err = uintFileV2(dir, "memory."+name+"max"); err != nil {
		return d, err
	}
	// memory.peak came in Linux 5.19, memory.swap.peak in 6.5.
	if d.MaxUsage, err = uintFileV2(dir, "memory."+name+"peak"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return d, err
	}
	// v1's failcnt counts the charges that hit the limit; v2 counts them
	// as the "max" events.
	if d.Failcnt, err = keyedFileV2(dir, "memory."+name+"events", "max"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return d, err
	}
	return d, nil
}

func statMemoryV2(dir string, st *Stats) error {
	var err error
	if st.MemoryStats.PSI, err = psiV2(dir, "memory.pressure"); err != nil {
		return err
	}
	if err := parseFileV2(dir, "memory.stat", func(s string) error { return parseMemoryStatV2(s, &st.MemoryStats) }); err != nil {
		return err
	}
	mem, err := memoryDataV2(dir, "")
	if err != nil {
		return err
	}
	st.MemoryStats.Usage = mem
	swap, err := memoryDataV2(dir, "swap.")
	if errors.Is(err, os.ErrNotExist) {
		// No swap accounting.
		return nil
	}
	if err != nil {
		return err
	}
	st.MemoryStats.SwapOnlyUsage = swap
	st.MemoryStats.SwapUsage = combineSwapV2(mem, swap)
	return nil
}

func statIOV2(dir string, st *Stats) error {
	psi, err := psiV2(dir, "io.pressure")
	if err != nil {
		return err
	}
	err = parseFileV2(dir, "io.stat", func(s string) (err error) {
		st.BlkioStats, err = parseIOStatV2(s)
		return err
	})
	st.BlkioStats.PSI = psi
	return err
}

func statCPUV2(dir string, st *Stats) error {
	var err error
	if st.CPUStats.PSI, err = psiV2(dir, "cpu.pressure"); err != nil {
		return err
	}
	// cpu.stat exists without the cpu controller, with the usage alone.
	return parseFileV2(dir, "cpu.stat", func(s string) error { return parseCPUStatV2(s, &st.CPUStats) })
}

func statCpusetV2(dir string, st *Stats) error {
	for _, f := range []struct {
		name string
		out  *[]uint16
	}{
		{"cpuset.cpus.effective", &st.CPUSetStats.CPUs},
		{"cpuset.mems.effective", &st.CPUSetStats.Mems},
	} {
		err := parseFileV2(dir, f.name, func(s string) (err error) {
			*f.out, err = parseCpusetList(s)
			return err
		})
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// statHugetlbV2 reads every huge page size's hugetlb.<size>.current and
// the "max" count of hugetlb.<size>.events (the allocations that hit the
// limit: v1's failcnt). v2 keeps no peak.
func statHugetlbV2(dir string, st *Stats) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		size, ok := strings.CutPrefix(e.Name(), "hugetlb.")
		if !ok {
			continue
		}
		if size, ok = strings.CutSuffix(size, ".current"); !ok || strings.Contains(size, ".") {
			continue // not a usage file, or the .rsvd one
		}
		var h HugetlbStats
		if h.Usage, err = uintFileV2(dir, e.Name()); err != nil {
			return err
		}
		if h.Failcnt, err = keyedFileV2(dir, "hugetlb."+size+".events", "max"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if st.HugetlbStats == nil {
			st.HugetlbStats = map[string]HugetlbStats{}
		}
		st.HugetlbStats[size] = h
	}
	return nil
}

func statRdmaV2(dir string, st *Stats) error {
	for _, f := range []struct {
		name string
		out  *[]RdmaEntry
	}{
		{"rdma.current", &st.RdmaStats.RdmaCurrent},
		{"rdma.max", &st.RdmaStats.RdmaLimit},
	} {
		err := parseFileV2(dir, f.name, func(s string) (err error) {
			*f.out, err = parseRdma(s)
			return err
		})
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func statMiscV2(dir string, st *Stats) error {
	m := map[string]MiscStats{}
	for _, f := range []struct {
		name   string
		events bool
	}{{"misc.current", false}, {"misc.events", true}} {
		err := parseFileV2(dir, f.name, func(s string) error { return parseMiscV2(s, f.events, m) })
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if len(m) > 0 {
		st.MiscStats = m
	}
	return nil
}

// NotifyOOM watches memory.events with inotify and sends a value each time
// its oom_kill count grows: the OOM killer killed a task of the cgroup or
// of a cgroup below it. (The "oom" count alone, an allocation that hit the
// limit without a kill, is not reported: containerd's v2 OOM watcher reads
// oom_kill too.) It enables the memory controller for the cgroup if
// needed; without one it fails with an error wrapping
// errors.ErrUnsupported. The channel is closed when ctx is done or when
// the cgroup directory is removed.
func (m *v2Manager) NotifyOOM(ctx context.Context) (<-chan struct{}, error) {
	if unix.Access(filepath.Join(m.dir, "memory.events"), unix.F_OK) != nil {
		m.mu.Lock()
		err := m.enableControllers([]string{"memory"})
		m.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("cgroup v2 OOM events: memory controller: %w", err)
		}
	}
	ch, err := watchOOMV2(ctx, m.dir)
	if err != nil {
		return nil, fmt.Errorf("cgroup v2 OOM events: %w", err)
	}
	return ch, nil
}

// NotifyMemoryPressure fails: cgroup v2 has no memory.pressure_level
// events (its memory.pressure PSI triggers are a different interface).
func (m *v2Manager) NotifyMemoryPressure(context.Context, PressureLevel) (<-chan struct{}, error) {
	return nil, fmt.Errorf("cgroup v2 memory pressure events: %w", errors.ErrUnsupported)
}

// watchOOMV2 is NotifyOOM on the cgroup directory dir.
//
// The removal of a cgroup reaches inotify only as an IN_DELETE event of its
// parent directory, with the cgroup's name: kernfs sends no IN_DELETE_SELF
// or IN_IGNORED to watches on the removed directory or its files (measured
// on Linux 6.18). So the parent is watched too. (runc instead stops when
// cgroup.events reads "populated 0", which also ends the watch of a
// container whose processes exited but whose cgroup is still there.)
func watchOOMV2(ctx context.Context, dir string) (<-chan struct{}, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, os.NewSyscallError("inotify_init1", err)
	}
	// Non-blocking, so that Go's poller waits and Close ends a Read.
	f := os.NewFile(uintptr(fd), "inotify")
	events := filepath.Join(dir, "memory.events")
	evWd, err := unix.InotifyAddWatch(fd, events, unix.IN_MODIFY)
	if err != nil {
		_ = f.Close()
		return nil, &os.PathError{Op: "inotify_add_watch", Path: events, Err: err}
	}
	parent := filepath.Dir(dir)
	parentWd, err := unix.InotifyAddWatch(fd, parent, unix.IN_DELETE|unix.IN_ONLYDIR)
	if err != nil {
		_ = f.Close()
		return nil, &os.PathError{Op: "inotify_add_watch", Path: parent, Err: err}
	}
	// Read after the watches are in place: a kill in between is seen.
	last, err := keyedFileV2(dir, "memory.events", "oom_kill")
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	w := &oomWatch{f: f, dir: dir, evWd: int32(evWd), parentWd: int32(parentWd), last: last, ch: make(chan struct{})}
	go w.run(ctx)
	return w.ch, nil
}

// oomWatch is the goroutine of one NotifyOOM; it owns f and closes ch.
type oomWatch struct {
	f              *os.File
	dir            string
	evWd, parentWd int32
	last           uint64
	ch             chan struct{}
}

func (w *oomWatch) run(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() { _ = w.f.Close() })
	defer func() {
		stop()
		_ = w.f.Close()
		close(w.ch)
	}()
	name := filepath.Base(w.dir)
	// Room for many events: each is 16 bytes and a name of up to
	// NAME_MAX+1 bytes, padded.
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := w.f.Read(buf)
		if err != nil || n < unix.SizeofInotifyEvent {
			return // closed at ctx's end, or a failed read
		}
		modified, removed := false, false
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			wd := int32(binary.NativeEndian.Uint32(buf[off:]))
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			nameLen := int(binary.NativeEndian.Uint32(buf[off+12:]))
			start := off + unix.SizeofInotifyEvent
			off = start + nameLen
			if off > n {
				break
			}
			evName := strings.TrimRight(string(buf[start:off]), "\x00")
			switch {
			case mask&unix.IN_Q_OVERFLOW != 0:
				modified = true
			case wd == w.evWd && mask&(unix.IN_IGNORED|unix.IN_DELETE_SELF) != 0:
				removed = true
			case wd == w.evWd:
				modified = true
			case wd == w.parentWd && mask&unix.IN_DELETE != 0 && evName == name:
				removed = true
			}
		}
		if modified && !w.check(ctx) {
			return
		}
		if removed {
			return
		}
	}
}

// check reads oom_kill and sends a value when it grew. It returns false
// when the watch must end: ctx is done or the cgroup is gone.
func (w *oomWatch) check(ctx context.Context) bool {
	n, err := keyedFileV2(w.dir, "memory.events", "oom_kill")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) && !errors.Is(err, unix.ENODEV)
	}
	if n <= w.last {
		return true
	}
	w.last = n
	select {
	case w.ch <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}
