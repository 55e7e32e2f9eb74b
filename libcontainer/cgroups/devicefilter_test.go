package cgroups

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cilium/ebpf/asm"

	"github.com/berthrt/berth/libcontainer/configs"
)

// devRequest is one access the kernel asks a device filter about.
type devRequest struct {
	typ          configs.DeviceType
	major, minor uint32
	access       devAccess
}

func (r devRequest) String() string {
	return fmt.Sprintf("%c %d:%d %s", r.typ, r.major, r.minor, r.access)
}

func req(typ configs.DeviceType, major, minor uint32, access string) devRequest {
	a, err := parseAccess(access)
	if err != nil {
		panic(err)
	}
	return devRequest{typ, major, minor, a}
}

// runFilter runs insns on r the way the kernel would, for the instructions
// deviceFilter emits, and returns the program's verdict. BPF_PROG_TEST_RUN
// does not support cgroup device programs; TestDeviceFilterKernel checks the
// same programs in a real cgroup.
func runFilter(t *testing.T, insns asm.Instructions, r devRequest) bool {
	t.Helper()
	var ctx [12]byte
	typ := uint32(bpfDevChar)
	if r.typ == configs.BlockDevice {
		typ = bpfDevBlock
	}
	binary.NativeEndian.PutUint32(ctx[bpfCtxAccessType:], uint32(bpfAccess(r.access))<<16|typ)
	binary.NativeEndian.PutUint32(ctx[bpfCtxMajor:], r.major)
	binary.NativeEndian.PutUint32(ctx[bpfCtxMinor:], r.minor)

	labels := map[string]int{}
	for i, ins := range insns {
		if s := ins.Symbol(); s != "" {
			labels[s] = i
		}
	}
	var regs [11]uint64
	for pc, steps := 0, 0; steps < 10*len(insns); steps++ {
		if pc < 0 || pc >= len(insns) {
			t.Fatalf("pc %d out of the program:\n%v", pc, insns)
		}
		ins := insns[pc]
		op := ins.OpCode
		pc++
		src := uint64(ins.Constant)
		if op.Source() == asm.RegSource {
			src = regs[ins.Src]
		}
		switch op.Class() {
		case asm.LdXClass:
			if op.Mode() != asm.MemMode || op.Size() != asm.Word || ins.Src != asm.R1 || ins.Offset < 0 || ins.Offset > 8 {
				t.Fatalf("unexpected load %v", ins)
			}
			regs[ins.Dst] = uint64(binary.NativeEndian.Uint32(ctx[ins.Offset:]))
		case asm.ALUClass:
			v := uint32(regs[ins.Dst])
			switch op.ALUOp() {
			case asm.Mov:
				v = uint32(src)
			case asm.And:
				v &= uint32(src)
			case asm.RSh:
				v >>= uint32(src)
			default:
				t.Fatalf("unexpected ALU instruction %v", ins)
			}
			regs[ins.Dst] = uint64(v)
		case asm.Jump32Class, asm.JumpClass:
			if op.Class() == asm.JumpClass && op.JumpOp() == asm.Exit {
				switch regs[asm.R0] {
				case 0:
					return false
				case 1:
					return true
				}
				t.Fatalf("program returned %d", regs[asm.R0])
			}
			if op.Class() != asm.Jump32Class || op.Source() != asm.ImmSource {
				t.Fatalf("unexpected jump %v", ins)
			}
			a, b := uint32(regs[ins.Dst]), uint32(src)
			var taken bool
			switch op.JumpOp() {
			case asm.JEq:
				taken = a == b
			case asm.JNE:
				taken = a != b
			default:
				t.Fatalf("unexpected jump %v", ins)
			}
			if taken {
				to, ok := labels[ins.Reference()]
				if !ok || to < pc {
					t.Fatalf("jump to %q: no such label ahead", ins.Reference())
				}
				pc = to
			}
		default:
			t.Fatalf("unexpected instruction %v", ins)
		}
	}
	t.Fatalf("program did not end:\n%v", insns)
	return false
}

