package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v3"

	"github.com/berthrt/berth/libcontainer/configs"
)

const resourcesUsage = `path to the file containing the resources to update or '-' to read from the standard input

The file is the OCI runtime spec's linux.resources object; limits that are
left out (or zero, as Docker sends an unset cpu.shares or blockIO.weight)
are not changed:

{
  "memory": {
    "limit": 0,
    "reservation": 0,
    "swap": 0,
    "checkBeforeUpdate": true
  },
  "cpu": {
    "shares": 0,
    "quota": 0,
    "burst": 0,
    "period": 0,
    "realtimeRuntime": 0,
    "realtimePeriod": 0,
    "cpus": "",
    "mems": "",
    "idle": 0
  },
  "blockIO": {
    "weight": 0
  },
  "pids": {
    "limit": -1
  },
  "unified": {}
}

A pids.limit of 0 is a real limit; -1 is unlimited.

Note: if data is to be read from a file or the standard input, all
other options are ignored.
`

// updateFlag is one of update's value flags and how it sets the resources.
type updateFlag struct {
	name, usage string
	hidden      bool
	// set parses the flag's value into r.
	set func(r *specs.LinuxResources, value string) error
}

func updateFlags() []updateFlag {
	return []updateFlag{
		{name: "blkio-weight", usage: "Specifies per cgroup weight, range is from 10 to 1000", set: func(r *specs.LinuxResources, v string) error {
			w, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				return numError(err)
			}
			if w != 0 {
				r.BlockIO.Weight = ptr(uint16(w))
			}
			return nil
		}},
		{name: "cpu-period", usage: "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default", set: setUint(func(r *specs.LinuxResources) **uint64 { return &r.CPU.Period })},
		{name: "cpu-quota", usage: "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period", set: setInt(func(r *specs.LinuxResources) **int64 { return &r.CPU.Quota })},
		{name: "cpu-burst", usage: "CPU CFS hardcap burst limit (in usecs). Allowed accumulated cpu time additionally for burst a given period", set: setUint(func(r *specs.LinuxResources) **uint64 { return &r.CPU.Burst })},
		{name: "cpu-share", usage: "CPU shares (relative weight vs. other containers)", set: setUint(func(r *specs.LinuxResources) **uint64 { return &r.CPU.Shares })},
		{name: "cpu-rt-period", usage: "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default", set: setUint(func(r *specs.LinuxResources) **uint64 { return &r.CPU.RealtimePeriod })},
		{name: "cpu-rt-runtime", usage: "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period", set: setInt(func(r *specs.LinuxResources) **int64 { return &r.CPU.RealtimeRuntime })},
		{name: "cpuset-cpus", usage: "CPU(s) to use", set: func(r *specs.LinuxResources, v string) error { r.CPU.Cpus = v; return nil }},
		{name: "cpuset-mems", usage: "Memory node(s) to use", set: func(r *specs.LinuxResources, v string) error { r.CPU.Mems = v; return nil }},
		{name: "cpu-idle", usage: "set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE", set: setInt(func(r *specs.LinuxResources) **int64 { return &r.CPU.Idle })},
		{name: "memory", usage: "Memory limit (in bytes)", set: setBytes(func(r *specs.LinuxResources) **int64 { return &r.Memory.Limit })},
		{name: "memory-reservation", usage: "Memory reservation or soft_limit (in bytes)", set: setBytes(func(r *specs.LinuxResources) **int64 { return &r.Memory.Reservation })},
		{name: "memory-swap", usage: "Total memory usage (memory + swap); set '-1' to enable unlimited swap", set: setBytes(func(r *specs.LinuxResources) **int64 { return &r.Memory.Swap })},
		{name: "pids-limit", usage: "Maximum number of pids allowed in the container (-1: unlimited)", set: setInt(func(r *specs.LinuxResources) **int64 { return &r.Pids.Limit })},
		{name: "kernel-memory", usage: "(obsoleted; do not use)", hidden: true, set: ignoredFlag},
		{name: "kernel-memory-tcp", usage: "(obsoleted; do not use)", hidden: true, set: ignoredFlag},
	}
}

