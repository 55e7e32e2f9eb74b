package seccomp

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/berthrt/berth/libcontainer/configs"
)

// Return values of a filter (linux/seccomp.h).
const (
	retKillProcess = 0x80000000
	retKillThread  = 0x00000000
	retTrap        = 0x00030000
	retErrno       = 0x00050000
	retUserNotif   = 0x7fc00000
	retTrace       = 0x7ff00000
	retLog         = 0x7ffc0000
	retAllow       = 0x7fff0000
)

// Filter flags of seccomp(2) (linux/seccomp.h).
const (
	FlagTsync            = 1 << 0
	FlagLog              = 1 << 1
	FlagSpecAllow        = 1 << 2
	FlagNewListener      = 1 << 3
	FlagTsyncESRCH       = 1 << 4
	FlagWaitKillableRecv = 1 << 5
)

const (
	errnoEPERM  = 1
	errnoENOSYS = 38
	// maxErrno is libseccomp's bound on an errno (an errno must be below
	// it, MAX_ERRNO).
	maxErrno = 4095
)

// offsets in struct seccomp_data (little endian).
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// Options changes how Compile works.
type Options struct {
	// NoENOSYSStub leaves out runc's -ENOSYS stub, to compare the program
	// with libseccomp's.
	NoENOSYSStub bool
}

// Program is a compiled filter.
type Program struct {
	// Instructions is the BPF program.
	Instructions []Instruction
	// Flags are the seccomp(2) flags the profile asks for
	// (FlagNewListener when a rule notifies).
	Flags uint
	// Skipped are the system call names that no ABI of this host knows,
	// left out as runc does.
	Skipped []string
	// IgnoredArches are the architectures of the profile this host cannot
	// run: they can never match here, so they are left out.
	IgnoredArches []string
}

// rule is one libseccomp rule: an action when every condition holds.
type rule struct {
	conds  []configs.Arg // sorted by argument index, one per index
	action uint32
}

// Compile compiles a profile to a BPF program for this host. It fails,
// naming the field, on an unknown action, operator, architecture or flag.
func Compile(s *configs.Seccomp, opts Options) (*Program, error) {
	if s == nil {
		return nil, errors.New("seccomp: no profile")
	}
	def, err := actionValue(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("seccomp.defaultAction: %w", err)
	}
	if s.DefaultAction == configs.Notify {
		return nil, errors.New("seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action")
	}
	p := &Program{}
	if p.Flags, err = flagValues(s.Flags); err != nil {
		return nil, err
	}
	// The native ABI always, then the profile's, each once, in order.
	filterABIs := []*abi{lookupABI(nativeABI)}
	for i, name := range s.Architectures {
		a := lookupABI(name)
		if a == nil {
			if !validArch(name) {
				return nil, fmt.Errorf("seccomp.architectures[%d]: unknown architecture %q", i, name)
			}
			p.IgnoredArches = append(p.IgnoredArches, name)
			continue
		}
		if !slices.Contains(filterABIs, a) {
			filterABIs = append(filterABIs, a)
		}
	}
	rules := make(map[*abi]map[uint32][]rule, len(filterABIs))
	for _, a := range filterABIs {
		rules[a] = map[uint32][]rule{}
	}
	for i, sc := range s.Syscalls {
		if sc == nil {
			return nil, fmt.Errorf("seccomp.syscalls[%d]: missing", i)
		}
		field := fmt.Sprintf("seccomp.syscalls[%d] (%s)", i, sc.Name)
		act, err := actionValue(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("%s.action: %w", field, err)
		}
		if sc.Action == configs.Notify {
			if sc.Name == "write" {
				return nil, fmt.Errorf("%s.action: SCMP_ACT_NOTIFY cannot be used for the write syscall", field)
			}
			p.Flags |= FlagNewListener
		}
		chains, err := ruleChains(field, sc.Args)
		if err != nil {
			return nil, err
		}
		if act == def {
			// Redundant: libseccomp refuses it, runc skips it.
			continue
		}
		if !knownName(sc.Name) {
			p.Skipped = append(p.Skipped, sc.Name)
			continue
		}
		for _, a := range filterABIs {
			for _, c := range chains {
				if nr, ok := a.numbers[sc.Name]; ok {
					if rules[a][nr], err = addRule(rules[a][nr], rule{conds: c, action: act}); err != nil {
						return nil, fmt.Errorf("%s: %w", field, err)
					}
				}
				if m, ok := muxX86[sc.Name]; ok && a.audit == auditArchI386 {
					if rules[a][m[0]], err = addRule(rules[a][m[0]], muxRule(m[1], c, act)); err != nil {
						return nil, fmt.Errorf("%s: %w", field, err)
					}
				}
			}
		}
	}
	if p.Flags&FlagNewListener == 0 {
		// The kernel wants a listener for it.
		p.Flags &^= FlagWaitKillableRecv
	} else if p.Flags&FlagTsync != 0 {
		// TSYNC and a listener are exclusive unless TSYNC failures
		// report ESRCH.
		p.Flags |= FlagTsyncESRCH
	}
	for _, byNr := range rules {
		for _, list := range byNr {
			slices.SortStableFunc(list, ruleOrder)
		}
	}
	var asm assembler
	if !opts.NoENOSYSStub {
		emitStub(&asm, s, def)
	}
	emitFilter(&asm, filterABIs, rules, def)
	if p.Instructions, err = asm.layout(); err != nil {
		return nil, fmt.Errorf("seccomp: %w", err)
	}
	return p, nil
}

