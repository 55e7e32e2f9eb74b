package specconv

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berthrt/berth/libcontainer/configs"
)

// systemdScopePrefix names the systemd scope of a container whose spec has
// no cgroupsPath: "berth-<id>.scope".
const systemdScopePrefix = "berth"

// convertCgroup builds the container's cgroup: where it is (cgroupPlacement)
// and its limits (linux.resources), followed by the default device rules.
func convertCgroup(opts *CreateOpts, log *slog.Logger, defaultRules []*configs.DeviceRule) (*configs.Cgroup, error) {
	c := &configs.Cgroup{
		Systemd:   opts.UseSystemdCgroup,
		Rootless:  opts.RootlessCgroups,
		Resources: &configs.Resources{},
	}
	if err := cgroupPlacement(opts, c); err != nil {
		return nil, err
	}
	if l := opts.Spec.Linux; l != nil && l.Resources != nil {
		if err := convertResources(log, l.Resources, c.Resources); err != nil {
			return nil, err
		}
	}
	c.Devices = append(c.Devices, defaultRules...)
	return c, nil
}

// cgroupPlacement applies berth's rule for linux.cgroupsPath
// (docs/architecture.md): an empty path means /berth/<id>, in berth's own
// subtree, never the caller's cgroup as runc would; an absolute path is used
// as it is and a relative one is relative to the caller's cgroup, both
// cleaned so that ".." cannot climb above their start. With the systemd
// driver, cgroupsPath is "slice:prefix:name", and an empty one means the
// scope "berth-<id>.scope" in the driver's default slice.
func cgroupPlacement(opts *CreateOpts, c *configs.Cgroup) error {
	const field = "linux.cgroupsPath"
	var p string
	if opts.Spec.Linux != nil {
		p = opts.Spec.Linux.CgroupsPath
	}
	if p == "" {
		id := opts.CgroupName
		if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") {
			return &configs.FieldError{Field: field, Err: fmt.Errorf("empty, and the container id %q cannot name a cgroup", id)}
		}
		if opts.UseSystemdCgroup {
			c.ScopePrefix = systemdScopePrefix
			c.Name = id
			return nil
		}
		c.Path = "/berth/" + id
		return nil
	}
	if strings.IndexByte(p, 0) >= 0 {
		return &configs.FieldError{Field: field, Err: errors.New("contains a NUL byte")}
	}
	if opts.UseSystemdCgroup {
		parts := strings.Split(p, ":")
		if len(parts) != 3 {
			return &configs.FieldError{Field: field, Err: fmt.Errorf("expected \"slice:prefix:name\" for systemd cgroups, got %q", p)}
		}
		c.Parent, c.ScopePrefix, c.Name = parts[0], parts[1], parts[2]
		return nil
	}
	c.Path = cleanCgroupPath(p)
	return nil
}

// cleanCgroupPath cleans p lexically; a relative path stays relative, but
// loses any leading ".." (it is cleaned as if it started at "/").
func cleanCgroupPath(p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	rel := strings.TrimPrefix(path.Clean("/"+p), "/")
	if rel == "" {
		return "."
	}
	return rel
}

// convertResources converts linux.resources (but for the device rules'
// defaults, appended by the caller).
func convertResources(log *slog.Logger, r *specs.LinuxResources, out *configs.Resources) error {
	rules, err := convertDeviceRules(r.Devices)
	if err != nil {
		return err
	}
	out.Devices = rules
	if m := r.Memory; m != nil {
		convertMemory(log, m, out)
	}
	if cpu := r.CPU; cpu != nil {
		convertCPU(cpu, out)
	}
	if r.Pids != nil {
		out.PidsLimit = clone(r.Pids.Limit)
	}
	if b := r.BlockIO; b != nil {
		convertBlockIO(b, out)
	}
	for _, l := range r.HugepageLimits {
		out.HugetlbLimit = append(out.HugetlbLimit, &configs.HugepageLimit{Pagesize: l.Pagesize, Limit: l.Limit})
	}
	if n := r.Network; n != nil {
		if n.ClassID != nil {
			out.NetClsClassid = *n.ClassID
		}
		for _, p := range n.Priorities {
			out.NetPrioIfpriomap = append(out.NetPrioIfpriomap, &configs.IfPrioMap{Interface: p.Name, Priority: int64(p.Priority)})
		}
	}
	if len(r.Rdma) > 0 {
		out.Rdma = make(map[string]configs.RdmaEntry, len(r.Rdma))
		for dev, e := range r.Rdma {
			out.Rdma[dev] = configs.RdmaEntry{HcaHandles: clone(e.HcaHandles), HcaObjects: clone(e.HcaObjects)}
		}
	}
	if r.Unified != nil {
		out.Unified = maps.Clone(r.Unified)
	}
	return nil
}