func updateCommand(g *globals) *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: resourcesUsage},
	}
	for _, f := range updateFlags() {
		flags = append(flags, &cli.StringFlag{Name: f.name, Usage: f.usage, Hidden: f.hidden})
	}
	flags = append(flags,
		&cli.StringFlag{Name: "l3-cache-schema", Usage: "The string of Intel RDT/CAT L3 cache schema"},
		&cli.StringFlag{Name: "mem-bw-schema", Usage: "The string of Intel RDT/MBA memory bandwidth schema"},
	)
	return &cli.Command{
		Name:      "update",
		Usage:     "update container resource constraints",
		ArgsUsage: `<container-id>`,
		Flags:     flags,
		Action: func(_ context.Context, cmd *cli.Command) error {
			c, err := loadOne(g, cmd)
			if err != nil {
				return err
			}
			if err := checkRDTFlags(cmd); err != nil {
				return err
			}
			var r *specs.LinuxResources
			if path := cmd.String("resources"); path != "" {
				r, err = readResources(path, os.Stdin)
				for _, f := range updateFlags() {
					if cmd.IsSet(f.name) {
						g.logger.Warn(fmt.Sprintf("--%s is ignored with --resources", f.name))
					}
				}
			} else {
				r, err = resourcesFromFlags(cmd, g.logger)
			}
			if err != nil {
				return err
			}
			cfg := c.Config()
			if cfg.Cgroups == nil {
				return errors.New("container has no cgroup to update")
			}
			var cur configs.Resources
			if cfg.Cgroups.Resources != nil {
				cur = *cfg.Cgroups.Resources
			}
			res := mergeResources(cur, r, g.logger)
			// update cannot change the device rules: leave them alone (a
			// plugin may have added rules of its own, as runc notes).
			res.SkipDevices = true
			return c.Set(res)
		},
	}
}

// resourcesFromFlags builds the resources the value flags ask for; a flag
// that is not given leaves its limit unset.
func resourcesFromFlags(cmd *cli.Command, log *slog.Logger) (*specs.LinuxResources, error) {
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{},
		CPU:     &specs.LinuxCPU{},
		BlockIO: &specs.LinuxBlockIO{},
		Pids:    &specs.LinuxPids{},
	}
	for _, f := range updateFlags() {
		if !cmd.IsSet(f.name) {
			continue
		}
		if err := f.set(r, cmd.String(f.name)); errors.Is(err, errIgnoredFlag) {
			log.Warn(fmt.Sprintf("setting --%s is ignored and will be removed", f.name))
		} else if err != nil {
			return nil, fmt.Errorf("invalid value for --%s: %w", f.name, err)
		}
	}
	return r, nil
}

var errIgnoredFlag = errors.New("ignored flag")

func ignoredFlag(*specs.LinuxResources, string) error { return errIgnoredFlag }

func ptr[T any](v T) *T { return &v }

// numError drops strconv's function name from a parse error.
func numError(err error) error {
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		return fmt.Errorf("%q: %w", ne.Num, ne.Err)
	}
	return err
}

func setUint(field func(*specs.LinuxResources) **uint64) func(*specs.LinuxResources, string) error {
	return func(r *specs.LinuxResources, v string) error {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return numError(err)
		}
		*field(r) = &n
		return nil
	}
}

func setInt(field func(*specs.LinuxResources) **int64) func(*specs.LinuxResources, string) error {
	return func(r *specs.LinuxResources, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return numError(err)
		}
		*field(r) = &n
		return nil
	}
}

// setBytes parses a memory size: -1 (unlimited) or a size as
// parseRAMInBytes reads it.
func setBytes(field func(*specs.LinuxResources) **int64) func(*specs.LinuxResources, string) error {
	return func(r *specs.LinuxResources, v string) error {
		n := int64(-1)
		if v != "-1" {
			var err error
			if n, err = parseRAMInBytes(v); err != nil {
				return err
			}
		}
		*field(r) = &n
		return nil
	}
}

// parseRAMInBytes reads a size in bytes as Docker's units.RAMInBytes
// does, which runc update uses: a decimal number, an optional space, and
// an optional binary unit k, m, g, t or p (case-insensitive, optionally
// followed by "i" and "b"): "100M", "1.5g", "512MiB", "4096".
func parseRAMInBytes(s string) (int64, error) {
	invalid := fmt.Errorf("invalid size %q: want a number of bytes, optionally with a unit k, m, g, t or p", s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	if i == 0 || s[0] == '.' {
		return 0, invalid
	}
	f, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return 0, invalid
	}
	unit := strings.ToLower(strings.TrimPrefix(s[i:], " "))
	mul := 1.0
	if unit != "" {
		if k := strings.IndexByte("kmgtp", unit[0]); k >= 0 {
			mul = math.Pow(1024, float64(k+1))
			unit = unit[1:]
		}
	}
	unit = strings.TrimPrefix(unit, "i")
	unit = strings.TrimPrefix(unit, "b")
	if unit != "" {
		return 0, invalid
	}
	v := f * mul
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return int64(v), nil
}