// validArch says whether name is an architecture libseccomp knows.
func validArch(name string) bool {
	switch name {
	case "SCMP_ARCH_NATIVE", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
		"SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
		"SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
		"SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
		"SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
		"SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64":
		return true
	}
	return false
}

// actionValue returns the filter's return value for an action.
func actionValue(a configs.Action, errnoRet *uint) (uint32, error) {
	data := func() (uint32, error) {
		if errnoRet == nil {
			return errnoEPERM, nil
		}
		// libseccomp-golang keeps 16 bits (SECCOMP_RET_DATA).
		e := uint32(*errnoRet) & 0xffff
		if e >= maxErrno {
			return 0, fmt.Errorf("errnoRet %d out of range (below %d)", *errnoRet, maxErrno)
		}
		return e, nil
	}
	switch a {
	case configs.Kill, configs.KillThread:
		return retKillThread, nil
	case configs.KillProcess:
		return retKillProcess, nil
	case configs.Trap:
		return retTrap, nil
	case configs.Errno:
		e, err := data()
		return retErrno | e, err
	case configs.Trace:
		if errnoRet == nil {
			return retTrace | errnoEPERM, nil
		}
		return retTrace | uint32(*errnoRet)&0xffff, nil
	case configs.Log:
		return retLog, nil
	case configs.Notify:
		return retUserNotif, nil
	case configs.Allow:
		return retAllow, nil
	}
	return 0, fmt.Errorf("unknown action %d", int(a))
}

// flagValues returns the seccomp(2) flags of the profile's flag names.
func flagValues(names []string) (uint, error) {
	var flags uint
	for i, f := range names {
		switch f {
		case "SECCOMP_FILTER_FLAG_TSYNC":
			flags |= FlagTsync
		case "SECCOMP_FILTER_FLAG_LOG":
			flags |= FlagLog
		case "SECCOMP_FILTER_FLAG_SPEC_ALLOW":
			flags |= FlagSpecAllow
		case "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV":
			flags |= FlagWaitKillableRecv
		default:
			return 0, fmt.Errorf("seccomp.flags[%d]: unknown flag %q", i, f)
		}
	}
	return flags, nil
}

// ruleChains returns the condition chains of a rule: one chain with every
// condition, or, when two conditions name the same argument, one chain a
// condition (runc's rule).
func ruleChains(field string, args []*configs.Arg) ([][]configs.Arg, error) {
	var (
		conds []configs.Arg
		seen  [6]int
		multi bool
	)
	for j, a := range args {
		if a == nil {
			return nil, fmt.Errorf("%s.args[%d]: missing", field, j)
		}
		if a.Index > 5 {
			return nil, fmt.Errorf("%s.args[%d].index: %d out of range 0 to 5", field, j, a.Index)
		}
		if !a.Op.Valid() {
			return nil, fmt.Errorf("%s.args[%d].op: unknown operator %d", field, j, int(a.Op))
		}
		seen[a.Index]++
		multi = multi || seen[a.Index] > 1
		conds = append(conds, *a)
	}
	if len(conds) == 0 {
		return [][]configs.Arg{nil}, nil
	}
	if multi {
		out := make([][]configs.Arg, len(conds))
		for i, c := range conds {
			out[i] = []configs.Arg{c}
		}
		return out, nil
	}
	slices.SortStableFunc(conds, func(a, b configs.Arg) int { return int(a.Index) - int(b.Index) })
	return [][]configs.Arg{conds}, nil
}

