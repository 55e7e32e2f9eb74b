package cgroups

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/berthrt/berth/libcontainer/configs"
)

// The v1 manager checks a whole Set before its first write, so that bad
// input leaves every limit as it was. The kernel can still refuse a value
// that passed (a cpu quota above the parent's, a memory limit the kernel
// cannot reclaim down to); Container.Set then writes the old limits back.

// v1Plan is what the checks learnt about the cgroup for the writes.
type v1Plan struct {
	// weightFile and weightDeviceFile are blkio.weight and
	// blkio.weight_device (CFQ) or, when the kernel has no CFQ,
	// blkio.bfq.weight and blkio.bfq.weight_device.
	weightFile, weightDeviceFile string
	// memsw reports whether swap is accounted
	// (memory.memsw.limit_in_bytes exists).
	memsw bool
	// hugetlbDir is where the hugetlb limits go: the v1 hugetlb directory,
	// or, when hugetlbV2, the cgroup's directory in the unified hierarchy
	// of a hybrid host (hugetlb.<size>.max files).
	hugetlbDir string
	hugetlbV2  bool
}

// Kernel bounds of the values the checks enforce.
const (
	minShares     = 2       // MIN_SHARES, kernel/sched/sched.h
	maxShares     = 1 << 18 // MAX_SHARES
	minCFSQuotaUs = 1000    // min_cfs_quota_period, kernel/sched/core.c: 1 ms
	maxCFSPeriod  = 1000000 // max_cfs_quota_period: 1 s
	maxBlkWeight  = 1000
	minCFQWeight  = 10 // CFQ_WEIGHT_LEGACY_MIN, block/blk-cgroup.h
	minBFQWeight  = 1  // BFQ_MIN_WEIGHT, block/bfq-iosched.h
)

// resourceError names an OCI field of linux.resources.
func resourceError(field, format string, args ...any) error {
	return &configs.FieldError{Field: "linux.resources." + field, Err: fmt.Errorf(format, args...)}
}

// hasFile reports whether dir has the interface file name.
func hasFile(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// checkV1 checks r against the host and the cgroup and returns what the
// writes need. Errors are *configs.FieldError naming the OCI field.
func (m *v1Manager) checkV1(r *configs.Resources) (*v1Plan, error) {
	p := &v1Plan{}
	for _, check := range []func(*configs.Resources, *v1Plan) error{
		m.checkUnified, m.checkDevices, m.checkCpuset, m.checkMemory, m.checkCPU,
		m.checkPids, m.checkBlkio, m.checkHugetlb, m.checkNetwork, m.checkRdma,
	} {
		if err := check(r, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// need returns ctrl's directory for a limit in field. A controller that is
// not mounted is an error wrapping errors.ErrUnsupported, except for a
// rootless manager, which skips the limit ("" and no error), as the
// writes do.
func (m *v1Manager) need(ctrl, field string) (string, error) {
	if d := m.paths[ctrl]; d != "" {
		return d, nil
	}
	if m.rootless {
		return "", nil
	}
	return "", resourceError(field, "the %s cgroup controller is not mounted on this host: %w", ctrl, errors.ErrUnsupported)
}

// checkUnified refuses the unified map, as runc does on cgroup v1 and on a
// hybrid host: its keys are cgroup v2 files, and the v1 manager writes the
// controllers of the unified hierarchy (hugetlb here) from their OCI
// fields instead.
func (m *v1Manager) checkUnified(r *configs.Resources, _ *v1Plan) error {
	if len(r.Unified) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(r.Unified))
	return &configs.FieldError{
		Field: "linux.resources.unified",
		Err:   fmt.Errorf("%w (keys %s)", configs.ErrCgroupV1NoUnified, strings.Join(keys, ", ")),
	}
}

func (m *v1Manager) checkDevices(r *configs.Resources, _ *v1Plan) error {
	if r.SkipDevices || r.Devices == nil {
		return nil
	}
	if _, err := m.need("devices", "devices"); err != nil {
		return err
	}
	_, err := targetPolicy(r.Devices)
	return err
}

// checkCpuset parses the lists and checks them against the parent cgroup's
// sets: a v1 cpuset must be a subset of its parent's.
func (m *v1Manager) checkCpuset(r *configs.Resources, _ *v1Plan) error {
	if r.CpusetCpus == "" && r.CpusetMems == "" {
		return nil
	}
	dir, err := m.need("cpuset", "cpu.cpus")
	if err != nil || dir == "" {
		return err
	}
	for _, c := range []struct{ field, value, file, what string }{
		{"cpu.cpus", r.CpusetCpus, "cpuset.cpus", "CPU"},
		{"cpu.mems", r.CpusetMems, "cpuset.mems", "memory node"},
	} {
		if c.value == "" {
			continue
		}
		want, err := parseCpusetList(c.value)
		if err != nil || len(want) == 0 {
			return resourceError(c.field, "%q is not a list of %ss such as 0-3,7", c.value, c.what)
		}
		have, from := parentCpuset(dir, c.file)
		if from == "" {
			continue // no parent to compare with: the kernel checks
		}
		set, err := parseCpusetList(have)
		if err != nil {
			continue
		}
		for _, n := range want {
			if !slices.Contains(set, n) {
				return resourceError(c.field, "%q: refusing to write %s: %s %d is not in %s (%s)",
					c.value, filepath.Join(dir, c.file), c.what, n, filepath.Join(from, c.file), have)
			}
		}
	}
	return nil
}

// parentCpuset returns the nearest non-empty file of dir's ancestors and
// the directory it was read from ("" when none could be read).
func parentCpuset(dir, file string) (value, from string) {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if v, err := readFile(d, file); err == nil && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), d
		}
		if d == filepath.Dir(d) || !hasFile(filepath.Dir(d), file) {
			return "", ""
		}
	}
}

