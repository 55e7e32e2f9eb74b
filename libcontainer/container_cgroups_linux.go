package libcontainer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/berthrt/berth/libcontainer/cgroups"
	"github.com/berthrt/berth/libcontainer/configs"
)

// errNoCgroup is returned by the cgroup operations of a container whose
// config has no cgroup.
var errNoCgroup = errors.New("container has no cgroup")

// Stats are a container's usage counters, read by Container.Stats. They
// are runc's libcontainer.Stats without the network interfaces and Intel
// RDT parts: berth configures neither.
type Stats struct {
	// CgroupStats are the counters of the container's cgroup.
	CgroupStats *cgroups.Stats
}

// Stats reads the counters of the container's cgroup. A controller that the
// host lacks leaves its part zero.
func (c *Container) Stats() (*Stats, error) {
	if c.cgroup == nil {
		return nil, errNoCgroup
	}
	cs, err := c.cgroup.GetStats()
	if err != nil {
		return nil, fmt.Errorf("cgroup stats: %w", err)
	}
	return &Stats{CgroupStats: cs}, nil
}

// NotifyOOM returns a channel that receives a value each time the kernel's
// OOM killer acts in the container's cgroup. The channel is closed when the
// cgroup is removed, that is when the container is destroyed.
func (c *Container) NotifyOOM() (<-chan struct{}, error) {
	if c.cgroup == nil {
		return nil, errNoCgroup
	}
	ch, err := c.cgroup.NotifyOOM(context.Background())
	if err != nil {
		return nil, fmt.Errorf("notify on OOM: %w", err)
	}
	return ch, nil
}

// NotifyMemoryPressure is NotifyOOM for memory pressure at level or above
// (cgroup v1 memory.pressure_level; cgroup v2 has no such events and
// returns an error wrapping errors.ErrUnsupported).
func (c *Container) NotifyMemoryPressure(level cgroups.PressureLevel) (<-chan struct{}, error) {
	switch level {
	case cgroups.LowPressure, cgroups.MediumPressure, cgroups.CriticalPressure:
	default:
		return nil, fmt.Errorf("memory pressure level %q: want %s, %s or %s", level,
			cgroups.LowPressure, cgroups.MediumPressure, cgroups.CriticalPressure)
	}
	if c.cgroup == nil {
		return nil, errNoCgroup
	}
	ch, err := c.cgroup.NotifyMemoryPressure(context.Background(), level)
	if err != nil {
		return nil, fmt.Errorf("notify on %s memory pressure: %w", level, err)
	}
	return ch, nil
}

// Set changes the container's cgroup limits to r, then saves r in the
// container's state so that a later Load sees it. r is the whole set of
// limits: Config().Cgroups.Resources with the changes made. As everywhere
// in configs.Resources, a zero field leaves that limit as the kernel has
// it. With r.SkipDevices the device rules are neither written nor changed
// in the saved state.
//
// r is checked before anything is written (a *configs.FieldError names the
// offending resource). When the kernel refuses a value, the previous limits
// are written back (see rollbackResources), the saved state is left as it
// was, and the kernel's error is returned. The container must be created,
// running or paused; a paused container stays paused.
func (c *Container) Set(r configs.Resources) error {
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := c.Status()
	if err != nil {
		return err
	}
	if st == Stopped {
		return ErrNotRunning
	}
	if c.cgroup == nil {
		return errNoCgroup
	}
	if err := validateResources(&r, hostResourceFacts()); err != nil {
		return err
	}
	old := c.config.Cgroups.Resources
	if old == nil {
		old = &configs.Resources{}
	}
	if err := c.cgroup.Set(&r); err != nil {
		if rerr := c.cgroup.Set(rollbackResources(old, &r)); rerr != nil {
			c.logger.Warn("restore the previous cgroup limits after a failed update: "+rerr.Error(), "container", c.id)
		}
		return fmt.Errorf("update cgroup limits: %w", err)
	}
	return c.saveResources(old, &r)
}

