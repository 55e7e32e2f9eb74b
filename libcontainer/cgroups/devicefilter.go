package cgroups

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/cilium/ebpf/asm"

	"github.com/berthrt/berth/libcontainer/configs"
)

// This file turns a device policy into the instructions of a cgroup v2 device
// filter: an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE, which the
// kernel runs on every open(2) and mknod(2) of a block or character device by
// a task of the cgroup, and which allows the access by returning 1. See the
// kernel's Documentation/admin-guide/cgroup-v2.rst ("Device controller").
//
// cgroup v2 has no devices.allow: the filter is the whole policy. So that a
// rule list means the same on both versions, the rules are first applied the
// way the v1 kernel would (targetPolicy, devices.go) and the program encodes
// the resulting policy: a default and exceptions to it, which all have the
// opposite action. Rules are thus read in order and a later rule overrides an
// earlier one for the same device, as written to devices.allow and
// devices.deny.
//
// The program checks a request against the exceptions the way the v1 kernel
// does (security/device_cgroup.c, devcgroup_legacy_check_permission): under a
// deny default a request is allowed when one exception grants every access it
// asks for; under an allow default it is denied when an exception denies any
// of the accesses it asks for (an open for reading and writing, on a device
// whose writes are denied, is denied).

// The fields of struct bpf_cgroup_dev_ctx, the program's context, and their
// values (include/uapi/linux/bpf.h).
const (
	// bpfCtxAccessType is the u32 (access << 16) | type.
	bpfCtxAccessType = 0
	bpfCtxMajor      = 4
	bpfCtxMinor      = 8

	bpfDevBlock = 1 // BPF_DEVCG_DEV_BLOCK
	bpfDevChar  = 2 // BPF_DEVCG_DEV_CHAR

	bpfAccMknod = 1 // BPF_DEVCG_ACC_MKNOD
	bpfAccRead  = 2 // BPF_DEVCG_ACC_READ
	bpfAccWrite = 4 // BPF_DEVCG_ACC_WRITE
)

// The registers of the program: the context pointer arrives in R1; the
// request's fields are loaded once into R2 to R5, R0 is the verdict and R1 is
// reused as scratch.
const (
	regType    = asm.R2
	regAccess  = asm.R3
	regMajor   = asm.R4
	regMinor   = asm.R5
	regScratch = asm.R1
)

// bpfAccess returns a as BPF_DEVCG_ACC_* bits.
func bpfAccess(a devAccess) int32 {
	var b int32
	if a&accRead != 0 {
		b |= bpfAccRead
	}
	if a&accWrite != 0 {
		b |= bpfAccWrite
	}
	if a&accMknod != 0 {
		b |= bpfAccMknod
	}
	return b
}

// bpfDeviceNumber returns a major or minor number as the 32-bit immediate
// that a JMP32 compare takes: the kernel's numbers are u32.
func bpfDeviceNumber(k devKey, what string, n int64) (int32, error) {
	if n < 0 || n > math.MaxUint32 {
		return 0, fmt.Errorf("device rule %s: %s number %d out of range", k, what, n)
	}
	return int32(uint32(n)), nil
}

// deviceFilter returns the instructions of the device filter that enforces p,
// or nil when p allows every device and no filter is needed.
func deviceFilter(p devPolicy) (asm.Instructions, error) {
	if p.allow && len(p.except) == 0 {
		return nil, nil
	}
	verdict, match := int32(0), int32(1)
	if p.allow {
		verdict, match = 1, 0
	}
	insns := asm.Instructions{
		asm.LoadMem(regType, asm.R1, bpfCtxAccessType, asm.Word),
		asm.Mov.Reg32(regAccess, regType),
		asm.And.Imm32(regType, 0xffff),
		asm.RSh.Imm32(regAccess, 16),
		asm.LoadMem(regMajor, asm.R1, bpfCtxMajor, asm.Word),
		asm.LoadMem(regMinor, asm.R1, bpfCtxMinor, asm.Word),
	}
	keys := slices.SortedFunc(maps.Keys(p.except), compareKeys)
	label := ""
	for i, k := range keys {
		next := "exception" + strconv.Itoa(i+1)
		if i == len(keys)-1 {
			next = "default"
		}
		block, err := exceptionBlock(k, p.except[k], p.allow, next, match)
		if err != nil {
			return nil, err
		}
		if label != "" {
			block[0] = block[0].WithSymbol(label)
		}
		insns = append(insns, block...)
		label = next
	}
	last := asm.Mov.Imm32(asm.R0, verdict)
	if label != "" {
		last = last.WithSymbol(label)
	}
	return append(insns, last, asm.Return()), nil
}

// exceptionBlock returns the instructions that check one exception: they
// return match when the request falls under it and jump to next otherwise.
// allowDefault tells how access bits match (see the comment at the top).
func exceptionBlock(k devKey, a devAccess, allowDefault bool, next string, match int32) (asm.Instructions, error) {
	var typ int32
	switch k.typ {
	case configs.BlockDevice:
		typ = bpfDevBlock
	case configs.CharDevice:
		typ = bpfDevChar
	default:
		return nil, fmt.Errorf("device rule %s: type %q has no device filter value", k, k.typ)
	}
	b := asm.Instructions{asm.JNE.Imm32(regType, typ, next)}
	acc := bpfAccess(a)
	switch {
	case a == accAll:
		// Every request asks for some of these bits, and no more.
	case allowDefault:
		// Denied when any requested bit is denied.
		b = append(b,
			asm.Mov.Reg32(regScratch, regAccess),
			asm.And.Imm32(regScratch, acc),
			asm.JEq.Imm32(regScratch, 0, next))
	default:
		// Allowed when every requested bit is allowed.
		b = append(b,
			asm.Mov.Reg32(regScratch, regAccess),
			asm.And.Imm32(regScratch, ^acc),
			asm.JNE.Imm32(regScratch, 0, next))
	}
	if k.major != configs.Wildcard {
		n, err := bpfDeviceNumber(k, "major", k.major)
		if err != nil {
			return nil, err
		}
		b = append(b, asm.JNE.Imm32(regMajor, n, next))
	}
	if k.minor != configs.Wildcard {
		n, err := bpfDeviceNumber(k, "minor", k.minor)
		if err != nil {
			return nil, err
		}
		b = append(b, asm.JNE.Imm32(regMinor, n, next))
	}
	return append(b, asm.Mov.Imm32(asm.R0, match), asm.Return()), nil
}
