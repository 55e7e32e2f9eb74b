//go:build cgo

package seccomp

// The differential test: every profile is compiled twice, by Compile and
// by libseccomp (through libseccomp-golang, driven as runc drives it),
// and both programs are run by the interpreter in bpf_test.go over every
// system call number of each ABI with sampled arguments. They must
// decide the same. libseccomp is only linked into this test.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	moby "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"

	"github.com/berthrt/berth/libcontainer/configs"
	"github.com/berthrt/berth/libcontainer/specconv"
)

// libseccompArch maps an OCI architecture to libseccomp-golang's.
var libseccompArch = map[string]string{
	"SCMP_ARCH_NATIVE": "native",
	"SCMP_ARCH_X86":    "x86",
	"SCMP_ARCH_X86_64": "amd64",
	"SCMP_ARCH_X32":    "x32",
}

func scmpAction(a configs.Action, errnoRet *uint) (libseccomp.ScmpAction, error) {
	code := int16(1) // EPERM
	if errnoRet != nil {
		code = int16(*errnoRet) //nolint:gosec // runc truncates the same way.
	}
	switch a {
	case configs.Kill, configs.KillThread:
		return libseccomp.ActKillThread, nil
	case configs.KillProcess:
		return libseccomp.ActKillProcess, nil
	case configs.Trap:
		return libseccomp.ActTrap, nil
	case configs.Errno:
		return libseccomp.ActErrno.SetReturnCode(code), nil
	case configs.Trace:
		return libseccomp.ActTrace.SetReturnCode(code), nil
	case configs.Log:
		return libseccomp.ActLog, nil
	case configs.Notify:
		return libseccomp.ActNotify, nil
	case configs.Allow:
		return libseccomp.ActAllow, nil
	}
	return libseccomp.ActInvalid, errors.New("bad action")
}

var scmpOps = map[configs.Operator]libseccomp.ScmpCompareOp{
	configs.EqualTo:              libseccomp.CompareEqual,
	configs.NotEqualTo:           libseccomp.CompareNotEqual,
	configs.GreaterThan:          libseccomp.CompareGreater,
	configs.GreaterThanOrEqualTo: libseccomp.CompareGreaterEqual,
	configs.LessThan:             libseccomp.CompareLess,
	configs.LessThanOrEqualTo:    libseccomp.CompareLessOrEqual,
	configs.MaskEqualTo:          libseccomp.CompareMaskedEqual,
}