// saveResources writes the state with r as the cgroup limits; old are the
// limits saved before.
func (c *Container) saveResources(old, r *configs.Resources) error {
	res := *r
	if r.SkipDevices {
		// The device rules were left alone: keep the saved ones.
		res.Devices, res.SkipDevices = old.Devices, old.SkipDevices
	}
	cg := *c.config.Cgroups
	cg.Resources = &res
	s := *c.state
	s.Config.Cgroups = &cg
	if err := saveState(c.dir, &s); err != nil {
		return err
	}
	c.state = &s
	c.config = &s.Config
	return nil
}

// rollbackResources returns the limits that undo a partly applied update to
// failed: the old limits, plus the kernel's default for each limit that
// failed sets and old does not (a limit absent from the config is at the
// kernel's default in the cgroup berth created). The device rules are
// written back only if failed wrote them. The memory reservation, the
// cpusets, the block I/O, hugetlb and unified limits have no default that
// is the same on v1 and v2 or that berth can know (a cpuset starts as its
// parent's), so an update that introduced one of them and then failed
// leaves it as written.
func rollbackResources(old, failed *configs.Resources) *configs.Resources {
	back := *old
	back.SkipDevices = old.SkipDevices || failed.SkipDevices
	back.MemoryCheckBeforeUpdate = false
	if back.Memory == 0 && failed.Memory != 0 {
		back.Memory = -1
	}
	if back.MemorySwap == 0 && failed.MemorySwap != 0 {
		back.MemorySwap = -1
	}
	if back.PidsLimit == nil && failed.PidsLimit != nil {
		back.PidsLimit = ptrTo[int64](-1)
	}
	// The defaults of kernel/sched/core.c and fair.c: 1024 shares (the v2
	// manager converts them to the default weight, 100), no quota, a
	// 100 ms period, no burst, not SCHED_IDLE.
	if back.CPUShares == 0 && failed.CPUShares != 0 {
		back.CPUShares = 1024
	}
	if back.CPUQuota == 0 && failed.CPUQuota != 0 {
		back.CPUQuota = -1
	}
	if back.CPUPeriod == 0 && failed.CPUPeriod != 0 {
		back.CPUPeriod = 100000
	}
	if back.CPUBurst == nil && failed.CPUBurst != nil {
		back.CPUBurst = ptrTo[uint64](0)
	}
	if back.CPUIdle == nil && failed.CPUIdle != nil {
		back.CPUIdle = ptrTo[int64](0)
	}
	return &back
}

func ptrTo[T any](v T) *T { return &v }

// resourceFacts are the host facts that validateResources checks against.
type resourceFacts struct {
	// cgroupV2 is true on a pure cgroup v2 host.
	cgroupV2 bool
	// onlineCPUs and onlineMems are the kernel's lists of online CPUs and
	// memory nodes ("0-3"); empty when unknown.
	onlineCPUs, onlineMems string
}

func hostResourceFacts() resourceFacts {
	read := func(path string) string {
		data, err := os.ReadFile(path)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(data))
	}
	f := resourceFacts{
		cgroupV2:   cgroups.IsCgroup2UnifiedMode(),
		onlineCPUs: read("/sys/devices/system/cpu/online"),
		onlineMems: read("/sys/devices/system/node/online"),
	}
	if f.onlineMems == "" {
		// A kernel without NUMA has node 0 only.
		f.onlineMems = "0"
	}
	return f
}

// The bounds of the CFS bandwidth controller (kernel/sched/core.c:
// min_cfs_quota_period, max_cfs_quota_period) and of the block I/O weight
// (the OCI runtime spec: "weight ... from 10 to 1000").
const (
	minCFSPeriod   = 1000    // µs
	maxCFSPeriod   = 1000000 // µs
	minCFSQuota    = 1000    // µs
	minBlkioWeight = 10
	maxBlkioWeight = 1000
)