// swappinessUnset is the -1 that Docker passes as an unsigned swappiness
// to mean "leave it": runc skips it too.
const swappinessUnset = math.MaxUint64

func memorySet(r *configs.Resources) bool {
	return r.Memory != 0 || r.MemorySwap != 0 || r.MemoryReservation != 0 ||
		(r.MemorySwappiness != nil && *r.MemorySwappiness != swappinessUnset) || r.OomKillDisable
}

func (m *v1Manager) checkMemory(r *configs.Resources, p *v1Plan) error {
	if !memorySet(r) {
		return nil
	}
	for _, l := range []struct {
		field string
		v     int64
	}{{"memory.limit", r.Memory}, {"memory.reservation", r.MemoryReservation}, {"memory.swap", r.MemorySwap}} {
		if l.v < -1 {
			return resourceError(l.field, "%d is invalid: want -1 (unlimited) or a number of bytes", l.v)
		}
	}
	if s := r.MemorySwappiness; s != nil && *s != swappinessUnset && *s > 100 {
		return resourceError("memory.swappiness", "%d is invalid: want 0 to 100", *s)
	}
	dir, err := m.need("memory", "memory")
	if err != nil || dir == "" {
		return err
	}
	p.memsw = hasFile(dir, "memory.memsw.limit_in_bytes")
	if r.MemorySwap != 0 && !p.memsw {
		return resourceError("memory.swap", "swap is not accounted on this host (no memory.memsw.limit_in_bytes: boot with swapaccount=1): %w", errors.ErrUnsupported)
	}
	// The kernel keeps memory+swap >= memory at every write: check the
	// pair that will be in force.
	mem := r.Memory
	if r.MemorySwap > 0 {
		if mem == 0 {
			cur, err := readCgroupUint(dir, "memory.limit_in_bytes")
			if err != nil {
				return err
			}
			mem = int64(min(cur, math.MaxInt64))
		}
		if mem == -1 || r.MemorySwap < mem {
			limit := strconv.FormatInt(mem, 10)
			if mem == -1 {
				limit = "unlimited"
			}
			return resourceError("memory.swap", "memory+swap limit %d is below the memory limit (%s)", r.MemorySwap, limit)
		}
	}
	if r.Memory > 0 && r.MemorySwap == 0 && p.memsw {
		cur, err := readCgroupUint(dir, "memory.memsw.limit_in_bytes")
		if err != nil {
			return err
		}
		if uint64(r.Memory) > cur {
			return resourceError("memory.limit", "%d is above the memory+swap limit in force (%d): set memory.swap too", r.Memory, cur)
		}
	}
	if r.MemoryCheckBeforeUpdate && r.Memory > 0 {
		usage, err := readCgroupUint(dir, "memory.usage_in_bytes")
		if err != nil {
			return err
		}
		if usage > uint64(r.Memory) {
			return resourceError("memory.limit", "%d is below the current usage %d (checkBeforeUpdate)", r.Memory, usage)
		}
	}
	return nil
}

