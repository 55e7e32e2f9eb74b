package cgroups

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// The writes of a v1 Set, one function per controller, called in runc's
// order (cpuset, devices, memory, cpu, pids, blkio, hugetlb, net_cls,
// net_prio, rdma) after checkV1 has accepted the whole request. A zero
// field is left alone.

// dir returns ctrl's directory, or an error when a limit needs it and the
// controller is not mounted ("" and no error for a rootless manager, which
// skips it).
func (m *v1Manager) dir(ctrl string) (string, error) {
	return m.need(ctrl, ctrl)
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

func (m *v1Manager) setCpuset(r *configs.Resources, _ *v1Plan) error {
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

func (m *v1Manager) setMemory(r *configs.Resources, p *v1Plan) error {
	if !memorySet(r) {
		return nil
	}
	dir, err := m.dir("memory")
	if err != nil || dir == "" {
		return err
	}
	if err := m.setMemoryLimits(dir, r.Memory, r.MemorySwap, p.memsw); err != nil {
		return err
	}
	if r.MemoryReservation != 0 {
		if err := m.write(dir, "memory.soft_limit_in_bytes", strconv.FormatInt(r.MemoryReservation, 10)); err != nil {
			return err
		}
	}
	// As runc: disableOOMKiller false leaves the setting alone.
	if r.OomKillDisable {
		if err := m.write(dir, "memory.oom_control", "1"); err != nil {
			return err
		}
	}
	if s := r.MemorySwappiness; s != nil && *s != swappinessUnset {
		return m.write(dir, "memory.swappiness", strconv.FormatUint(*s, 10))
	}
	return nil
}

// setMemoryLimits writes memory.limit_in_bytes and
// memory.memsw.limit_in_bytes (memory plus swap). The kernel keeps memsw
// at or above the memory limit at every write, so, as runc does, memsw goes
// first when it grows past the memory limit in force, and last otherwise.
// An unlimited memory without a swap value makes memory+swap unlimited
// too, where swap is accounted.
func (m *v1Manager) setMemoryLimits(dir string, mem, swap int64, memsw bool) error {
	if mem == -1 && swap == 0 && memsw {
		swap = -1
	}
	writeSwap := func() error {
		if swap == 0 {
			return nil
		}
		return m.write(dir, "memory.memsw.limit_in_bytes", strconv.FormatInt(swap, 10))
	}
	writeMem := func() error { return m.writeMemoryLimit(dir, mem) }
	first, second := writeMem, writeSwap
	if mem != 0 && swap != 0 {
		cur, err := readCgroupUint(dir, "memory.limit_in_bytes")
		if err != nil {
			return err
		}
		if swap == -1 || cur < uint64(swap) {
			first, second = writeSwap, writeMem
		}
	}
	if err := first(); err != nil {
		return err
	}
	return second()
}

// writeMemoryLimit writes memory.limit_in_bytes. The kernel answers EBUSY
// when it cannot reclaim the cgroup's memory down to the new limit.
func (m *v1Manager) writeMemoryLimit(dir string, mem int64) error {
	if mem == 0 {
		return nil
	}
	err := m.write(dir, "memory.limit_in_bytes", strconv.FormatInt(mem, 10))
	if !errors.Is(err, unix.EBUSY) {
		return err
	}
	usage, _ := readCgroupUint(dir, "memory.usage_in_bytes")
	peak, _ := readCgroupUint(dir, "memory.max_usage_in_bytes")
	return fmt.Errorf("unable to set memory limit to %d (current usage: %d, peak usage: %d): %w", mem, usage, peak, err)
}

func (m *v1Manager) setCPU(r *configs.Resources, _ *v1Plan) error {
	if !cpuSet(r) {
		return nil
	}
	dir, err := m.dir("cpu")
	if err != nil || dir == "" {
		return err
	}
	// The kernel refuses cpu.shares while the group is SCHED_IDLE
	// (sched_group_set_shares, kernel/sched/fair.c): a group leaving idle
	// does so first, one entering it gets its shares before.
	idle := func() error {
		if r.CPUIdle == nil || (*r.CPUIdle == 0 && !hasFile(dir, "cpu.idle")) {
			return nil
		}
		return m.write(dir, "cpu.idle", strconv.FormatInt(*r.CPUIdle, 10))
	}
	leavingIdle := r.CPUIdle != nil && *r.CPUIdle == 0
	if leavingIdle {
		if err := idle(); err != nil {
			return err
		}
	}
	if r.CPUShares != 0 {
		if err := m.write(dir, "cpu.shares", strconv.FormatUint(r.CPUShares, 10)); err != nil {
			return err
		}
	}
	if err := m.setCFS(dir, r); err != nil {
		return err
	}
	if !leavingIdle {
		if err := idle(); err != nil {
			return err
		}
	}
	return m.setRtSched(dir, r.CPURtRuntime, r.CPURtPeriod)
}

// setCFS writes the CFS bandwidth: cpu.cfs_period_us, cpu.cfs_burst_us and
// cpu.cfs_quota_us. The kernel checks the three together, and the
// hierarchy, at every write, so a period or burst that is refused (EINVAL)
// while a quota comes too is written again after the quota, as runc does.
func (m *v1Manager) setCFS(dir string, r *configs.Resources) error {
	var period, burst string
	retry := func(err error) error {
		if errors.Is(err, unix.EINVAL) && r.CPUQuota != 0 {
			return nil
		}
		return err
	}
	if r.CPUPeriod != 0 {
		period = strconv.FormatUint(r.CPUPeriod, 10)
		err := m.write(dir, "cpu.cfs_period_us", period)
		if err == nil {
			period = ""
		} else if err := retry(err); err != nil {
			return err
		}
	}
	if b := r.CPUBurst; b != nil && (*b != 0 || hasFile(dir, "cpu.cfs_burst_us")) {
		burst = strconv.FormatUint(*b, 10)
		err := m.write(dir, "cpu.cfs_burst_us", burst)
		if err == nil {
			burst = ""
		} else if err := retry(err); err != nil {
			return err
		}
	}
	if r.CPUQuota == 0 {
		return nil
	}
	if err := m.write(dir, "cpu.cfs_quota_us", strconv.FormatInt(r.CPUQuota, 10)); err != nil {
		return err
	}
	if period != "" {
		if err := m.write(dir, "cpu.cfs_period_us", period); err != nil {
			return err
		}
	}
	if burst != "" {
		return m.write(dir, "cpu.cfs_burst_us", burst)
	}
	return nil
}

// setRtSched writes cpu.rt_period_us and cpu.rt_runtime_us, the period
// first; a period refused because the runtime in force does not fit is
// written again after the runtime, as runc does. runc also writes these
// in Apply before the process joins: a SCHED_RR or SCHED_FIFO task cannot
// join a group without realtime runtime.
func (m *v1Manager) setRtSched(dir string, runtime int64, period uint64) error {
	var p string
	if period != 0 {
		p = strconv.FormatUint(period, 10)
		err := m.write(dir, "cpu.rt_period_us", p)
		if err == nil {
			p = ""
		} else if !errors.Is(err, unix.EINVAL) || runtime == 0 {
			return rtError(dir, err)
		}
	}
	if runtime == 0 {
		return nil
	}
	if err := m.write(dir, "cpu.rt_runtime_us", strconv.FormatInt(runtime, 10)); err != nil {
		return rtError(dir, err)
	}
	if p != "" {
		return rtError(dir, m.write(dir, "cpu.rt_period_us", p))
	}
	return nil
}

// rtError explains the usual EINVAL of a realtime write: the kernel gives a
// new cgroup no realtime runtime, and the runtimes of a cgroup's children
// must fit in its own (sched_rt_global_constraints), so each parent needs
// one first. runc leaves that to whoever made the parents, and so does
// berth: it does not create realtime bandwidth for others.
func rtError(dir string, err error) error {
	if !errors.Is(err, unix.EINVAL) {
		return err
	}
	parent := filepath.Dir(dir)
	v, rerr := readFile(parent, "cpu.rt_runtime_us")
	if rerr != nil {
		return err
	}
	return fmt.Errorf("%w (the parent cgroup %s has cpu.rt_runtime_us %s: the realtime runtimes of its children must fit in it)", err, parent, v)
}

// setPids writes pids.max (see pidsMax).
func (m *v1Manager) setPids(r *configs.Resources, _ *v1Plan) error {
	if r.PidsLimit == nil {
		return nil
	}
	dir, err := m.dir("pids")
	if err != nil {
		return err
	}
	return m.write(dir, "pids.max", pidsMax(*r.PidsLimit))
}

func (m *v1Manager) setBlkio(r *configs.Resources, p *v1Plan) error {
	if !blkioSet(r) {
		return nil
	}
	dir, err := m.dir("blkio")
	if err != nil || dir == "" {
		return err
	}
	var writes [][2]string
	add := func(file, value string) { writes = append(writes, [2]string{file, value}) }
	if r.BlkioWeight != 0 {
		add(p.weightFile, strconv.FormatUint(uint64(r.BlkioWeight), 10))
	}
	if r.BlkioLeafWeight != 0 {
		add("blkio.leaf_weight", strconv.FormatUint(uint64(r.BlkioLeafWeight), 10))
	}
	for _, d := range r.BlkioWeightDevice {
		if d.Weight != 0 {
			add(p.weightDeviceFile, fmt.Sprintf("%d:%d %d", d.Major, d.Minor, d.Weight))
		}
		if d.LeafWeight != 0 {
			add("blkio.leaf_weight_device", fmt.Sprintf("%d:%d %d", d.Major, d.Minor, d.LeafWeight))
		}
	}
	for _, t := range throttles(r) {
		for _, d := range t.devs {
			add(t.file, fmt.Sprintf("%d:%d %d", d.Major, d.Minor, d.Rate))
		}
	}
	for _, w := range writes {
		if err := m.write(dir, w[0], w[1]); err != nil {
			return err
		}
	}
	return nil
}

// setHugetlb writes each page size's limit, and the same reservation
// limit where the kernel has one (Linux 5.7), as runc does. On the unified
// hierarchy of a hybrid host the files are hugetlb.<size>.max and
// hugetlb.<size>.rsvd.max, and the controller is enabled in the parents
// first.
func (m *v1Manager) setHugetlb(r *configs.Resources, p *v1Plan) error {
	if len(r.HugetlbLimit) == 0 || p.hugetlbDir == "" {
		return nil
	}
	limit, rsvd := ".limit_in_bytes", ".rsvd.limit_in_bytes"
	if p.hugetlbV2 {
		limit, rsvd = ".max", ".rsvd.max"
		if err := enableV2Controllers(m.unifiedRoot, p.hugetlbDir, []string{"hugetlb"}); err != nil && !m.ignore(err) {
			return err
		}
	}
	skipRsvd := false
	for _, l := range r.HugetlbLimit {
		prefix := "hugetlb." + l.Pagesize
		v := strconv.FormatUint(l.Limit, 10)
		if err := m.write(p.hugetlbDir, prefix+limit, v); err != nil {
			return err
		}
		if skipRsvd {
			continue
		}
		if err := m.write(p.hugetlbDir, prefix+rsvd, v); err != nil {
			if !errors.Is(err, unix.ENOENT) {
				return err
			}
			skipRsvd = true
		}
	}
	return nil
}

// setNetwork writes net_cls.classid and net_prio.ifpriomap ("IFACE PRIO",
// one interface a write).
func (m *v1Manager) setNetwork(r *configs.Resources, _ *v1Plan) error {
	if r.NetClsClassid != 0 {
		dir, err := m.dir("net_cls")
		if err != nil {
			return err
		}
		if err := m.write(dir, "net_cls.classid", strconv.FormatUint(uint64(r.NetClsClassid), 10)); err != nil {
			return err
		}
	}
	if len(r.NetPrioIfpriomap) == 0 {
		return nil
	}
	dir, err := m.dir("net_prio")
	if err != nil {
		return err
	}
	for _, p := range r.NetPrioIfpriomap {
		if err := m.write(dir, "net_prio.ifpriomap", p.Interface+" "+strconv.FormatInt(p.Priority, 10)); err != nil {
			return err
		}
	}
	return nil
}

// setRdma writes rdma.max, one device a write, in name order.
func (m *v1Manager) setRdma(r *configs.Resources, _ *v1Plan) error {
	if len(r.Rdma) == 0 {
		return nil
	}
	dir, err := m.dir("rdma")
	if err != nil {
		return err
	}
	for _, dev := range slices.Sorted(maps.Keys(r.Rdma)) {
		if err := m.write(dir, "rdma.max", rdmaLine(dev, r.Rdma[dev])); err != nil {
			return err
		}
	}
	return nil
}

// rdmaLine is the rdma.max line for one device: "mlx4_0 hca_handle=2
// hca_object=2000", with only the limits that are set.
func rdmaLine(dev string, e configs.RdmaEntry) string {
	s := dev
	if e.HcaHandles != nil {
		s += " hca_handle=" + strconv.FormatUint(uint64(*e.HcaHandles), 10)
	}
	if e.HcaObjects != nil {
		s += " hca_object=" + strconv.FormatUint(uint64(*e.HcaObjects), 10)
	}
	return s
}