// validateResources checks r as Set must apply it, so that bad input is
// refused before anything is written. It returns a *configs.FieldError
// naming the resource in OCI spelling.
func validateResources(r *configs.Resources, host resourceFacts) error {
	for _, check := range []func(*configs.Resources, resourceFacts) error{
		validateMemory, validateCPU, validateCpuset, validatePidsBlkio,
	} {
		if err := check(r, host); err != nil {
			return err
		}
	}
	if len(r.Unified) > 0 && !host.cgroupV2 {
		return &configs.FieldError{Field: "linux.resources.unified", Err: configs.ErrCgroupV1NoUnified}
	}
	return nil
}

func fieldError(field, format string, args ...any) error {
	return &configs.FieldError{Field: "linux.resources." + field, Err: fmt.Errorf(format, args...)}
}

// limitOrUnlimited checks a limit whose only negative value is -1.
func limitOrUnlimited(field string, v int64, unit string) error {
	if v < -1 {
		return fieldError(field, "%d is invalid: want -1 (unlimited) or a number of %s", v, unit)
	}
	return nil
}

func validateMemory(r *configs.Resources, _ resourceFacts) error {
	for _, l := range []struct {
		field string
		v     int64
	}{
		{"memory.limit", r.Memory},
		{"memory.reservation", r.MemoryReservation},
		{"memory.swap", r.MemorySwap},
	} {
		if err := limitOrUnlimited(l.field, l.v, "bytes"); err != nil {
			return err
		}
	}
	if r.MemorySwap > 0 {
		if r.Memory <= 0 {
			return fieldError("memory.swap", "unable to set swap limit without memory limit")
		}
		if r.MemorySwap < r.Memory {
			return fieldError("memory.swap", "memory+swap limit (%d) should be >= memory limit (%d)", r.MemorySwap, r.Memory)
		}
	}
	if s := r.MemorySwappiness; s != nil && *s > 100 {
		return fieldError("memory.swappiness", "%d is invalid: want 0 to 100", *s)
	}
	return nil
}

func validateCPU(r *configs.Resources, _ resourceFacts) error {
	if q := r.CPUQuota; q < -1 || (q > 0 && q < minCFSQuota) {
		return fieldError("cpu.quota", "%d is invalid: want -1 (unlimited) or at least %d µs", q, minCFSQuota)
	}
	if p := r.CPUPeriod; p != 0 && (p < minCFSPeriod || p > maxCFSPeriod) {
		return fieldError("cpu.period", "%d is invalid: want %d to %d µs", p, minCFSPeriod, maxCFSPeriod)
	}
	if err := limitOrUnlimited("cpu.realtimeRuntime", r.CPURtRuntime, "µs"); err != nil {
		return err
	}
	if rt, p := r.CPURtRuntime, r.CPURtPeriod; rt > 0 && p > 0 && uint64(rt) > p {
		return fieldError("cpu.realtimeRuntime", "%d is above the realtime period (%d)", rt, p)
	}
	if i := r.CPUIdle; i != nil && *i != 0 && *i != 1 {
		return fieldError("cpu.idle", "%d is invalid: want 0 or 1", *i)
	}
	return nil
}

func validateCpuset(r *configs.Resources, host resourceFacts) error {
	for _, s := range []struct {
		field, value, online, what string
	}{
		{"cpu.cpus", r.CpusetCpus, host.onlineCPUs, "CPU"},
		{"cpu.mems", r.CpusetMems, host.onlineMems, "memory node"},
	} {
		if s.value == "" {
			continue
		}
		want, err := parseKernelList(s.value)
		if err != nil {
			return fieldError(s.field, "%q: %v", s.value, err)
		}
		if s.online == "" {
			continue
		}
		online, err := parseKernelList(s.online)
		if err != nil {
			continue // an unreadable host list checks nothing
		}
		if n, ok := want.within(online); !ok {
			return fieldError(s.field, "%q: %s %d is not online (online: %s)", s.value, s.what, n, s.online)
		}
	}
	return nil
}