func cpuSet(r *configs.Resources) bool {
	return r.CPUShares != 0 || r.CPUQuota != 0 || r.CPUPeriod != 0 || r.CPUBurst != nil ||
		r.CPURtRuntime != 0 || r.CPURtPeriod != 0 || r.CPUIdle != nil
}

func (m *v1Manager) checkCPU(r *configs.Resources, _ *v1Plan) error {
	if !cpuSet(r) {
		return nil
	}
	if s := r.CPUShares; s != 0 && (s < minShares || s > maxShares) {
		return resourceError("cpu.shares", "%d is out of range [%d, %d]", s, minShares, maxShares)
	}
	if q := r.CPUQuota; q < -1 || (q > 0 && q < minCFSQuotaUs) {
		return resourceError("cpu.quota", "%d is invalid: want -1 (unlimited) or at least %d µs", q, minCFSQuotaUs)
	}
	if p := r.CPUPeriod; p != 0 && (p < minCFSQuotaUs || p > maxCFSPeriod) {
		return resourceError("cpu.period", "%d is invalid: want %d to %d µs", p, minCFSQuotaUs, maxCFSPeriod)
	}
	if b := r.CPUBurst; b != nil && r.CPUQuota > 0 && *b > uint64(r.CPUQuota) {
		return resourceError("cpu.burst", "%d is above the quota %d", *b, r.CPUQuota)
	}
	if rt := r.CPURtRuntime; rt < -1 {
		return resourceError("cpu.realtimeRuntime", "%d is invalid: want -1 (unlimited) or a number of µs", rt)
	}
	if rt, p := r.CPURtRuntime, r.CPURtPeriod; rt > 0 && p > 0 && uint64(rt) > p {
		return resourceError("cpu.realtimeRuntime", "%d is above the realtime period %d", rt, p)
	}
	if i := r.CPUIdle; i != nil && *i != 0 && *i != 1 {
		return resourceError("cpu.idle", "%d is invalid: want 0 or 1", *i)
	}
	dir, err := m.need("cpu", "cpu")
	if err != nil || dir == "" {
		return err
	}
	for _, f := range []struct {
		set         bool
		field, file string
	}{
		{r.CPUBurst != nil && *r.CPUBurst != 0, "cpu.burst", "cpu.cfs_burst_us"},
		{r.CPUIdle != nil && *r.CPUIdle != 0, "cpu.idle", "cpu.idle"},
		{r.CPURtRuntime != 0 || r.CPURtPeriod != 0, "cpu.realtimeRuntime", "cpu.rt_runtime_us"},
	} {
		if f.set && !hasFile(dir, f.file) {
			return resourceError(f.field, "this kernel has no %s: %w", f.file, errors.ErrUnsupported)
		}
	}
	return nil
}

func (m *v1Manager) checkPids(r *configs.Resources, _ *v1Plan) error {
	if r.PidsLimit == nil {
		return nil
	}
	if l := *r.PidsLimit; l < -1 {
		return resourceError("pids.limit", "%d is invalid: want -1 (unlimited) or a number of tasks", l)
	}
	_, err := m.need("pids", "pids.limit")
	return err
}

func blkioSet(r *configs.Resources) bool {
	return r.BlkioWeight != 0 || r.BlkioLeafWeight != 0 || len(r.BlkioWeightDevice) > 0 ||
		len(r.BlkioThrottleReadBpsDevice) > 0 || len(r.BlkioThrottleWriteBpsDevice) > 0 ||
		len(r.BlkioThrottleReadIOPSDevice) > 0 || len(r.BlkioThrottleWriteIOPSDevice) > 0
}