// addRule adds r to the rules of one system call as libseccomp merges
// its rule tree: an unconditional rule replaces every other, and wins
// over those that come after it (the first one stays), a rule whose conditions extend those of a rule already
// there is covered by it, and one whose conditions are a prefix of an
// existing rule's replaces it if the action is the same. The same
// conditions (or a prefix of them) with another action are refused
// (libseccomp's EEXIST).
func addRule(list []rule, r rule) ([]rule, error) {
	if len(r.conds) == 0 {
		if len(list) > 0 && len(list[0].conds) == 0 {
			return list, nil
		}
		return []rule{r}, nil
	}
	out := list[:0:0]
	for _, e := range list {
		switch {
		case len(e.conds) == 0:
			return list, nil
		case slices.Equal(e.conds, r.conds):
			if e.action != r.action {
				return nil, errors.New("a rule with the same conditions and another action exists")
			}
			return list, nil
		case isPrefix(e.conds, r.conds):
			return list, nil
		case isPrefix(r.conds, e.conds):
			if e.action != r.action {
				return nil, errors.New("a rule with the same conditions and another action exists")
			}
			continue
		}
		out = append(out, e)
	}
	return append(out, r), nil
}

func isPrefix(p, s []configs.Arg) bool { return len(p) <= len(s) && slices.Equal(p, s[:len(p)]) }

// muxRule is the rule on socketcall(2) or ipc(2) for a rule on one of the
// calls they multiplex: argument 0 is the call's number, and the rule's
// other conditions stay as they are.
func muxRule(call uint32, conds []configs.Arg, act uint32) rule {
	out := []configs.Arg{{Index: 0, Value: uint64(call), Op: configs.EqualTo}}
	for _, c := range conds {
		if c.Index != 0 {
			out = append(out, c)
		}
	}
	return rule{conds: out, action: act}
}

// Bytes returns the program as the kernel takes it: struct sock_filter
// records in host (little endian) byte order.
func (p *Program) Bytes() []byte {
	b := make([]byte, 0, 8*len(p.Instructions))
	for _, in := range p.Instructions {
		b = binary.LittleEndian.AppendUint16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = binary.LittleEndian.AppendUint32(b, in.K)
	}
	return b
}

// ProgramFromBytes is the inverse of Bytes, with the program's flags.
func ProgramFromBytes(b []byte, flags uint) (*Program, error) {
	if len(b)%8 != 0 || len(b) == 0 || len(b)/8 > maxInstructions {
		return nil, fmt.Errorf("seccomp program of %d bytes", len(b))
	}
	p := &Program{Flags: flags, Instructions: make([]Instruction, len(b)/8)}
	for i := range p.Instructions {
		r := b[8*i:]
		p.Instructions[i] = Instruction{Code: binary.LittleEndian.Uint16(r), Jt: r[2], Jf: r[3], K: binary.LittleEndian.Uint32(r[4:])}
	}
	return p, nil
}

// ruleOrder orders the conditional rules of one system call as
// libseccomp's tree tries them: at the first condition where two rules
// differ, the one on the higher argument first, and on the same argument
// and comparison, the higher value first; else in the order added. The
// first rule that matches decides.
func ruleOrder(a, b rule) int {
	for i := range min(len(a.conds), len(b.conds)) {
		x, y := a.conds[i], b.conds[i]
		if x == y {
			continue
		}
		if x.Index != y.Index {
			return int(y.Index) - int(x.Index)
		}
		if x.Op == y.Op {
			return cmp.Compare(y.Value, x.Value)
		}
		return 0
	}
	return 0
}
