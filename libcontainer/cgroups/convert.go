package cgroups

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// sharesToWeight converts v1 cpu.shares (2..262144, default 1024) to v2
// cpu.weight (1..10000, default 100). The curve is the quadratic one in
// log2 space that crun introduced and runc later adopted (runc 1.3.2,
// ConvertCPUSharesToCgroupV2Value): it maps 2 to 1, 1024 to 100 and 262144
// to 10000, where the older linear formula mapped 1024 to 39. 0 means unset.
func sharesToWeight(shares uint64) uint64 {
	switch {
	case shares == 0:
		return 0
	case shares <= 2:
		return 1
	case shares >= 262144:
		return 10000
	}
	l := math.Log2(float64(shares))
	exp := (l*l+125*l)/612 - 7.0/34
	return uint64(math.Ceil(math.Pow(10, exp)))
}

// swapToV2 converts the OCI memory.swap (memory plus swap, the v1
// memory.memsw.limit_in_bytes meaning) to v2 memory.swap.max (swap alone).
// It returns ok false when memory.swap.max is not to be written.
func swapToV2(swap, memory int64) (val string, ok bool, err error) {
	switch {
	case swap == 0 && memory == -1:
		// An unlimited memory with no swap limit makes swap unlimited too,
		// as runc update does.
		return "max", true, nil
	case swap == 0:
		return "", false, nil
	case swap == -1:
		return "max", true, nil
	case swap < -1:
		return "", false, fmt.Errorf("%d is invalid: want -1 (unlimited) or a number of bytes", swap)
	case memory <= 0:
		return "", false, errors.New("a swap limit needs a memory limit")
	case swap < memory:
		return "", false, fmt.Errorf("memory+swap limit %d is below the memory limit %d", swap, memory)
	}
	return strconv.FormatInt(swap-memory, 10), true, nil
}

// limitString formats a limit where -1 means none: "max" on v2.
// pidsMax converts the OCI pids limit to pids.max, the same on v1 and v2:
// -1 is "max", and 0 is written as 1, as runc does, so that the fs and
// systemd drivers agree (systemd cannot set TasksMax to 0); the
// container's init is already one task, so either value forbids every fork.
func pidsMax(l int64) string {
	if l == 0 {
		return "1"
	}
	return limitString(l)
}

func limitString(v int64) string {
	if v == -1 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

// blkioWeightToIOWeight converts a v1 blkio.weight (10..1000, default 500)
// to a v2 io.weight (1..10000, default 100) linearly, mapping 10 to 1 and
// 1000 to 10000, as runc's ConvertBlkIOToIOWeightValue does. The default
// 500 becomes 4950, not 100: runc's mapping, kept so that a weight means
// the same under both runtimes. 0 means unset.
func blkioWeightToIOWeight(w uint16) uint64 {
	if w == 0 {
		return 0
	}
	if w < 10 {
		return 1
	}
	return 1 + (uint64(w)-10)*9999/990
}
