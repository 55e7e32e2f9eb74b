package cgroups

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/berthrt/berth/libcontainer/configs"
)

// This file turns configs.Resources into the interface file writes of a
// cgroup v2 Set, with runc's conversions from the OCI (cgroup v1) values
// (the fs2 driver of github.com/opencontainers/cgroups). It only plans and
// checks the values: the choices that depend on the host (BFQ or io.weight,
// swap accounting, huge page sizes) are made in fs2_linux.go from each
// write's cond, before anything is written. See the kernel's
// Documentation/admin-guide/cgroup-v2.rst for the files.
//
// Limits that cgroup v2 has no file for: memory.swappiness,
// memory.disableOOMKiller and the block I/O leaf weights are ignored, as
// runc ignores them (v2 has no per-cgroup swappiness and no way to turn
// the OOM killer off, and leaf weights belonged to the CFQ scheduler, gone
// since Linux 5.0). The CPU realtime limits and the network class and
// priorities, which runc also drops on v2, are refused instead with an
// error wrapping errors.ErrUnsupported, as crun refuses realtime: a
// container that asked for realtime bandwidth or for tagged traffic would
// silently run without it.

// writeCond says how a planned write depends on the host.
type writeCond uint8

const (
	// condAlways writes the file, which must exist.
	condAlways writeCond = iota
	// condOptional skips the write when the file is missing.
	condOptional
	// condAlt writes alt instead when the file is missing.
	condAlt
	// condBFQDevice writes a per-device weight to io.bfq.weight when BFQ
	// takes per-device weights (Linux 5.4, commit 795fe54c2a82), and alt
	// (io.weight) otherwise.
	condBFQDevice
)

// v2write is one planned write of a v2 Set.
type v2write struct {
	// field names the resource in OCI spelling, for errors.
	field string
	// ctrl is the controller that must be enabled for the file; "" for
	// the core cgroup.* files.
	ctrl  string
	file  string
	value string
	// key is the key of the line written to a keyed file (io.max,
	// io.weight, io.bfq.weight, rdma.max): "8:0", "mlx4_0", "default".
	// A failed Set restores that line alone.
	key  string
	cond writeCond
	alt  *v2write
	// missing explains a missing file that the write needs.
	missing string
	// retry retries an EINVAL once after the other writes: the kernel
	// checks cpu.max.burst against the current quota, which a later
	// write of cpu.max may be about to raise.
	retry bool
	// keepQuota means that value is a CFS period alone: the write keeps
	// the quota that cpu.max has, as v1's separate cpu.cfs_period_us
	// does.
	keepQuota bool
}

// The bounds that the kernel enforces on cgroup v2 values
// (kernel/sched/core.c: min_cfs_quota_period, max_cfs_quota_period; the OCI
// runtime spec: block I/O weights from 10 to 1000).
const (
	v2MinCFSQuota    = 1000
	v2MinCFSPeriod   = 1000
	v2MaxCFSPeriod   = 1000000
	v2MinBlkioWeight = 10
	v2MaxBlkioWeight = 1000
)

// planV2 checks r and returns the writes that apply it on cgroup v2, in
// runc's order: pids, memory, io, cpu, cpuset, hugetlb, rdma, then the
// unified map, whose writes therefore win over the fields above. Device
// rules are not files: fs2_linux.go checks and applies them.
func planV2(r *configs.Resources) ([]v2write, error) {
	var p v2plan
	for _, step := range []func(*configs.Resources) error{
		p.refuse, p.pids, p.memory, p.io, p.cpu, p.cpuset, p.hugetlb, p.rdma, p.unified,
	} {
		if err := step(r); err != nil {
			return nil, err
		}
	}
	return p.w, nil
}

type v2plan struct {
	w []v2write
}

func (p *v2plan) add(w v2write) { p.w = append(p.w, w) }

// v2Err returns an error naming the resource "linux.resources."+field.
func v2Err(field string, err error) error {
	return &configs.FieldError{Field: "linux.resources." + field, Err: err}
}

func v2Errf(field, format string, args ...any) error {
	return v2Err(field, fmt.Errorf(format, args...))
}