// compileLibseccomp builds the filter with libseccomp as runc's
// InitSeccomp does (without loading it) and exports its BPF.
func compileLibseccomp(t *testing.T, s *configs.Seccomp) []Instruction {
	t.Helper()
	def, err := scmpAction(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		t.Fatal(err)
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	for _, a := range s.Architectures {
		arch, err := libseccomp.GetArchFromString(libseccompArch[a])
		if a == "SCMP_ARCH_NATIVE" {
			arch, err = libseccomp.ArchNative, nil
		}
		if err != nil {
			t.Fatalf("arch %s: %v", a, err)
		}
		if err := f.AddArch(arch); err != nil {
			t.Fatalf("add arch %s: %v", a, err)
		}
	}
	if len(s.Syscalls) > 32 {
		_ = f.SetOptimize(2)
	}
	if err := f.SetNoNewPrivsBit(false); err != nil {
		t.Fatal(err)
	}
	for _, sc := range s.Syscalls {
		act, err := scmpAction(sc.Action, sc.ErrnoRet)
		if err != nil {
			t.Fatal(err)
		}
		if act == def {
			continue
		}
		nr, err := libseccomp.GetSyscallFromName(sc.Name)
		if err != nil {
			continue
		}
		var conds []libseccomp.ScmpCondition
		seen := map[uint]bool{}
		multi := false
		for _, a := range sc.Args {
			c, err := libseccomp.MakeCondition(a.Index, scmpOps[a.Op], a.Value, a.ValueTwo)
			if err != nil {
				t.Fatal(err)
			}
			multi = multi || seen[a.Index]
			seen[a.Index] = true
			conds = append(conds, c)
		}
		switch {
		case len(conds) == 0:
			err = f.AddRule(nr, act)
		case multi:
			for _, c := range conds {
				if err = f.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{c}); err != nil {
					break
				}
			}
		default:
			err = f.AddRuleConditional(nr, act, conds)
		}
		if err != nil {
			t.Fatalf("libseccomp rule %s: %v", sc.Name, err)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		done <- b
	}()
	err = f.ExportBPF(w)
	w.Close()
	b := <-done
	if err != nil {
		t.Fatal(err)
	}
	prog := make([]Instruction, len(b)/8)
	for i := range prog {
		prog[i] = Instruction{
			Code: binary.NativeEndian.Uint16(b[8*i:]),
			Jt:   b[8*i+2],
			Jf:   b[8*i+3],
			K:    binary.NativeEndian.Uint32(b[8*i+4:]),
		}
	}
	return prog
}

// knownToLibseccomp drops the rules whose names libseccomp 2.5.4 does not
// know on the native architecture (newer system calls): runc skips them,
// and berth, whose tables are newer, would not.
func knownToLibseccomp(s *configs.Seccomp) *configs.Seccomp {
	out := *s
	out.Syscalls = nil
	for _, sc := range s.Syscalls {
		if _, err := libseccomp.GetSyscallFromName(sc.Name); err == nil {
			out.Syscalls = append(out.Syscalls, sc)
		}
	}
	return &out
}

// samples returns argument values worth trying against a profile: the
// edges, and each value the profile compares with, its neighbours and
// its halves swapped.
func samples(s *configs.Seccomp) []uint64 {
	set := map[uint64]bool{0: true, 1: true, 2: true, 0xffffffff: true, 1 << 32: true, ^uint64(0): true, 0x7fffffff: true, 0x80000000: true}
	add := func(v uint64) {
		for _, x := range []uint64{v, v - 1, v + 1, v | 1<<32, v ^ 0xffffffff00000000, v &^ 0xffffffff00000000, v << 32, v >> 32, ^v} {
			set[x] = true
		}
	}
	for _, sc := range s.Syscalls {
		for _, a := range sc.Args {
			add(a.Value)
			add(a.ValueTwo)
			add(a.Value & a.ValueTwo)
			add(a.ValueTwo | ^a.Value)
		}
	}
	out := make([]uint64, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// argVectors returns argument vectors: all zero, each sample in each
// position alone, and random mixes.
func argVectors(vals []uint64, rnd *rand.Rand) [][6]uint64 {
	out := [][6]uint64{{}}
	for i := range 6 {
		for _, v := range vals {
			var a [6]uint64
			a[i] = v
			out = append(out, a)
		}
	}
	for range 300 {
		var a [6]uint64
		for i := range a {
			a[i] = vals[rnd.IntN(len(vals))]
		}
		out = append(out, a)
	}
	return out
}

// ruleVectors returns, for each system call the profile names, argument
// vectors that satisfy one rule, or two rules at once, so that rules which
// overlap are tried where they do.
func ruleVectors(s *configs.Seccomp) [][6]uint64 {
	fill := func(v *[6]uint64, args []*configs.Arg) {
		for _, a := range args {
			switch a.Op {
			case configs.MaskEqualTo:
				v[a.Index] = a.ValueTwo
			case configs.NotEqualTo, configs.GreaterThan:
				v[a.Index] = a.Value + 1
			case configs.LessThan:
				v[a.Index] = a.Value - 1
			default:
				v[a.Index] = a.Value
			}
		}
	}
	byName := map[string][]*configs.Syscall{}
	for _, sc := range s.Syscalls {
		byName[sc.Name] = append(byName[sc.Name], sc)
	}
	var out [][6]uint64
	for _, list := range byName {
		for i, a := range list {
			var v [6]uint64
			fill(&v, a.Args)
			out = append(out, v)
			for _, b := range list[i+1:] {
				w, x := v, [6]uint64{}
				fill(&w, b.Args)
				fill(&x, b.Args)
				fill(&x, a.Args)
				out = append(out, w, x)
			}
		}
	}
	return out
}

// nrsToTry are the system call numbers tried on each audit architecture.
func nrsToTry(arch uint32) []uint32 {
	var out []uint32
	for nr := range uint32(560) {
		out = append(out, nr)
		if arch == auditArchX86_64 {
			out = append(out, nr|x32Bit)
		}
	}
	return append(out, 1000, 0x3fffffff, 0x7fffffff, 0xffffffff)
}

// compareDecisions runs both programs and reports every difference.
func compareDecisions(t *testing.T, s *configs.Seccomp, ours, theirs []Instruction) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(1, 2))
	vecs := append(argVectors(samples(s), rnd), ruleVectors(s)...)
	diffs, compared := 0, 0
	for _, arch := range []uint32{auditArchX86_64, auditArchI386, 0xc00000b7 /* aarch64 */} {
		for _, nr := range nrsToTry(arch) {
			for _, args := range vecs {
				compared++
				d := &seccompData{nr: nr, arch: arch, args: args}
				got, err := run(ours, d)
				if err != nil {
					t.Fatalf("berth's program: %v", err)
				}
				want, err := run(theirs, d)
				if err != nil {
					t.Fatalf("libseccomp's program: %v", err)
				}
				if got != want {
					diffs++
					if diffs <= 20 {
						t.Errorf("arch %#x nr %#x args %#x: berth %#x, libseccomp %#x", arch, nr, args, got, want)
					}
				}
			}
		}
	}
	if diffs > 20 {
		t.Errorf("... %d differences in all", diffs)
	}
	t.Logf("%d decisions compared (%d argument vectors)", compared, len(vecs))
}

func diffProfile(t *testing.T, s *configs.Seccomp) {
	t.Helper()
	s = knownToLibseccomp(s)
	p, err := Compile(s, Options{NoENOSYSStub: true})
	if err != nil {
		t.Fatal(err)
	}
	compareDecisions(t, s, p.Instructions, compileLibseccomp(t, s))
}

func TestDiffDockerDefault(t *testing.T) {
	for _, tc := range []struct {
		name string
		caps []string
	}{
		{"docker-caps", []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}},
		{"all-caps", []string{"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_CHROOT", "CAP_SYS_MODULE", "CAP_SYS_PACCT", "CAP_SYS_PTRACE", "CAP_SYS_RAWIO", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYSLOG", "CAP_BPF", "CAP_PERFMON", "CAP_DAC_READ_SEARCH", "CAP_NET_ADMIN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: tc.caps}}}
			prof, err := moby.GetDefaultProfile(spec)
			if err != nil {
				t.Fatal(err)
			}
			s, err := specconv.Seccomp(prof)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Syscalls) < 300 {
				t.Fatalf("Docker's profile has only %d rules", len(s.Syscalls))
			}
			diffProfile(t, s)
		})
	}
}

// loadProfiles reads the hand-written corpus.
func loadProfiles(t *testing.T) map[string]*configs.Seccomp {
	t.Helper()
	files, err := filepath.Glob("testdata/profiles/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no profiles in testdata/profiles: %v", err)
	}
	out := map[string]*configs.Seccomp{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var prof specs.LinuxSeccomp
		if err := json.Unmarshal(b, &prof); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		s, err := specconv.Seccomp(&prof)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = s
	}
	return out
}

func TestDiffCorpus(t *testing.T) {
	for name, s := range loadProfiles(t) {
		t.Run(name, func(t *testing.T) { diffProfile(t, s) })
	}
}