func (m *v1Manager) checkBlkio(r *configs.Resources, p *v1Plan) error {
	if !blkioSet(r) {
		return nil
	}
	dir, err := m.need("blkio", "blockIO")
	if err != nil || dir == "" {
		return err
	}
	// runc's choice: blkio.weight when the kernel has it (CFQ, before
	// Linux 5.0), else bfq's.
	minWeight := uint16(minCFQWeight)
	switch {
	case hasFile(dir, "blkio.weight"):
		p.weightFile, p.weightDeviceFile = "blkio.weight", "blkio.weight_device"
	case hasFile(dir, "blkio.bfq.weight"):
		p.weightFile, p.weightDeviceFile = "blkio.bfq.weight", "blkio.bfq.weight_device"
		minWeight = minBFQWeight
	}
	weight := func(field string, w, lo uint16, file string) error {
		if w == 0 {
			return nil
		}
		if file == "" || !hasFile(dir, file) {
			return resourceError(field, "this kernel has no blkio weight file (%s): %w", cmp.Or(file, "blkio.weight or blkio.bfq.weight"), errors.ErrUnsupported)
		}
		if w < lo || w > maxBlkWeight {
			return resourceError(field, "%d is out of range [%d, %d]", w, lo, maxBlkWeight)
		}
		return nil
	}
	if err := weight("blockIO.weight", r.BlkioWeight, minWeight, p.weightFile); err != nil {
		return err
	}
	if err := weight("blockIO.leafWeight", r.BlkioLeafWeight, minCFQWeight, "blkio.leaf_weight"); err != nil {
		return err
	}
	for i, d := range r.BlkioWeightDevice {
		field := fmt.Sprintf("blockIO.weightDevice[%d]", i)
		if d == nil {
			return resourceError(field, "missing")
		}
		if d.Weight == 0 && d.LeafWeight == 0 {
			return resourceError(field, "want weight, leafWeight or both")
		}
		if err := blockDevice(field, d.Major, d.Minor); err != nil {
			return err
		}
		if err := weight(field+".weight", d.Weight, minWeight, p.weightDeviceFile); err != nil {
			return err
		}
		if d.Weight != 0 && minWeight == minBFQWeight {
			if err := bfqDevice(field, d.Major, d.Minor); err != nil {
				return err
			}
		}
		if err := weight(field+".leafWeight", d.LeafWeight, minCFQWeight, "blkio.leaf_weight_device"); err != nil {
			return err
		}
	}
	for _, t := range throttles(r) {
		for i, d := range t.devs {
			field := fmt.Sprintf("blockIO.%s[%d]", t.field, i)
			if d == nil {
				return resourceError(field, "missing")
			}
			if err := blockDevice(field, d.Major, d.Minor); err != nil {
				return err
			}
		}
	}
	return nil
}

// blockDevice checks that major:minor is a block device of this host: the
// kernel refuses a limit for any other (ENODEV).
func blockDevice(field string, major, minor int64) error {
	if major < 0 || minor < 0 {
		return resourceError(field, "device %d:%d is invalid", major, minor)
	}
	if _, err := os.Stat(fmt.Sprintf("/sys/dev/block/%d:%d", major, minor)); err != nil {
		return resourceError(field, "no block device %d:%d on this host", major, minor)
	}
	return nil
}

// bfqDevice checks that the device's I/O scheduler is bfq: the kernel
// refuses a bfq weight for any other (EOPNOTSUPP).
func bfqDevice(field string, major, minor int64) error {
	sched, err := os.ReadFile(fmt.Sprintf("/sys/dev/block/%d:%d/queue/scheduler", major, minor))
	if err != nil || !strings.Contains(string(sched), "[bfq]") {
		return resourceError(field, "device %d:%d does not use the bfq I/O scheduler (%s), which per-device weights need on this kernel",
			major, minor, strings.TrimSpace(string(sched)))
	}
	return nil
}

// throttle is one of the four blkio throttle lists.
type throttle struct {
	field, file string
	devs        []*configs.ThrottleDevice
}