// refuse refuses the limits that cgroup v2 has no file for.
func (p *v2plan) refuse(r *configs.Resources) error {
	if r.CPURtRuntime != 0 {
		return v2Errf("cpu.realtimeRuntime", "realtime CPU bandwidth is a cgroup v1 limit: %w", errors.ErrUnsupported)
	}
	if r.CPURtPeriod != 0 {
		return v2Errf("cpu.realtimePeriod", "realtime CPU bandwidth is a cgroup v1 limit: %w", errors.ErrUnsupported)
	}
	if r.NetClsClassid != 0 {
		return v2Errf("network.classID", "net_cls is a cgroup v1 controller: %w", errors.ErrUnsupported)
	}
	if len(r.NetPrioIfpriomap) > 0 {
		return v2Errf("network.priorities", "net_prio is a cgroup v1 controller: %w", errors.ErrUnsupported)
	}
	return nil
}

// v2CheckLimit checks a limit where -1 means unlimited and 0 unset.
func v2CheckLimit(field string, v int64, unit string) error {
	if v < -1 {
		return v2Errf(field, "%d is invalid: want -1 (unlimited) or a number of %s", v, unit)
	}
	return nil
}

func (p *v2plan) pids(r *configs.Resources) error {
	if r.PidsLimit == nil {
		return nil
	}
	if err := v2CheckLimit("pids.limit", *r.PidsLimit, "tasks"); err != nil {
		return err
	}
	p.add(v2write{field: "pids.limit", ctrl: "pids", file: "pids.max", value: pidsMax(*r.PidsLimit)})
	return nil
}

func (p *v2plan) memory(r *configs.Resources) error {
	if err := v2CheckLimit("memory.limit", r.Memory, "bytes"); err != nil {
		return err
	}
	if err := v2CheckLimit("memory.reservation", r.MemoryReservation, "bytes"); err != nil {
		return err
	}
	if s := r.MemorySwappiness; s != nil && *s > 100 {
		return v2Errf("memory.swappiness", "%d is invalid: want 0 to 100", *s)
	}
	swap, setSwap, err := swapToV2(r.MemorySwap, r.Memory)
	if err != nil {
		return v2Err("memory.swap", err)
	}
	if setSwap {
		w := v2write{
			field: "memory.swap", ctrl: "memory", file: "memory.swap.max", value: swap,
			missing: "swap accounting is off in this kernel (CONFIG_MEMCG_SWAP, swapaccount=0)",
		}
		if swap == "max" || swap == "0" {
			// Without swap accounting there is no swap to limit: runc
			// too ignores a missing file for these two values.
			w.cond = condOptional
		}
		p.add(w)
	}
	if r.Memory != 0 {
		p.add(v2write{field: "memory.limit", ctrl: "memory", file: "memory.max", value: limitString(r.Memory)})
	}
	if r.MemoryReservation != 0 {
		p.add(v2write{field: "memory.reservation", ctrl: "memory", file: "memory.low", value: limitString(r.MemoryReservation)})
	}
	return nil
}

// v2DeviceKey formats a block device's numbers as the io files key them.
func v2DeviceKey(field string, major, minor int64) (string, error) {
	if major < 0 || minor < 0 || major > 1<<32-1 || minor > 1<<32-1 {
		return "", v2Errf(field, "device %d:%d: want the numbers of one block device", major, minor)
	}
	return strconv.FormatInt(major, 10) + ":" + strconv.FormatInt(minor, 10), nil
}

func v2CheckWeight(field string, w uint16) error {
	if w < v2MinBlkioWeight || w > v2MaxBlkioWeight {
		return v2Errf(field, "%d is out of range [%d, %d]", w, v2MinBlkioWeight, v2MaxBlkioWeight)
	}
	return nil
}

