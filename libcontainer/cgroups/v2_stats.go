package cgroups

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// This file parses the cgroup v2 interface files that GetStats reads, into
// runc's Stats shape (the fs2 driver of github.com/opencontainers/cgroups).
// The formats are those of the kernel's
// Documentation/admin-guide/cgroup-v2.rst ("Interface Files", "Format"):
// flat keyed ("key value" lines), nested keyed ("key k=v k=v" lines) and
// single values, where "max" means no limit.

// parseCPUStatV2 fills s from cpu.stat, whose times are in microseconds
// and become nanoseconds, as v1's cpuacct counters are.
func parseCPUStatV2(data string, s *CPUStats) error {
	kv, err := parseFlatKeyed(data)
	for k, v := range kv {
		switch k {
		case "usage_usec":
			s.CPUUsage.TotalUsage = v * 1000
		case "user_usec":
			s.CPUUsage.UsageInUsermode = v * 1000
		case "system_usec":
			s.CPUUsage.UsageInKernelmode = v * 1000
		case "nr_periods":
			s.ThrottlingData.Periods = v
		case "nr_throttled":
			s.ThrottlingData.ThrottledPeriods = v
		case "throttled_usec":
			s.ThrottlingData.ThrottledTime = v * 1000
		}
	}
	return err
}

// parseMemoryStatV2 fills s from memory.stat: the whole file by key, the
// page cache ("file") as Cache, and UseHierarchy, always true on v2.
func parseMemoryStatV2(data string, s *MemoryStats) error {
	stats, err := parseFlatKeyed(data)
	if err != nil {
		return err
	}
	s.Stats = stats
	s.Cache = stats["file"]
	s.UseHierarchy = true
	return nil
}

// combineSwapV2 returns the memory+swap counter that v1 reports as
// SwapUsage, from v2's separate memory and swap counters, as runc does: the
// usages and limits add up (an unlimited one makes the sum unlimited), and
// there is no combined peak.
func combineSwapV2(mem, swap MemoryData) MemoryData {
	c := swap
	c.Usage += mem.Usage
	if c.Limit == math.MaxUint64 || mem.Limit == math.MaxUint64 || c.Limit+mem.Limit < c.Limit {
		c.Limit = math.MaxUint64
	} else {
		c.Limit += mem.Limit
	}
	c.MaxUsage = 0
	return c
}

// parseIOStatV2 converts io.stat ("8:0 rbytes=1 wbytes=2 rios=3 wios=4
// dbytes=0 dios=0") to v1's recursive blkio counters, as runc does: bytes
// to IoServiceBytesRecursive and operations to IoServicedRecursive, with
// ops "Read" and "Write". Other keys have no v1 counter and are skipped.
func parseIOStatV2(data string) (BlkioStats, error) {
	var s BlkioStats
	for line := range strings.SplitSeq(data, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		majs, mins, ok := strings.Cut(fields[0], ":")
		if !ok {
			return s, fmt.Errorf("line %q: want \"MAJOR:MINOR key=value...\"", line)
		}
		major, err := strconv.ParseUint(majs, 10, 32)
		if err != nil {
			return s, fmt.Errorf("line %q: %w", line, err)
		}
		minor, err := strconv.ParseUint(mins, 10, 32)
		if err != nil {
			return s, fmt.Errorf("line %q: %w", line, err)
		}
		for _, kv := range fields[1:] {
			k, vs, ok := strings.Cut(kv, "=")
			if !ok {
				return s, fmt.Errorf("line %q: %q is not key=value", line, kv)
			}
			var table *[]BlkioStatEntry
			var op string
			switch k {
			case "rbytes":
				table, op = &s.IoServiceBytesRecursive, "Read"
			case "wbytes":
				table, op = &s.IoServiceBytesRecursive, "Write"
			case "rios":
				table, op = &s.IoServicedRecursive, "Read"
			case "wios":
				table, op = &s.IoServicedRecursive, "Write"
			default:
				continue
			}
			v, err := strconv.ParseUint(vs, 10, 64)
			if err != nil {
				return s, fmt.Errorf("line %q: %w", line, err)
			}
			*table = append(*table, BlkioStatEntry{Major: major, Minor: minor, Op: op, Value: v})
		}
	}
	return s, nil
}

// parseMiscV2 adds misc.current ("res usage") or misc.events ("res.max
// count") to m, by resource name.
func parseMiscV2(data string, events bool, m map[string]MiscStats) error {
	kv, err := parseFlatKeyed(data)
	for k, v := range kv {
		if events {
			name, ok := strings.CutSuffix(k, ".max")
			if !ok {
				continue
			}
			s := m[name]
			s.Events = v
			m[name] = s
			continue
		}
		s := m[k]
		s.Usage = v
		m[k] = s
	}
	return err
}