func throttles(r *configs.Resources) []throttle {
	return []throttle{
		{"throttleReadBpsDevice", "blkio.throttle.read_bps_device", r.BlkioThrottleReadBpsDevice},
		{"throttleWriteBpsDevice", "blkio.throttle.write_bps_device", r.BlkioThrottleWriteBpsDevice},
		{"throttleReadIOPSDevice", "blkio.throttle.read_iops_device", r.BlkioThrottleReadIOPSDevice},
		{"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", r.BlkioThrottleWriteIOPSDevice},
	}
}

// hugetlbPageSizes returns the host's huge page sizes as the hugetlb
// controller names them ("2MB", "1GB"), read once per process from
// /sys/kernel/mm/hugepages.
var hugetlbPageSizes = sync.OnceValues(func() ([]string, error) {
	ents, err := os.ReadDir("/sys/kernel/mm/hugepages")
	if err != nil {
		return nil, err
	}
	var sizes []string
	for _, e := range ents {
		if s, err := hugePageSizeName(e.Name()); err == nil {
			sizes = append(sizes, s)
		}
	}
	return sizes, nil
})

// checkHugetlb checks the page sizes and finds where the limits go: the v1
// hugetlb hierarchy, or the unified hierarchy of a hybrid host when the
// controller is bound there (runc fails here: its v1 driver only knows
// the v1 hierarchy).
func (m *v1Manager) checkHugetlb(r *configs.Resources, p *v1Plan) error {
	if len(r.HugetlbLimit) == 0 {
		return nil
	}
	sizes, err := hugetlbPageSizes()
	if err != nil {
		return resourceError("hugepageLimits", "huge page sizes: %w", err)
	}
	for i, l := range r.HugetlbLimit {
		field := fmt.Sprintf("hugepageLimits[%d]", i)
		if l == nil {
			return resourceError(field, "missing")
		}
		if !slices.Contains(sizes, l.Pagesize) {
			return resourceError(field+".pageSize", "%q is not a huge page size of this host (%s)", l.Pagesize, strings.Join(sizes, ", "))
		}
	}
	if d := m.paths["hugetlb"]; d != "" {
		p.hugetlbDir = d
		return nil
	}
	if u := m.paths[""]; u != "" && m.unifiedRoot != "" {
		ctrls, err := readFile(m.unifiedRoot, "cgroup.controllers")
		if err == nil && slices.Contains(strings.Fields(ctrls), "hugetlb") {
			p.hugetlbDir, p.hugetlbV2 = u, true
			return nil
		}
	}
	if m.rootless {
		return nil
	}
	return resourceError("hugepageLimits", "the hugetlb cgroup controller is neither mounted nor on the cgroup2 hierarchy: %w", errors.ErrUnsupported)
}

func (m *v1Manager) checkNetwork(r *configs.Resources, _ *v1Plan) error {
	if r.NetClsClassid != 0 {
		if _, err := m.need("net_cls", "network.classID"); err != nil {
			return err
		}
	}
	if len(r.NetPrioIfpriomap) == 0 {
		return nil
	}
	if _, err := m.need("net_prio", "network.priorities"); err != nil {
		return err
	}
	for i, p := range r.NetPrioIfpriomap {
		field := fmt.Sprintf("network.priorities[%d]", i)
		switch {
		case p == nil:
			return resourceError(field, "missing")
		case p.Interface == "" || strings.ContainsAny(p.Interface, " \t\n/"):
			return resourceError(field+".name", "%q is not an interface name", p.Interface)
		case p.Priority < 0 || p.Priority > math.MaxUint32:
			return resourceError(field+".priority", "%d is out of range [0, %d]", p.Priority, uint32(math.MaxUint32))
		}
	}
	return nil
}

func (m *v1Manager) checkRdma(r *configs.Resources, _ *v1Plan) error {
	if len(r.Rdma) == 0 {
		return nil
	}
	if _, err := m.need("rdma", "rdma"); err != nil {
		return err
	}
	for _, dev := range slices.Sorted(maps.Keys(r.Rdma)) {
		field := fmt.Sprintf("rdma[%q]", dev)
		if dev == "" || strings.ContainsAny(dev, " \t\n") {
			return resourceError(field, "%q is not a device name", dev)
		}
		if e := r.Rdma[dev]; e.HcaHandles == nil && e.HcaObjects == nil {
			return resourceError(field, "want hcaHandles, hcaObjects or both")
		}
	}
	return nil
}