func (p *v2plan) io(r *configs.Resources) error {
	if w := r.BlkioWeight; w != 0 {
		if err := v2CheckWeight("blockIO.weight", w); err != nil {
			return err
		}
		// BFQ takes the OCI weight as it is; io.weight (the iocost
		// controller) gets runc's linear conversion.
		p.add(v2write{
			field: "blockIO.weight", ctrl: "io", file: "io.bfq.weight", key: "default",
			value: strconv.FormatUint(uint64(w), 10), cond: condAlt,
			alt: &v2write{
				field: "blockIO.weight", ctrl: "io", file: "io.weight", key: "default",
				value:   strconv.FormatUint(blkioWeightToIOWeight(w), 10),
				missing: "neither the BFQ scheduler nor the iocost controller is available (no io.bfq.weight or io.weight)",
			},
		})
	}
	for i, d := range r.BlkioWeightDevice {
		field := fmt.Sprintf("blockIO.weightDevice[%d]", i)
		if d == nil {
			return v2Errf(field, "missing")
		}
		if d.Weight == 0 {
			continue // a leaf weight alone: no v2 equivalent
		}
		if err := v2CheckWeight(field+".weight", d.Weight); err != nil {
			return err
		}
		dev, err := v2DeviceKey(field, d.Major, d.Minor)
		if err != nil {
			return err
		}
		p.add(v2write{
			field: field, ctrl: "io", file: "io.bfq.weight", key: dev,
			value: dev + " " + strconv.FormatUint(uint64(d.Weight), 10), cond: condBFQDevice,
			alt: &v2write{
				field: field, ctrl: "io", file: "io.weight", key: dev,
				value:   dev + " " + strconv.FormatUint(blkioWeightToIOWeight(d.Weight), 10),
				missing: "per-device weights need the BFQ scheduler (Linux 5.4) or the iocost controller",
			},
		})
	}
	for _, t := range []struct {
		field, key string
		devs       []*configs.ThrottleDevice
	}{
		{"blockIO.throttleReadBpsDevice", "rbps", r.BlkioThrottleReadBpsDevice},
		{"blockIO.throttleWriteBpsDevice", "wbps", r.BlkioThrottleWriteBpsDevice},
		{"blockIO.throttleReadIOPSDevice", "riops", r.BlkioThrottleReadIOPSDevice},
		{"blockIO.throttleWriteIOPSDevice", "wiops", r.BlkioThrottleWriteIOPSDevice},
	} {
		for i, d := range t.devs {
			field := fmt.Sprintf("%s[%d]", t.field, i)
			if d == nil {
				return v2Errf(field, "missing")
			}
			dev, err := v2DeviceKey(field, d.Major, d.Minor)
			if err != nil {
				return err
			}
			// A rate of 0 removes a v1 throttle; io.max spells that "max"
			// and refuses 0 with ERANGE and 1 with EINVAL
			// (blk-throttle.c, tg_set_limit).
			rate := "max"
			switch d.Rate {
			case 0:
			case 1:
				return v2Errf(field+".rate", "1 is invalid on cgroup v2: want 0 (no limit) or at least 2")
			default:
				rate = strconv.FormatUint(d.Rate, 10)
			}
			p.add(v2write{field: field, ctrl: "io", file: "io.max", key: dev, value: dev + " " + t.key + "=" + rate})
		}
	}
	return nil
}

func (p *v2plan) cpu(r *configs.Resources) error {
	if i := r.CPUIdle; i != nil {
		if *i != 0 && *i != 1 {
			return v2Errf("cpu.idle", "%d is invalid: want 0 or 1", *i)
		}
		p.add(v2write{
			field: "cpu.idle", ctrl: "cpu", file: "cpu.idle", value: strconv.FormatInt(*i, 10),
			missing: "cpu.idle needs Linux 5.15",
		})
	}
	if w := sharesToWeight(r.CPUShares); w != 0 {
		p.add(v2write{field: "cpu.shares", ctrl: "cpu", file: "cpu.weight", value: strconv.FormatUint(w, 10)})
	}
	q, period := r.CPUQuota, r.CPUPeriod
	if q < -1 || (q > 0 && q < v2MinCFSQuota) {
		return v2Errf("cpu.quota", "%d is invalid: want -1 (unlimited) or at least %d µs", q, v2MinCFSQuota)
	}
	if period != 0 && (period < v2MinCFSPeriod || period > v2MaxCFSPeriod) {
		return v2Errf("cpu.period", "%d is invalid: want %d to %d µs", period, v2MinCFSPeriod, v2MaxCFSPeriod)
	}
	if b := r.CPUBurst; b != nil {
		p.add(v2write{
			field: "cpu.burst", ctrl: "cpu", file: "cpu.max.burst", value: strconv.FormatUint(*b, 10),
			retry: q != 0, missing: "cpu.max.burst needs Linux 5.14",
		})
	}
	switch {
	case q != 0:
		// cpu.max is "$QUOTA $PERIOD"; without a period the kernel keeps
		// the current one.
		v := limitString(q)
		if period != 0 {
			v += " " + strconv.FormatUint(period, 10)
		}
		p.add(v2write{field: "cpu.quota", ctrl: "cpu", file: "cpu.max", value: v})
	case period != 0:
		p.add(v2write{field: "cpu.period", ctrl: "cpu", file: "cpu.max", value: strconv.FormatUint(period, 10), keepQuota: true})
	}
	return nil
}