// readResources reads a linux.resources JSON object from path, or from
// stdin when path is "-".
func readResources(path string, stdin io.Reader) (*specs.LinuxResources, error) {
	in := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--resources: %w", err)
		}
		defer f.Close()
		in = f
	}
	var r specs.LinuxResources
	if err := json.NewDecoder(in).Decode(&r); err != nil {
		return nil, fmt.Errorf("--resources: decode linux.resources from %s: %w", path, err)
	}
	return &r, nil
}

// mergeResources returns cur with the changes r asks for, as runc update
// makes them: a limit that r leaves out, or sets to zero where zero means
// unset (Docker sends "shares": 0 and "weight": 0 for limits it does not
// change), stays as it is; per-device block I/O entries replace those of
// the same device and add the others; unified keys replace the same keys.
// The memory check before update applies to this update only. Like runc,
// update does not change the device rules, swappiness, the OOM killer,
// hugetlb, network or rdma limits: they are logged and ignored. cur's
// slices, maps and pointers are not modified.
func mergeResources(cur configs.Resources, r *specs.LinuxResources, log *slog.Logger) configs.Resources {
	mergeMemory(&cur, r.Memory, log)
	mergeCPU(&cur, r.CPU)
	if r.Pids != nil && r.Pids.Limit != nil {
		cur.PidsLimit = ptr(*r.Pids.Limit)
	}
	mergeBlockIO(&cur, r.BlockIO)
	if r.Unified != nil {
		u := maps.Clone(cur.Unified)
		if u == nil {
			u = make(map[string]string, len(r.Unified))
		}
		maps.Copy(u, r.Unified)
		cur.Unified = u
	}
	for name, set := range map[string]bool{
		"devices":        len(r.Devices) > 0,
		"hugepageLimits": len(r.HugepageLimits) > 0,
		"network":        r.Network != nil,
		"rdma":           len(r.Rdma) > 0,
	} {
		if set {
			log.Debug("update ignores linux.resources." + name)
		}
	}
	return cur
}

func mergeMemory(cur *configs.Resources, m *specs.LinuxMemory, log *slog.Logger) {
	cur.MemoryCheckBeforeUpdate = false
	if m == nil {
		return
	}
	if m.Limit != nil && *m.Limit != 0 {
		cur.Memory = *m.Limit
		if *m.Limit == -1 && m.Swap == nil {
			// An unlimited memory without a swap limit makes swap
			// unlimited too (the cgroup managers do it for a zero swap).
			cur.MemorySwap = 0
		}
	}
	if m.Reservation != nil && *m.Reservation != 0 {
		cur.MemoryReservation = *m.Reservation
	}
	if m.Swap != nil && *m.Swap != 0 {
		cur.MemorySwap = *m.Swap
	}
	if m.CheckBeforeUpdate != nil {
		cur.MemoryCheckBeforeUpdate = *m.CheckBeforeUpdate
	}
	//nolint:staticcheck // SA1019: read only to warn that they are ignored.
	if m.Kernel != nil || m.KernelTCP != nil {
		log.Warn("kernel memory settings are ignored and will be removed")
	}
	if m.Swappiness != nil || m.DisableOOMKiller != nil || m.UseHierarchy != nil {
		log.Debug("update ignores linux.resources.memory swappiness, disableOOMKiller and useHierarchy")
	}
}

func mergeCPU(cur *configs.Resources, c *specs.LinuxCPU) {
	if c == nil {
		return
	}
	set := func(dst *uint64, src *uint64) {
		if src != nil && *src != 0 {
			*dst = *src
		}
	}
	set(&cur.CPUShares, c.Shares)
	set(&cur.CPUPeriod, c.Period)
	set(&cur.CPURtPeriod, c.RealtimePeriod)
	if c.Quota != nil && *c.Quota != 0 {
		cur.CPUQuota = *c.Quota
	}
	if c.RealtimeRuntime != nil && *c.RealtimeRuntime != 0 {
		cur.CPURtRuntime = *c.RealtimeRuntime
	}
	if c.Burst != nil {
		cur.CPUBurst = ptr(*c.Burst)
	}
	if c.Idle != nil {
		cur.CPUIdle = ptr(*c.Idle)
	}
	if c.Cpus != "" {
		cur.CpusetCpus = c.Cpus
	}
	if c.Mems != "" {
		cur.CpusetMems = c.Mems
	}
}

