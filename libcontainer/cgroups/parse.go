package cgroups

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Parsers of cgroup interface file contents, v1 and v2. They take the content, not a
// path, so that they test without a cgroup; callers add the file name to
// the errors.

// parseCgroupUint parses a single-number file. "max" (v2 and pids.max) is
// math.MaxUint64; a negative number, such as the -1 of an unset v1 soft
// limit, is 0.
func parseCgroupUint(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "max" {
		return math.MaxUint64, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err == nil {
		return v, nil
	}
	if i, ierr := strconv.ParseInt(s, 10, 64); ierr == nil && i < 0 {
		return 0, nil
	}
	return 0, fmt.Errorf("%q is not a number", s)
}

// parseFlatKeyed parses "key value" lines (memory.stat, cpu.stat,
// memory.oom_control) into a map. A value that is not an unsigned number
// is an error.
func parseFlatKeyed(s string) (map[string]uint64, error) {
	out := map[string]uint64{}
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("line %q: want key and value", strings.TrimSpace(line))
		}
		v, err := parseCgroupUint(f[1])
		if err != nil {
			return nil, fmt.Errorf("line %q: %w", strings.TrimSpace(line), err)
		}
		out[f[0]] = v
	}
	return out, nil
}

// parseUintList parses space-separated numbers (cpuacct.usage_percpu).
func parseUintList(s string) ([]uint64, error) {
	var out []uint64
	for f := range strings.FieldsSeq(s) {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// parseCpuacctUsageAll parses cpuacct.usage_all: a "cpu user system"
// header and one line per CPU, in nanoseconds. It returns the kernel
// (system) and user times per CPU.
func parseCpuacctUsageAll(s string) (kernel, user []uint64, err error) {
	first := true
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if first {
			first = false
			if len(f) > 0 && f[0] == "cpu" {
				continue
			}
		}
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, nil, fmt.Errorf("line %q: want cpu, user and system", strings.TrimSpace(line))
		}
		u, uerr := strconv.ParseUint(f[1], 10, 64)
		k, kerr := strconv.ParseUint(f[2], 10, 64)
		if uerr != nil || kerr != nil {
			return nil, nil, fmt.Errorf("line %q: not a number", strings.TrimSpace(line))
		}
		user = append(user, u)
		kernel = append(kernel, k)
	}
	return kernel, user, nil
}

// userHZ is the unit of cpuacct.stat: USER_HZ, 100 on every Linux
// architecture that Go supports (it is part of the kernel's ABI).
const userHZ = 100

// parseCpuacctStat parses cpuacct.stat ("user N\nsystem N", in USER_HZ
// ticks) into nanoseconds.
func parseCpuacctStat(s string) (user, system uint64, err error) {
	kv, err := parseFlatKeyed(s)
	if err != nil {
		return 0, 0, err
	}
	u, uok := kv["user"]
	sy, sok := kv["system"]
	if !uok || !sok {
		return 0, 0, errors.New("want user and system lines")
	}
	const nsPerTick = 1e9 / userHZ
	return u * nsPerTick, sy * nsPerTick, nil
}