// v1Allows is the cgroup v1 kernel's decision for r under policy p
// (security/device_cgroup.c: match_exception under a deny default,
// match_exception_partial under an allow default).
func v1Allows(p devPolicy, r devRequest) bool {
	for k, a := range p.except {
		if k.typ != r.typ ||
			(k.major != configs.Wildcard && k.major != int64(r.major)) ||
			(k.minor != configs.Wildcard && k.minor != int64(r.minor)) {
			continue
		}
		if p.allow && a&r.access != 0 {
			return false
		}
		if !p.allow && r.access&^a == 0 {
			return true
		}
	}
	return p.allow
}

func TestDeviceFilter(t *testing.T) {
	type check struct {
		r     devRequest
		allow bool
	}
	tests := []struct {
		name     string
		rules    []*configs.DeviceRule
		noFilter bool
		checks   []check
	}{
		{
			name:  "container defaults",
			rules: defaultRules,
			checks: []check{
				{req('c', 1, 3, "rw"), true},
				{req('c', 1, 3, "m"), true},
				{req('c', 1, 5, "r"), true},
				{req('c', 1, 7, "r"), false},
				{req('c', 1, 7, "m"), true}, // c *:* m
				{req('c', 136, 4, "rw"), true},
				{req('c', 136, 4, "rwm"), false}, // no one exception has all three
				{req('c', 137, 4, "r"), false},
				{req('b', 1, 3, "r"), false}, // the type matters
				{req('b', 7, 0, "m"), false},
			},
		},
		{
			name:     "allow all needs no filter",
			rules:    []*configs.DeviceRule{rule(true, 'a', w, w, "rwm")},
			noFilter: true,
		},
		{
			name:     "deny exceptions removed by allow all",
			rules:    []*configs.DeviceRule{rule(true, 'a', w, w, "rwm"), rule(false, 'c', 1, 3, "w"), rule(true, 'c', 1, 3, "w")},
			noFilter: true,
		},
		{
			name:  "no rules deny everything",
			rules: []*configs.DeviceRule{},
			checks: []check{
				{req('c', 1, 3, "r"), false},
				{req('b', 0, 0, "m"), false},
			},
		},
		{
			name:  "allows for the same device merge",
			rules: []*configs.DeviceRule{rule(true, 'c', 1, 3, "r"), rule(true, 'c', 1, 3, "w")},
			checks: []check{
				{req('c', 1, 3, "rw"), true},
				{req('c', 1, 3, "m"), false},
			},
		},
		{
			name:  "allows for different keys do not add up",
			rules: []*configs.DeviceRule{rule(true, 'c', w, w, "r"), rule(true, 'c', 1, 3, "w")},
			checks: []check{
				{req('c', 1, 3, "r"), true},
				{req('c', 1, 3, "w"), true},
				{req('c', 1, 3, "rw"), false},
				{req('c', 9, 9, "r"), true},
				{req('c', 9, 9, "w"), false},
			},
		},
		{
			name:  "a later deny overrides an allow",
			rules: []*configs.DeviceRule{rule(false, 'a', w, w, "rwm"), rule(true, 'b', 7, 0, "r"), rule(false, 'b', 7, 0, "r")},
			checks: []check{
				{req('b', 7, 0, "r"), false},
			},
		},
		{
			name:  "a later deny takes away some access",
			rules: []*configs.DeviceRule{rule(true, 'c', 1, 3, "rwm"), rule(false, 'c', 1, 3, "w")},
			checks: []check{
				{req('c', 1, 3, "r"), true},
				{req('c', 1, 3, "m"), true},
				{req('c', 1, 3, "rw"), false},
			},
		},
		{
			name:  "allow default with deny exceptions",
			rules: []*configs.DeviceRule{rule(true, 'a', w, w, "rwm"), rule(false, 'c', 1, 5, "w"), rule(false, 'b', 8, w, "rwm")},
			checks: []check{
				{req('c', 1, 5, "r"), true},
				{req('c', 1, 5, "w"), false},
				{req('c', 1, 5, "rw"), false}, // any denied bit denies
				{req('c', 1, 3, "rw"), true},
				{req('b', 8, 0, "r"), false},
				{req('b', 8, 16, "m"), false},
				{req('b', 7, 0, "rwm"), true},
			},
		},
		{
			name:  "a later type a resets",
			rules: []*configs.DeviceRule{rule(true, 'c', 1, 3, "rwm"), rule(false, 'a', w, w, "rwm")},
			checks: []check{
				{req('c', 1, 3, "r"), false},
			},
		},
		{
			name:  "fifo rules are not device rules",
			rules: []*configs.DeviceRule{rule(true, 'p', w, w, "rwm")},
			checks: []check{
				{req('c', 1, 3, "r"), false},
			},
		},
		{
			name:  "numbers above 2^31",
			rules: []*configs.DeviceRule{rule(true, 'c', 1<<32-1, 1<<31, "r")},
			checks: []check{
				{req('c', 1<<32-1, 1<<31, "r"), true},
				{req('c', 1<<32-1, 0, "r"), false},
				{req('c', 1<<31-1, 1<<31, "r"), false},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := targetPolicy(tc.rules)
			if err != nil {
				t.Fatal(err)
			}
			insns, err := deviceFilter(p)
			if err != nil {
				t.Fatal(err)
			}
			if tc.noFilter {
				if insns != nil {
					t.Fatalf("got a filter for an allow-all policy:\n%v", insns)
				}
				return
			}
			if insns == nil {
				t.Fatal("got no filter")
			}
			for _, c := range tc.checks {
				if got := runFilter(t, insns, c.r); got != c.allow {
					t.Errorf("%s: allowed = %v, want %v; program:\n%v", c.r, got, c.allow, insns)
				}
				if got := v1Allows(p, c.r); got != c.allow {
					t.Errorf("%s: the v1 model says %v, want %v", c.r, got, c.allow)
				}
			}
		})
	}
}

func TestDeviceFilterErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []*configs.DeviceRule
		want  string
	}{
		{"major too big", []*configs.DeviceRule{rule(true, 'c', 1<<32, 1, "r")}, "major number 4294967296 out of range"},
		{"negative minor", []*configs.DeviceRule{rule(true, 'b', 8, -2, "r")}, "minor number -2 out of range"},
		{"bad access", []*configs.DeviceRule{rule(true, 'c', 1, 3, "rx")}, `unknown 'x'`},
		{"type a with numbers", []*configs.DeviceRule{rule(true, 'a', 1, w, "rwm")}, "type a must not name device numbers"},
		{"unknown type", []*configs.DeviceRule{rule(true, 'u', 1, 1, "rwm")}, `type 'u': unknown`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := targetPolicy(tc.rules)
			if err == nil {
				_, err = deviceFilter(p)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestDeviceFilterMatchesV1 checks the filters of random rule lists against
// the v1 kernel's decisions on every request in a small universe.
func TestDeviceFilterMatchesV1(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	types := []configs.DeviceType{'a', 'b', 'c', 'c'}
	nums := []int64{w, 1, 7}
	var requests []devRequest
	for _, typ := range []configs.DeviceType{'b', 'c'} {
		for _, major := range []uint32{1, 7, 8} {
			for _, minor := range []uint32{1, 7, 8} {
				for a := devAccess(1); a <= accAll; a++ {
					requests = append(requests, devRequest{typ, major, minor, a})
				}
			}
		}
	}
	for i := range 500 {
		var rules []*configs.DeviceRule
		for range rng.IntN(6) {
			r := rule(rng.IntN(2) == 0, types[rng.IntN(len(types))], nums[rng.IntN(3)], nums[rng.IntN(3)], devAccess(1+rng.IntN(7)).String())
			if r.Type == 'a' {
				r.Major, r.Minor, r.Permissions = w, w, "rwm"
			}
			rules = append(rules, r)
		}
		p, err := targetPolicy(rules)
		if errors.Is(err, errDeviceHole) {
			continue // refused, as runc refuses it
		}
		if err != nil {
			t.Fatal(err)
		}
		insns, err := deviceFilter(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range requests {
			want := v1Allows(p, r)
			got := want
			if insns != nil {
				got = runFilter(t, insns, r)
			} else if !want {
				t.Fatalf("case %d: no filter, but v1 denies %s", i, r)
			}
			if got != want {
				t.Fatalf("case %d, rules %s: %s allowed = %v, v1 says %v; program:\n%v", i, formatRules(rules), r, got, want, insns)
			}
		}
	}
}

func formatRules(rules []*configs.DeviceRule) string {
	var b strings.Builder
	for _, r := range rules {
		verb := "deny"
		if r.Allow {
			verb = "allow"
		}
		fmt.Fprintf(&b, "[%s %s %s] ", verb, devKey{r.Type, r.Major, r.Minor}, r.Permissions)
	}
	return b.String()
}
