package seccomp

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berthrt/berth/libcontainer/configs"
)

func ptr[T any](v T) *T { return &v }

func mustCompile(t *testing.T, s *configs.Seccomp, opts Options) *Program {
	t.Helper()
	p, err := Compile(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func decide(t *testing.T, p *Program, arch, nr uint32, args ...uint64) uint32 {
	t.Helper()
	d := &seccompData{nr: nr, arch: arch}
	copy(d.args[:], args)
	r, err := run(p.Instructions, d)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func nr(t *testing.T, arch, name string) uint32 {
	t.Helper()
	n, ok := SyscallNumber(arch, name)
	if !ok {
		t.Fatalf("%s has no %s", arch, name)
	}
	return n
}

// TestENOSYSStub checks runc's stub: above the largest system call the
// profile names on an ABI, ENOSYS; at or below it, the filter decides.
func TestENOSYSStub(t *testing.T) {
	prof := &configs.Seccomp{
		DefaultAction: configs.Errno,
		Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"},
		Syscalls: []*configs.Syscall{
			{Name: "read", Action: configs.Allow},
			{Name: "openat", Action: configs.Allow},
			{Name: "pidfd_open", Action: configs.Allow}, // 434 on every ABI
		},
	}
	p := mustCompile(t, prof, Options{})
	const enosys, eperm, allow = retErrno | 38, retErrno | 1, retAllow
	for _, tc := range []struct {
		arch, nr, want uint32
	}{
		{auditArchX86_64, 0, allow},                // read
		{auditArchX86_64, 1, eperm},                // write: below the largest
		{auditArchX86_64, 434, allow},              // pidfd_open, the largest
		{auditArchX86_64, 435, enosys},             // clone3: newer
		{auditArchX86_64, 1000, enosys},            // unknown
		{auditArchX86_64, x32Bit | 434, allow},     // x32 pidfd_open
		{auditArchX86_64, x32Bit | 435, enosys},    // x32 clone3
		{auditArchX86_64, x32Bit | 100, eperm},     // x32, denied
		{auditArchI386, 3, allow},                  // x86 read
		{auditArchI386, 435, enosys},               // x86 clone3
		{auditArchI386, 4, eperm},                  // x86 write
		{0xc00000b7, 1000, retKillThread},          // aarch64: bad arch
		{auditArchX86_64, 0xffffffff, enosys},      // -1 is above too
		{auditArchX86_64, x32Bit | 0x1000, enosys}, // x32, unknown
	} {
		if got := decide(t, p, tc.arch, tc.nr); got != tc.want {
			t.Errorf("arch %#x nr %#x: %#x, want %#x", tc.arch, tc.nr, got, tc.want)
		}
	}
	// No stub: the default action decides.
	p = mustCompile(t, prof, Options{NoENOSYSStub: true})
	if got := decide(t, p, auditArchX86_64, 435); got != eperm {
		t.Errorf("without the stub: clone3 %#x, want EPERM", got)
	}
	// No stub when the default action allows, logs or traces, or is
	// ENOSYS already, or the profile lists no architecture (runc's
	// rules).
	for _, edit := range []func(*configs.Seccomp){
		func(s *configs.Seccomp) { s.DefaultAction = configs.Allow },
		func(s *configs.Seccomp) { s.DefaultAction = configs.Log },
		func(s *configs.Seccomp) { s.DefaultAction = configs.Trace },
		func(s *configs.Seccomp) { s.DefaultErrnoRet = ptr(uint(38)) },
		func(s *configs.Seccomp) { s.Architectures = nil },
	} {
		s := *prof
		edit(&s)
		withStub := mustCompile(t, &s, Options{})
		without := mustCompile(t, &s, Options{NoENOSYSStub: true})
		if !slices.Equal(withStub.Instructions, without.Instructions) {
			t.Errorf("profile %+v: stub emitted", s)
		}
	}
}

// TestRuleMerge checks the rules of one system call merge as in
// libseccomp (the differential test covers the rest).
func TestRuleMerge(t *testing.T) {
	kill := nr(t, "SCMP_ARCH_X86_64", "kill")
	eq := func(i uint, v uint64) *configs.Arg { return &configs.Arg{Index: i, Value: v, Op: configs.EqualTo} }
	prof := func(rules ...*configs.Syscall) *configs.Seccomp {
		return &configs.Seccomp{DefaultAction: configs.Allow, Syscalls: rules}
	}
	// The first unconditional rule wins.
	p := mustCompile(t, prof(
		&configs.Syscall{Name: "kill", Action: configs.Errno, Args: []*configs.Arg{eq(0, 1)}},
		&configs.Syscall{Name: "kill", Action: configs.Trap},
		&configs.Syscall{Name: "kill", Action: configs.KillProcess},
	), Options{})
	if got := decide(t, p, auditArchX86_64, kill, 1); got != retTrap {
		t.Errorf("kill(1): %#x, want TRAP", got)
	}
	// Same conditions, another action: refused.
	_, err := Compile(prof(
		&configs.Syscall{Name: "kill", Action: configs.Errno, Args: []*configs.Arg{eq(0, 1)}},
		&configs.Syscall{Name: "kill", Action: configs.Trap, Args: []*configs.Arg{eq(0, 1)}},
	), Options{})
	if err == nil || !strings.Contains(err.Error(), "syscalls[1] (kill)") {
		t.Errorf("conflicting rules: %v", err)
	}
	// A prefix of a rule's conditions with another action: refused too.
	_, err = Compile(prof(
		&configs.Syscall{Name: "kill", Action: configs.Errno, Args: []*configs.Arg{eq(0, 1), eq(1, 2)}},
		&configs.Syscall{Name: "kill", Action: configs.Trap, Args: []*configs.Arg{eq(0, 1)}},
	), Options{})
	if err == nil {
		t.Error("a shorter rule with another action: no error")
	}
	// Longer after shorter: covered, whatever the action.
	p = mustCompile(t, prof(
		&configs.Syscall{Name: "kill", Action: configs.Errno, Args: []*configs.Arg{eq(0, 1)}},
		&configs.Syscall{Name: "kill", Action: configs.Trap, Args: []*configs.Arg{eq(0, 1), eq(1, 3)}},
	), Options{})
	if got := decide(t, p, auditArchX86_64, kill, 1, 3); got != retErrno|1 {
		t.Errorf("kill(1, 3): %#x, want the shorter rule's EPERM", got)
	}
	// Conditions on the same argument: any of them (runc's rule).
	p = mustCompile(t, prof(&configs.Syscall{Name: "kill", Action: configs.Errno, Args: []*configs.Arg{eq(1, 9), eq(1, 15)}}), Options{})
	for sig, want := range map[uint64]uint32{9: retErrno | 1, 15: retErrno | 1, 10: retAllow} {
		if got := decide(t, p, auditArchX86_64, kill, 0, sig); got != want {
			t.Errorf("kill(0, %d): %#x, want %#x", sig, got, want)
		}
	}
}

// TestLongJumps compiles a profile whose dispatch and rules need jumps
// beyond 255 instructions, and checks every rule still decides.
func TestLongJumps(t *testing.T) {
	prof := &configs.Seccomp{DefaultAction: configs.Errno, Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}}
	var names []string
	for name := range abis()["SCMP_ARCH_X86_64"].numbers {
		names = append(names, name)
	}
	slices.Sort(names)
	for i, name := range names {
		sc := &configs.Syscall{Name: name, Action: configs.Allow}
		if i%3 == 0 {
			sc.Args = []*configs.Arg{{Index: uint(i % 6), Value: uint64(i) << 20, Op: configs.GreaterThan}}
		}
		prof.Syscalls = append(prof.Syscalls, sc)
	}
	p := mustCompile(t, prof, Options{})
	if len(p.Instructions) < 512 {
		t.Fatalf("only %d instructions: no long jump tested", len(p.Instructions))
	}
	for i, name := range names {
		n := nr(t, "SCMP_ARCH_X86_64", name)
		var args [6]uint64
		if i%3 == 0 {
			args[i%6] = uint64(i)<<20 + 1
		}
		if got := decide(t, p, auditArchX86_64, n, args[:]...); got != retAllow {
			t.Errorf("%s (%d): %#x, want ALLOW", name, n, got)
		}
		if i%3 == 0 {
			if got := decide(t, p, auditArchX86_64, n); got != retErrno|1 {
				t.Errorf("%s (%d) failing its condition: %#x, want EPERM", name, n, got)
			}
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *configs.Seccomp
		want string
	}{
		{"nil", nil, "no profile"},
		{"default action", &configs.Seccomp{DefaultAction: 99}, "seccomp.defaultAction"},
		{"notify default", &configs.Seccomp{DefaultAction: configs.Notify}, "SCMP_ACT_NOTIFY"},
		{"action", &configs.Seccomp{DefaultAction: configs.Allow, Syscalls: []*configs.Syscall{{Name: "read"}}}, "syscalls[0] (read).action"},
		{"operator", &configs.Seccomp{DefaultAction: configs.Allow, Syscalls: []*configs.Syscall{{Name: "read", Action: configs.Errno, Args: []*configs.Arg{{Op: 42}}}}}, "args[0].op"},
		{"index", &configs.Seccomp{DefaultAction: configs.Allow, Syscalls: []*configs.Syscall{{Name: "read", Action: configs.Errno, Args: []*configs.Arg{{Index: 6, Op: configs.EqualTo}}}}}, "args[0].index"},
		{"arch", &configs.Seccomp{DefaultAction: configs.Allow, Architectures: []string{"SCMP_ARCH_Z80"}}, "architectures[0]"},
		{"flag", &configs.Seccomp{DefaultAction: configs.Allow, Flags: []string{"SECCOMP_FILTER_FLAG_FOO"}}, "flags[0]"},
		{"errno", &configs.Seccomp{DefaultAction: configs.Errno, DefaultErrnoRet: ptr(uint(4095))}, "errnoRet 4095"},
		{"notify write", &configs.Seccomp{DefaultAction: configs.Allow, Syscalls: []*configs.Syscall{{Name: "write", Action: configs.Notify}}}, "write"},
		{"nil rule", &configs.Seccomp{DefaultAction: configs.Allow, Syscalls: []*configs.Syscall{nil}}, "syscalls[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.s, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestCompileFlagsAndArches(t *testing.T) {
	p := mustCompile(t, &configs.Seccomp{
		DefaultAction: configs.Allow,
		Architectures: []string{"SCMP_ARCH_AARCH64", "SCMP_ARCH_NATIVE"},
		Flags:         []string{"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"},
		Syscalls:      []*configs.Syscall{{Name: "no_such_call", Action: configs.Errno}, {Name: "waitpid", Action: configs.Errno}},
	}, Options{})
	// WAIT_KILLABLE_RECV needs a listener: dropped without one.
	if want := uint(FlagLog | FlagSpecAllow | FlagTsync); p.Flags != want {
		t.Errorf("flags %#x, want %#x", p.Flags, want)
	}
	if !slices.Equal(p.Skipped, []string{"no_such_call"}) || !slices.Equal(p.IgnoredArches, []string{"SCMP_ARCH_AARCH64"}) {
		t.Errorf("skipped %v, ignored arches %v", p.Skipped, p.IgnoredArches)
	}
	// waitpid is x86's only: x86_64 has none, and without x86 in the
	// filter it is a bad architecture.
	if got := decide(t, p, auditArchI386, 7); got != retKillThread {
		t.Errorf("x86 without SCMP_ARCH_X86: %#x, want KILL", got)
	}
	q, err := ProgramFromBytes(p.Bytes(), p.Flags)
	if err != nil || !slices.Equal(q.Instructions, p.Instructions) {
		t.Errorf("Bytes round trip: %v", err)
	}
}

// FuzzCompile compiles random profiles (OCI JSON, converted as specconv
// does, without its checks) and runs what compiles: no panic, and a
// program the interpreter accepts.
func FuzzCompile(f *testing.F) {
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],"syscalls":[{"names":["read","socket"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":40,"op":"SCMP_CMP_NE"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var in specs.LinuxSeccomp
		if json.Unmarshal(data, &in) != nil {
			return
		}
		s := &configs.Seccomp{Architectures: archStrings(in.Architectures), DefaultErrnoRet: in.DefaultErrnoRet}
		s.DefaultAction, _ = configs.ActionFromString(string(in.DefaultAction))
		for _, f := range in.Flags {
			s.Flags = append(s.Flags, string(f))
		}
		for _, sc := range in.Syscalls {
			act, _ := configs.ActionFromString(string(sc.Action))
			var args []*configs.Arg
			for _, a := range sc.Args {
				op, _ := configs.OperatorFromString(string(a.Op))
				args = append(args, &configs.Arg{Index: a.Index, Value: a.Value, ValueTwo: a.ValueTwo, Op: op})
			}
			for _, name := range sc.Names {
				s.Syscalls = append(s.Syscalls, &configs.Syscall{Name: name, Action: act, ErrnoRet: sc.ErrnoRet, Args: args})
			}
		}
		p, err := Compile(s, Options{})
		if err != nil {
			return
		}
		for _, arch := range []uint32{auditArchX86_64, auditArchI386, 0} {
			for _, n := range []uint32{0, 3, 59, 102, 435, x32Bit | 1, 0xffffffff} {
				if _, err := run(p.Instructions, &seccompData{nr: n, arch: arch, args: [6]uint64{40, 1 << 32, ^uint64(0)}}); err != nil {
					t.Fatalf("program does not run: %v", err)
				}
			}
		}
	})
}

func archStrings(in []specs.Arch) []string {
	out := make([]string, len(in))
	for i, a := range in {
		out[i] = string(a)
	}
	return out
}