// parseCpusetList parses a kernel CPU or memory node list ("0-3,7") into
// its sorted numbers. An empty list is empty.
func parseCpusetList(s string) ([]uint16, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []uint16
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("%q: %q is not a CPU or node number", s, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 16); err != nil {
				return nil, fmt.Errorf("%q: %q is not a CPU or node number", s, hi)
			}
			if b < a {
				return nil, fmt.Errorf("%q: range %s ends before it starts", s, part)
			}
		}
		if len(out)+int(b-a) >= 1<<16 {
			return nil, fmt.Errorf("%q: more than %d members", s, 1<<16)
		}
		for i := a; i <= b; i++ {
			out = append(out, uint16(i))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// parseBlkioStat parses a v1 blkio statistics file: "MAJ:MIN OP VALUE" or
// "MAJ:MIN VALUE" lines, and a final "Total VALUE" line that is skipped.
func parseBlkioStat(s string) ([]BlkioStatEntry, error) {
	var out []BlkioStatEntry
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) == 0 || (len(f) == 2 && f[0] == "Total") {
			continue
		}
		if len(f) != 2 && len(f) != 3 {
			return nil, fmt.Errorf("line %q: want device, [operation,] value", strings.TrimSpace(line))
		}
		majS, minS, ok := strings.Cut(f[0], ":")
		if !ok {
			return nil, fmt.Errorf("line %q: %q is not MAJOR:MINOR", strings.TrimSpace(line), f[0])
		}
		var e BlkioStatEntry
		var err error
		if e.Major, err = strconv.ParseUint(majS, 10, 64); err == nil {
			e.Minor, err = strconv.ParseUint(minS, 10, 64)
		}
		if err == nil {
			if len(f) == 3 {
				e.Op = f[1]
			}
			e.Value, err = strconv.ParseUint(f[len(f)-1], 10, 64)
		}
		if err != nil {
			return nil, fmt.Errorf("line %q: not a number", strings.TrimSpace(line))
		}
		out = append(out, e)
	}
	return out, nil
}

// parseRdma parses rdma.max or rdma.current: "DEVICE hca_handle=N
// hca_object=N" lines, where "max" is math.MaxUint32.
func parseRdma(s string) ([]RdmaEntry, error) {
	var out []RdmaEntry
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		e := RdmaEntry{Device: f[0]}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			n := uint64(math.MaxUint32)
			var err error
			if ok && v != "max" {
				n, err = strconv.ParseUint(v, 10, 32)
			}
			if !ok || err != nil {
				return nil, fmt.Errorf("line %q: %q is not KEY=NUMBER", strings.TrimSpace(line), kv)
			}
			switch k {
			case "hca_handle":
				e.HcaHandles = uint32(n)
			case "hca_object":
				e.HcaObjects = uint32(n)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// parsePressure parses a PSI file (cpu.pressure, memory.pressure,
// io.pressure): "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and the
// same for "full".
func parsePressure(s string) (*PSIStats, error) {
	var p PSIStats
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var d *PSIData
		switch f[0] {
		case "some":
			d = &p.Some
		case "full":
			d = &p.Full
		default:
			continue
		}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("line %q: %q is not KEY=VALUE", strings.TrimSpace(line), kv)
			}
			var err error
			switch k {
			case "avg10":
				d.Avg10, err = strconv.ParseFloat(v, 64)
			case "avg60":
				d.Avg60, err = strconv.ParseFloat(v, 64)
			case "avg300":
				d.Avg300, err = strconv.ParseFloat(v, 64)
			case "total":
				d.Total, err = strconv.ParseUint(v, 10, 64)
			}
			if err != nil {
				return nil, fmt.Errorf("line %q: %q is not a number", strings.TrimSpace(line), kv)
			}
		}
	}
	return &p, nil
}

// hugePageSizeName turns a /sys/kernel/mm/hugepages entry
// ("hugepages-2048kB") into the size name that the hugetlb controller's
// files and the OCI pageSize use ("2MB"): the largest unit that divides the
// size, from KB to PB.
func hugePageSizeName(entry string) (string, error) {
	num, ok := strings.CutPrefix(entry, "hugepages-")
	if ok {
		num, ok = strings.CutSuffix(num, "kB")
	}
	if !ok {
		return "", fmt.Errorf("%q is not hugepages-<size>kB", entry)
	}
	size, err := strconv.ParseUint(num, 10, 64)
	if err != nil || size == 0 {
		return "", fmt.Errorf("%q: bad size", entry)
	}
	units := []string{"KB", "MB", "GB", "TB", "PB"}
	u := 0
	for size%1024 == 0 && u < len(units)-1 {
		size /= 1024
		u++
	}
	return strconv.FormatUint(size, 10) + units[u], nil
}
