package specconv

import (
	"errors"
	"fmt"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berthrt/berth/libcontainer/configs"
)

// knownArches are the architectures a profile may name, as libseccomp
// spells them: every one libseccomp 2.5 knows. The filter itself covers
// only those this host can run (see internal/seccomp), the others are
// accepted and left out, as runc with libseccomp would never match them.
var knownArches = []string{
	"SCMP_ARCH_NATIVE", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
	"SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
	"SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
	"SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
	"SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
	"SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
}

// KnownSeccompArches returns the architectures a profile may name, for
// `berth features`.
func KnownSeccompArches() []string { return slices.Clone(knownArches) }

// KnownSeccompActions returns the actions a profile may use, for `berth
// features`.
func KnownSeccompActions() []string {
	return []string{
		"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
		"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
		"SCMP_ACT_TRAP",
	}
}

// knownSeccompFlags are the filter flags CreateConfig accepts.
var knownSeccompFlags = []specs.LinuxSeccompFlag{
	specs.LinuxSeccompFlagLog,
	specs.LinuxSeccompFlagSpecAllow,
	specs.LinuxSeccompFlagWaitKillableRecv,
	"SECCOMP_FILTER_FLAG_TSYNC",
}

// KnownSeccompFlags returns the filter flags a profile may name, for
// `berth features`.
func KnownSeccompFlags() []string {
	out := make([]string, len(knownSeccompFlags))
	for i, f := range knownSeccompFlags {
		out[i] = string(f)
	}
	return out
}

// Seccomp converts linux.seccomp; errors are *configs.FieldError values.
// A profile without a default action and without rules means no filter
// (nil), as in runc. Names of system calls are not checked here: the
// compiler skips those it does not know, as runc does.
func Seccomp(in *specs.LinuxSeccomp) (*configs.Seccomp, error) {
	if in == nil || in.DefaultAction == "" && len(in.Syscalls) == 0 {
		return nil, nil
	}
	const field = "linux.seccomp"
	def, ok := configs.ActionFromString(string(in.DefaultAction))
	if !ok {
		return nil, &configs.FieldError{Field: field + ".defaultAction", Err: fmt.Errorf("unknown action %q", in.DefaultAction)}
	}
	if def == configs.Notify {
		return nil, &configs.FieldError{Field: field + ".defaultAction", Err: errors.New("SCMP_ACT_NOTIFY cannot be the default action")}
	}
	if e := in.DefaultErrnoRet; e != nil && def == configs.Errno && *e&0xffff >= 4095 {
		return nil, &configs.FieldError{Field: field + ".defaultErrnoRet", Err: fmt.Errorf("%d out of range (below 4095)", *e)}
	}
	out := &configs.Seccomp{
		DefaultAction:    def,
		DefaultErrnoRet:  clone(in.DefaultErrnoRet),
		ListenerPath:     in.ListenerPath,
		ListenerMetadata: in.ListenerMetadata,
	}
	for i, a := range in.Architectures {
		if !slices.Contains(knownArches, string(a)) {
			return nil, &configs.FieldError{Field: fmt.Sprintf("%s.architectures[%d]", field, i), Err: fmt.Errorf("unknown architecture %q", a)}
		}
		out.Architectures = append(out.Architectures, string(a))
	}
	for i, f := range in.Flags {
		if !slices.Contains(knownSeccompFlags, f) {
			return nil, &configs.FieldError{Field: fmt.Sprintf("%s.flags[%d]", field, i), Err: fmt.Errorf("unknown flag %q", f)}
		}
		out.Flags = append(out.Flags, string(f))
	}
	notify := false
	for i, sc := range in.Syscalls {
		rules, err := convertSyscall(fmt.Sprintf("%s.syscalls[%d]", field, i), sc)
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			notify = notify || r.Action == configs.Notify
		}
		out.Syscalls = append(out.Syscalls, rules...)
	}
	if notify && out.ListenerPath == "" {
		return nil, &configs.FieldError{Field: field + ".listenerPath", Err: errors.New("required by SCMP_ACT_NOTIFY")}
	}
	return out, nil
}

// convertSyscall turns one OCI rule (several names) into one rule a name.
func convertSyscall(field string, sc specs.LinuxSyscall) ([]*configs.Syscall, error) {
	act, ok := configs.ActionFromString(string(sc.Action))
	if !ok {
		return nil, &configs.FieldError{Field: field + ".action", Err: fmt.Errorf("unknown action %q", sc.Action)}
	}
	if e := sc.ErrnoRet; e != nil && act == configs.Errno && *e&0xffff >= 4095 {
		// libseccomp refuses an errno from MAX_ERRNO up (it keeps 16 bits).
		return nil, &configs.FieldError{Field: field + ".errnoRet", Err: fmt.Errorf("%d out of range (below 4095)", *e)}
	}
	if len(sc.Names) == 0 {
		return nil, &configs.FieldError{Field: field + ".names", Err: errors.New("empty")}
	}
	var args []*configs.Arg
	for j, a := range sc.Args {
		op, ok := configs.OperatorFromString(string(a.Op))
		if !ok {
			return nil, &configs.FieldError{Field: fmt.Sprintf("%s.args[%d].op", field, j), Err: fmt.Errorf("unknown operator %q", a.Op)}
		}
		if a.Index > 5 {
			return nil, &configs.FieldError{Field: fmt.Sprintf("%s.args[%d].index", field, j), Err: fmt.Errorf("%d out of range 0 to 5", a.Index)}
		}
		args = append(args, &configs.Arg{Index: a.Index, Value: a.Value, ValueTwo: a.ValueTwo, Op: op})
	}
	out := make([]*configs.Syscall, 0, len(sc.Names))
	for k, name := range sc.Names {
		if name == "" {
			return nil, &configs.FieldError{Field: fmt.Sprintf("%s.names[%d]", field, k), Err: errors.New("empty")}
		}
		if act == configs.Notify && name == "write" {
			// The init writes to its parent after loading the filter.
			return nil, &configs.FieldError{Field: fmt.Sprintf("%s.names[%d]", field, k), Err: errors.New("SCMP_ACT_NOTIFY cannot be used for the write syscall")}
		}
		r := &configs.Syscall{Name: name, Action: act, ErrnoRet: clone(sc.ErrnoRet)}
		for _, a := range args {
			c := *a
			r.Args = append(r.Args, &c)
		}
		out = append(out, r)
	}
	return out, nil
}