func (p *v2plan) cpuset(r *configs.Resources) error {
	// The kernel parses the lists and refuses CPUs and nodes that do not
	// exist (EINVAL), before anything else of the Set is kept.
	if r.CpusetCpus != "" {
		p.add(v2write{field: "cpu.cpus", ctrl: "cpuset", file: "cpuset.cpus", value: r.CpusetCpus})
	}
	if r.CpusetMems != "" {
		p.add(v2write{field: "cpu.mems", ctrl: "cpuset", file: "cpuset.mems", value: r.CpusetMems})
	}
	return nil
}

// v2ValidName reports whether s can be used as one word of an interface
// file's name or line: not empty, no path separator, no blank.
func v2ValidName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/ \t\n\x00")
}

func (p *v2plan) hugetlb(r *configs.Resources) error {
	for i, l := range r.HugetlbLimit {
		field := fmt.Sprintf("hugepageLimits[%d]", i)
		if l == nil {
			return v2Errf(field, "missing")
		}
		if !v2ValidName(l.Pagesize) || strings.Contains(l.Pagesize, ".") {
			return v2Errf(field+".pageSize", "%q is not a huge page size (\"2MB\", \"1GB\")", l.Pagesize)
		}
		v := strconv.FormatUint(l.Limit, 10)
		missing := "huge page size " + l.Pagesize + " is not supported by this host"
		p.add(v2write{field: field, ctrl: "hugetlb", file: "hugetlb." + l.Pagesize + ".max", value: v, missing: missing})
		// The reservation limit (Linux 5.7) gets the same value, as runc
		// writes it, so that reserved but unfaulted pages count too.
		p.add(v2write{field: field, ctrl: "hugetlb", file: "hugetlb." + l.Pagesize + ".rsvd.max", value: v, cond: condOptional})
	}
	return nil
}

func (p *v2plan) rdma(r *configs.Resources) error {
	for _, dev := range slices.Sorted(maps.Keys(r.Rdma)) {
		field := "rdma." + dev
		if !v2ValidName(dev) || strings.Contains(dev, "=") {
			return v2Errf(field, "%q is not an RDMA device name", dev)
		}
		e := r.Rdma[dev]
		v := dev
		if e.HcaHandles != nil {
			v += " hca_handle=" + strconv.FormatUint(uint64(*e.HcaHandles), 10)
		}
		if e.HcaObjects != nil {
			v += " hca_object=" + strconv.FormatUint(uint64(*e.HcaObjects), 10)
		}
		p.add(v2write{field: field, ctrl: "rdma", file: "rdma.max", key: dev, value: v})
	}
	return nil
}

// unified plans the raw writes of the unified map. As in runc, a key is
// the name of an interface file of the cgroup (CONTROLLER.PARAMETER) and a
// value of several lines is written a line at a time; the OCI runtime spec
// asks the runtime to enable the controller and to fail when it cannot.
func (p *v2plan) unified(r *configs.Resources) error {
	for _, k := range slices.Sorted(maps.Keys(r.Unified)) {
		field := fmt.Sprintf("unified[%q]", k)
		ctrl, param, ok := strings.Cut(k, ".")
		if !v2ValidName(k) || !ok || ctrl == "" || param == "" {
			return v2Errf(field, "not the name of a cgroup interface file (CONTROLLER.PARAMETER, no \"/\")")
		}
		if ctrl == "cgroup" {
			ctrl = ""
		}
		lines := strings.Split(strings.TrimSuffix(r.Unified[k], "\n"), "\n")
		for _, line := range lines {
			p.add(v2write{field: field, ctrl: ctrl, file: k, value: line, missing: "no such interface file"})
		}
	}
	return nil
}
