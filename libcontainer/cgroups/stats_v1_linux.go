package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// GetStats reads the v1 controllers' counters, as runc's fs driver does,
// plus what a hybrid host's unified hierarchy adds: the hugetlb counters
// when the controller is bound there, and the cgroup's pressure (PSI)
// files. A controller that is not mounted leaves its part zero; a missing
// cgroup is an error.
func (m *v1Manager) GetStats() (*Stats, error) {
	paths := m.GetPaths()
	s := &Stats{}
	for _, st := range []struct {
		ctrl string
		read func(dir string, s *Stats) error
	}{
		{"cpu", cpuStatsV1},
		{"cpuacct", cpuacctStats},
		{"cpuset", cpusetStatsV1},
		{"memory", memoryStatsV1},
		{"pids", pidsStatsV1},
		{"blkio", blkioStatsV1},
		{"hugetlb", hugetlbStatsV1},
		{"rdma", rdmaStatsV1},
	} {
		if d := paths[st.ctrl]; d != "" {
			if err := st.read(d, s); err != nil {
				return nil, fmt.Errorf("cgroup stats: %w", err)
			}
		}
	}
	if u := paths[""]; u != "" {
		if paths["hugetlb"] == "" {
			if err := hybridHugetlbStats(u, s); err != nil {
				return nil, fmt.Errorf("cgroup stats: %w", err)
			}
		}
		if err := pressureStats(u, s); err != nil {
			return nil, fmt.Errorf("cgroup stats: %w", err)
		}
	}
	return s, nil
}

// readCgroupUint reads a single-number file (see parseCgroupUint).
func readCgroupUint(dir, name string) (uint64, error) {
	s, err := readFile(dir, name)
	if err != nil {
		return 0, err
	}
	v, err := parseCgroupUint(s)
	if err != nil {
		return 0, &os.PathError{Op: "parse", Path: filepath.Join(dir, name), Err: err}
	}
	return v, nil
}

// readParsed reads dir/name and parses it with parse; the error names the
// file.
func readParsed[T any](dir, name string, parse func(string) (T, error)) (T, error) {
	var zero T
	s, err := readFile(dir, name)
	if err != nil {
		return zero, err
	}
	v, err := parse(s)
	if err != nil {
		return zero, &os.PathError{Op: "parse", Path: filepath.Join(dir, name), Err: err}
	}
	return v, nil
}

// absent reports whether err means that an optional file is not there:
// missing, or refused by a kernel built or booted without the feature.
func absent(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.EOPNOTSUPP)
}

// cpuStatsV1 reads the CFS throttling counters of cpu.stat.
func cpuStatsV1(dir string, s *Stats) error {
	kv, err := readParsed(dir, "cpu.stat", parseFlatKeyed)
	if absent(err) {
		return nil
	}
	if err != nil {
		return err
	}
	s.CPUStats.ThrottlingData = ThrottlingData{
		Periods:          kv["nr_periods"],
		ThrottledPeriods: kv["nr_throttled"],
		ThrottledTime:    kv["throttled_time"],
	}
	return nil
}