func mergeBlockIO(cur *configs.Resources, b *specs.LinuxBlockIO) {
	if b == nil {
		return
	}
	if b.Weight != nil && *b.Weight != 0 {
		cur.BlkioWeight = *b.Weight
	}
	if b.LeafWeight != nil && *b.LeafWeight != 0 {
		cur.BlkioLeafWeight = *b.LeafWeight
	}
	for _, wd := range b.WeightDevice {
		cur.BlkioWeightDevice = upsertWeightDevice(cur.BlkioWeightDevice, wd)
	}
	for _, t := range []struct {
		dst *[]*configs.ThrottleDevice
		src []specs.LinuxThrottleDevice
	}{
		{&cur.BlkioThrottleReadBpsDevice, b.ThrottleReadBpsDevice},
		{&cur.BlkioThrottleWriteBpsDevice, b.ThrottleWriteBpsDevice},
		{&cur.BlkioThrottleReadIOPSDevice, b.ThrottleReadIOPSDevice},
		{&cur.BlkioThrottleWriteIOPSDevice, b.ThrottleWriteIOPSDevice},
	} {
		for _, td := range t.src {
			*t.dst = upsertThrottleDevice(*t.dst, td)
		}
	}
}

// upsertWeightDevice returns a copy of list with wd's weights set on the
// entry of its device, or wd added when there is none.
func upsertWeightDevice(list []*configs.WeightDevice, wd specs.LinuxWeightDevice) []*configs.WeightDevice {
	out := make([]*configs.WeightDevice, 0, len(list)+1)
	found := false
	for _, d := range list {
		if d == nil {
			continue
		}
		c := *d
		if c.Major == wd.Major && c.Minor == wd.Minor {
			found = true
			if wd.Weight != nil {
				c.Weight = *wd.Weight
			}
			if wd.LeafWeight != nil {
				c.LeafWeight = *wd.LeafWeight
			}
		}
		out = append(out, &c)
	}
	if !found {
		d := &configs.WeightDevice{Major: wd.Major, Minor: wd.Minor}
		if wd.Weight != nil {
			d.Weight = *wd.Weight
		}
		if wd.LeafWeight != nil {
			d.LeafWeight = *wd.LeafWeight
		}
		out = append(out, d)
	}
	return out
}

// upsertThrottleDevice returns a copy of list with td's rate set on the
// entry of its device, or td added when there is none.
func upsertThrottleDevice(list []*configs.ThrottleDevice, td specs.LinuxThrottleDevice) []*configs.ThrottleDevice {
	out := make([]*configs.ThrottleDevice, 0, len(list)+1)
	found := false
	for _, d := range list {
		if d == nil {
			continue
		}
		c := *d
		if c.Major == td.Major && c.Minor == td.Minor {
			found = true
			c.Rate = td.Rate
		}
		out = append(out, &c)
	}
	if !found {
		out = append(out, &configs.ThrottleDevice{Major: td.Major, Minor: td.Minor, Rate: td.Rate})
	}
	return out
}

// checkRDTFlags refuses --l3-cache-schema and --mem-bw-schema. runc's
// errors for a host without the feature come first; a host with it still
// cannot update a schema, since berth does not manage Intel RDT yet.
func checkRDTFlags(cmd *cli.Command) error {
	for _, f := range []struct{ flag, info, msg string }{
		{"l3-cache-schema", "L3", "Intel RDT/CAT: l3 cache schema is not enabled"},
		{"mem-bw-schema", "MB", "Intel RDT/MBA: memory bandwidth schema is not enabled"},
	} {
		if cmd.String(f.flag) == "" {
			continue
		}
		// resctrl lists each resource it can allocate under info/.
		if _, err := os.Stat("/sys/fs/resctrl/info/" + f.info); err != nil {
			return fmt.Errorf("--%s: %s", f.flag, f.msg)
		}
		return fmt.Errorf("--%s: updating an Intel RDT schema is not supported", f.flag)
	}
	return nil
}
