package cgroups

import (
	"errors"
	"math"
	"strconv"
)

// sharesToWeight converts v1 cpu.shares (2..262144, default 1024) to v2
// cpu.weight (1..10000, default 100). The curve is the quadratic one in
// log2 space that crun introduced and runc later adopted: it maps 2 to 1, 1024 to 100 and 262144 to 10000, where the older
// linear formula mapped 1024 to 39. 0 means unset.
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
	case memory <= 0:
		return "", false, errors.New("memory.swap: a swap limit needs a memory limit")
	case swap < memory:
		return "", false, errors.New("memory.swap: memory+swap limit is below the memory limit")
	}
	return strconv.FormatInt(swap-memory, 10), true, nil
}

// limitString formats a limit where -1 means none: "max" on v2.
func limitString(v int64) string {
	if v == -1 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}