// cpuacctStats reads the CPU time: cpuacct.usage and .usage_percpu,
// cpuacct.stat (user and system, as runc reports them) and, where the
// kernel has it, the per-CPU split of cpuacct.usage_all.
func cpuacctStats(dir string, s *Stats) error {
	u := &s.CPUStats.CPUUsage
	var err error
	if u.TotalUsage, err = readCgroupUint(dir, "cpuacct.usage"); err != nil {
		return err
	}
	if u.PercpuUsage, err = readParsed(dir, "cpuacct.usage_percpu", parseUintList); err != nil {
		return err
	}
	st, err := readFile(dir, "cpuacct.stat")
	if err != nil {
		return err
	}
	if u.UsageInUsermode, u.UsageInKernelmode, err = parseCpuacctStat(st); err != nil {
		return &os.PathError{Op: "parse", Path: filepath.Join(dir, "cpuacct.stat"), Err: err}
	}
	all, err := readFile(dir, "cpuacct.usage_all")
	if absent(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if u.PercpuUsageInKernelmode, u.PercpuUsageInUsermode, err = parseCpuacctUsageAll(all); err != nil {
		return &os.PathError{Op: "parse", Path: filepath.Join(dir, "cpuacct.usage_all"), Err: err}
	}
	return nil
}

// cpusetStatsV1 reads the configured CPU and memory node lists and the
// exclusive flags.
func cpusetStatsV1(dir string, s *Stats) error {
	c := &s.CPUSetStats
	var err error
	if c.CPUs, err = readParsed(dir, "cpuset.cpus", parseCpusetList); err != nil {
		return err
	}
	if c.Mems, err = readParsed(dir, "cpuset.mems", parseCpusetList); err != nil {
		return err
	}
	if c.CPUExclusive, err = readCgroupUint(dir, "cpuset.cpu_exclusive"); err != nil {
		return err
	}
	c.MemExclusive, err = readCgroupUint(dir, "cpuset.mem_exclusive")
	return err
}

// memoryStatsV1 reads memory.stat and the usage, peak, failure count and
// limit of memory, memory+swap, kernel and kernel TCP memory (the last
// three are optional in the kernel).
func memoryStatsV1(dir string, s *Stats) error {
	ms := &s.MemoryStats
	var err error
	if ms.Stats, err = readParsed(dir, "memory.stat", parseFlatKeyed); err != nil {
		return err
	}
	ms.Cache = ms.Stats["cache"]
	for _, d := range []struct {
		prefix   string
		dst      *MemoryData
		optional bool
	}{
		{"memory", &ms.Usage, false},
		{"memory.memsw", &ms.SwapUsage, true},
		{"memory.kmem", &ms.KernelUsage, true},
		{"memory.kmem.tcp", &ms.KernelTCPUsage, true},
	} {
		if err := memoryData(dir, d.prefix, d.dst); err != nil {
			if d.optional && absent(err) {
				continue
			}
			return err
		}
	}
	// memsw counts memory and swap together; swap alone is the rest.
	if ms.SwapUsage.Usage > ms.Usage.Usage {
		ms.SwapOnlyUsage.Usage = ms.SwapUsage.Usage - ms.Usage.Usage
	}
	h, err := readCgroupUint(dir, "memory.use_hierarchy")
	if err != nil {
		return err
	}
	ms.UseHierarchy = h == 1
	return nil
}

// memoryData reads prefix.usage_in_bytes, .max_usage_in_bytes, .failcnt
// and .limit_in_bytes.
func memoryData(dir, prefix string, d *MemoryData) error {
	for _, f := range []struct {
		suffix string
		dst    *uint64
	}{
		{".usage_in_bytes", &d.Usage},
		{".max_usage_in_bytes", &d.MaxUsage},
		{".failcnt", &d.Failcnt},
		{".limit_in_bytes", &d.Limit},
	} {
		v, err := readCgroupUint(dir, prefix+f.suffix)
		if err != nil {
			return err
		}
		*f.dst = v
	}
	return nil
}

// pidsStatsV1 reads pids.current and pids.max ("max" is a limit of 0).
func pidsStatsV1(dir string, s *Stats) error {
	var err error
	if s.PidsStats.Current, err = readCgroupUint(dir, "pids.current"); err != nil {
		return err
	}
	limit, err := readCgroupUint(dir, "pids.max")
	if err != nil {
		return err
	}
	if limit != ^uint64(0) {
		s.PidsStats.Limit = limit
	}
	return nil
}

// blkioStatGroup is a set of blkio files that one I/O scheduler or layer
// fills, tried in runc's order.
type blkioStatGroup []struct {
	file string
	dst  func(*BlkioStats) *[]BlkioStatEntry
}

func serviceBytes(b *BlkioStats) *[]BlkioStatEntry { return &b.IoServiceBytesRecursive }
func serviced(b *BlkioStats) *[]BlkioStatEntry     { return &b.IoServicedRecursive }

// fullBlkioStats are the eight recursive files of CFQ, or of bfq with
// CONFIG_BFQ_CGROUP_DEBUG, under prefix; the first is the probe.
func fullBlkioStats(prefix string) blkioStatGroup {
	return blkioStatGroup{
		{prefix + "sectors_recursive", func(b *BlkioStats) *[]BlkioStatEntry { return &b.SectorsRecursive }},
		{prefix + "io_service_bytes_recursive", serviceBytes},
		{prefix + "io_serviced_recursive", serviced},
		{prefix + "io_queued_recursive", func(b *BlkioStats) *[]BlkioStatEntry { return &b.IoQueuedRecursive }},
		{prefix + "io_service_time_recursive", func(b *BlkioStats) *[]BlkioStatEntry { return &b.IoServiceTimeRecursive }},
		{prefix + "io_wait_time_recursive", func(b *BlkioStats) *[]BlkioStatEntry { return &b.IoWaitTimeRecursive }},
		{prefix + "io_merged_recursive", func(b *BlkioStats) *[]BlkioStatEntry { return &b.IoMergedRecursive }},
		{prefix + "time_recursive", func(b *BlkioStats) *[]BlkioStatEntry { return &b.IoTimeRecursive }},
	}
}

// blkioStatsV1 reads the first group of blkio counters that the kernel
// fills, in runc's order: bfq with its debug counters, bfq, CFQ, then the
// throttle layer's recursive counters and its own. A group whose first
// file is missing or empty (no I/O seen) gives way to the next.
func blkioStatsV1(dir string, s *Stats) error {
	for _, g := range []blkioStatGroup{
		fullBlkioStats("blkio.bfq."),
		{{"blkio.bfq.io_service_bytes_recursive", serviceBytes}, {"blkio.bfq.io_serviced_recursive", serviced}},
		fullBlkioStats("blkio."),
		{{"blkio.throttle.io_service_bytes_recursive", serviceBytes}, {"blkio.throttle.io_serviced_recursive", serviced}},
		{{"blkio.throttle.io_service_bytes", serviceBytes}, {"blkio.throttle.io_serviced", serviced}},
	} {
		done, err := readBlkioGroup(dir, g, &s.BlkioStats)
		if done || err != nil {
			return err
		}
	}
	return nil
}

// readBlkioGroup fills b from g's files. It reports done false, having
// filled nothing, when the group's first file is missing or empty.
func readBlkioGroup(dir string, g blkioStatGroup, b *BlkioStats) (done bool, err error) {
	var got BlkioStats
	for i, f := range g {
		e, err := readParsed(dir, f.file, parseBlkioStat)
		if absent(err) {
			if i == 0 {
				return false, nil
			}
			continue
		}
		if err != nil {
			return false, err
		}
		if i == 0 && len(e) == 0 {
			return false, nil
		}
		*f.dst(&got) = e
	}
	psi := b.PSI
	*b = got
	b.PSI = psi
	return true, nil
}

// hugetlbStatsV1 reads each page size's usage, peak and failure count from
// the v1 hugetlb controller.
func hugetlbStatsV1(dir string, s *Stats) error {
	sizes, err := hugetlbPageSizes()
	if err != nil {
		return err
	}
	for _, ps := range sizes {
		var h HugetlbStats
		for _, f := range []struct {
			suffix string
			dst    *uint64
		}{{".usage_in_bytes", &h.Usage}, {".max_usage_in_bytes", &h.MaxUsage}, {".failcnt", &h.Failcnt}} {
			if *f.dst, err = readCgroupUint(dir, "hugetlb."+ps+f.suffix); err != nil {
				return err
			}
		}
		if s.HugetlbStats == nil {
			s.HugetlbStats = map[string]HugetlbStats{}
		}
		s.HugetlbStats[ps] = h
	}
	return nil
}

// hybridHugetlbStats reads the hugetlb counters of a hybrid host's unified
// hierarchy, where runc reports none: hugetlb.<size>.current and the "max"
// count of hugetlb.<size>.events (allocations refused at the limit). The
// files exist only when the controller is enabled for the cgroup.
func hybridHugetlbStats(dir string, s *Stats) error {
	sizes, err := hugetlbPageSizes()
	if err != nil {
		return err
	}
	for _, ps := range sizes {
		cur, err := readCgroupUint(dir, "hugetlb."+ps+".current")
		if absent(err) {
			return nil
		}
		if err != nil {
			return err
		}
		ev, err := readParsed(dir, "hugetlb."+ps+".events", parseFlatKeyed)
		if err != nil && !absent(err) {
			return err
		}
		if s.HugetlbStats == nil {
			s.HugetlbStats = map[string]HugetlbStats{}
		}
		s.HugetlbStats[ps] = HugetlbStats{Usage: cur, Failcnt: ev["max"]}
	}
	return nil
}

// rdmaStatsV1 reads rdma.current and rdma.max.
func rdmaStatsV1(dir string, s *Stats) error {
	var err error
	if s.RdmaStats.RdmaCurrent, err = readParsed(dir, "rdma.current", parseRdma); err != nil {
		return err
	}
	s.RdmaStats.RdmaLimit, err = readParsed(dir, "rdma.max", parseRdma)
	return err
}

// pressureStats reads the cgroup's PSI files (Linux 4.20, CONFIG_PSI), which
// a hybrid host's unified hierarchy has whatever the controllers: runc's v1
// driver does not report them.
func pressureStats(dir string, s *Stats) error {
	for _, p := range []struct {
		file string
		dst  **PSIStats
	}{
		{"cpu.pressure", &s.CPUStats.PSI},
		{"memory.pressure", &s.MemoryStats.PSI},
		{"io.pressure", &s.BlkioStats.PSI},
	} {
		v, err := readParsed(dir, p.file, parsePressure)
		if absent(err) {
			continue
		}
		if err != nil {
			return err
		}
		*p.dst = v
	}
	return nil
}