func convertMemory(log *slog.Logger, m *specs.LinuxMemory, out *configs.Resources) {
	if m.Limit != nil {
		out.Memory = *m.Limit
	}
	if m.Reservation != nil {
		out.MemoryReservation = *m.Reservation
	}
	if m.Swap != nil {
		out.MemorySwap = *m.Swap
	}
	//nolint:staticcheck // SA1019: read only to warn that they are ignored.
	if m.Kernel != nil || m.KernelTCP != nil {
		log.Warn("kernel memory settings are ignored and will be removed", "field", "linux.resources.memory.kernel")
	}
	out.MemorySwappiness = clone(m.Swappiness)
	if m.DisableOOMKiller != nil {
		out.OomKillDisable = *m.DisableOOMKiller
	}
	if m.CheckBeforeUpdate != nil {
		out.MemoryCheckBeforeUpdate = *m.CheckBeforeUpdate
	}
}

func convertCPU(cpu *specs.LinuxCPU, out *configs.Resources) {
	if cpu.Shares != nil {
		out.CPUShares = *cpu.Shares
	}
	if cpu.Quota != nil {
		out.CPUQuota = *cpu.Quota
	}
	if cpu.Period != nil {
		out.CPUPeriod = *cpu.Period
	}
	out.CPUBurst = clone(cpu.Burst)
	if cpu.RealtimeRuntime != nil {
		out.CPURtRuntime = *cpu.RealtimeRuntime
	}
	if cpu.RealtimePeriod != nil {
		out.CPURtPeriod = *cpu.RealtimePeriod
	}
	out.CPUIdle = clone(cpu.Idle)
	out.CpusetCpus = cpu.Cpus
	out.CpusetMems = cpu.Mems
}

func convertBlockIO(b *specs.LinuxBlockIO, out *configs.Resources) {
	if b.Weight != nil {
		out.BlkioWeight = *b.Weight
	}
	if b.LeafWeight != nil {
		out.BlkioLeafWeight = *b.LeafWeight
	}
	for _, wd := range b.WeightDevice {
		d := &configs.WeightDevice{Major: wd.Major, Minor: wd.Minor}
		if wd.Weight != nil {
			d.Weight = *wd.Weight
		}
		if wd.LeafWeight != nil {
			d.LeafWeight = *wd.LeafWeight
		}
		out.BlkioWeightDevice = append(out.BlkioWeightDevice, d)
	}
	throttle := func(in []specs.LinuxThrottleDevice) []*configs.ThrottleDevice {
		var ds []*configs.ThrottleDevice
		for _, td := range in {
			ds = append(ds, &configs.ThrottleDevice{Major: td.Major, Minor: td.Minor, Rate: td.Rate})
		}
		return ds
	}
	out.BlkioThrottleReadBpsDevice = throttle(b.ThrottleReadBpsDevice)
	out.BlkioThrottleWriteBpsDevice = throttle(b.ThrottleWriteBpsDevice)
	out.BlkioThrottleReadIOPSDevice = throttle(b.ThrottleReadIOPSDevice)
	out.BlkioThrottleWriteIOPSDevice = throttle(b.ThrottleWriteIOPSDevice)
}

// clone copies *p, so that the Config shares no memory with the spec.
func clone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