func validatePidsBlkio(r *configs.Resources, _ resourceFacts) error {
	if p := r.PidsLimit; p != nil {
		if err := limitOrUnlimited("pids.limit", *p, "tasks"); err != nil {
			return err
		}
	}
	weight := func(field string, w uint16) error {
		if w != 0 && (w < minBlkioWeight || w > maxBlkioWeight) {
			return fieldError(field, "%d is out of range [%d, %d]", w, minBlkioWeight, maxBlkioWeight)
		}
		return nil
	}
	if err := weight("blockIO.weight", r.BlkioWeight); err != nil {
		return err
	}
	if err := weight("blockIO.leafWeight", r.BlkioLeafWeight); err != nil {
		return err
	}
	for i, d := range r.BlkioWeightDevice {
		if d == nil {
			return fieldError(fmt.Sprintf("blockIO.weightDevice[%d]", i), "missing")
		}
		if err := weight(fmt.Sprintf("blockIO.weightDevice[%d].weight", i), d.Weight); err != nil {
			return err
		}
		if err := weight(fmt.Sprintf("blockIO.weightDevice[%d].leafWeight", i), d.LeafWeight); err != nil {
			return err
		}
	}
	return nil
}

// kernelList is a parsed kernel list of numbers ("0-3,8,10-15:2/4"): a
// union of ranges, each optionally taking the first used of every group
// of numbers (lib/bitmap.c, bitmap_parselist).
type kernelList []listRange

type listRange struct {
	lo, hi, used, group uint64
}

// maxListNumber bounds the numbers of a list, far above any CPU or node
// number (NR_CPUS is at most 8192), so that checks stay cheap.
const maxListNumber = 1 << 16

func parseKernelList(s string) (kernelList, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty list")
	}
	var l kernelList
	for part := range strings.SplitSeq(s, ",") {
		r, err := parseListRange(part)
		if err != nil {
			return nil, err
		}
		l = append(l, r)
	}
	return l, nil
}

func parseListRange(part string) (listRange, error) {
	num := func(s string) (uint64, error) {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n > maxListNumber {
			return 0, fmt.Errorf("%q is not a valid number", s)
		}
		return n, nil
	}
	rng, stride, hasStride := strings.Cut(part, ":")
	lo, hi, isRange := strings.Cut(rng, "-")
	r := listRange{}
	var err error
	if r.lo, err = num(lo); err != nil {
		return r, err
	}
	r.hi = r.lo
	if isRange {
		if r.hi, err = num(hi); err != nil {
			return r, err
		}
		if r.hi < r.lo {
			return r, fmt.Errorf("range %q ends before it starts", rng)
		}
	}
	r.used, r.group = 1, 1
	if hasStride {
		u, g, ok := strings.Cut(stride, "/")
		if !ok || !isRange {
			return r, fmt.Errorf("%q: want a range with used/group", part)
		}
		if r.used, err = num(u); err != nil {
			return r, err
		}
		if r.group, err = num(g); err != nil {
			return r, err
		}
		if r.used == 0 || r.group == 0 || r.used > r.group {
			return r, fmt.Errorf("%q: want 0 < used <= group", part)
		}
	}
	return r, nil
}

func (r listRange) contains(n uint64) bool {
	return n >= r.lo && n <= r.hi && (n-r.lo)%r.group < r.used
}

func (l kernelList) contains(n uint64) bool {
	for _, r := range l {
		if r.contains(n) {
			return true
		}
	}
	return false
}

// within reports whether every member of l is in other, and if not the
// first that is not.
func (l kernelList) within(other kernelList) (uint64, bool) {
	for _, r := range l {
		for n := r.lo; n <= r.hi; n++ {
			if r.contains(n) && !other.contains(n) {
				return n, false
			}
		}
	}
	return 0, true
}
