package specconv

import (
	"errors"
	"reflect"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berthrt/berth/libcontainer/configs"
)

func TestSeccomp(t *testing.T) {
	in := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: ptr(uint(38)),
		Architectures:   []specs.Arch{specs.ArchX86_64, specs.ArchX32},
		Flags:           []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog},
		ListenerPath:    "/run/agent.sock",
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write"}, Action: specs.ActAllow},
			{Names: []string{"mkdir"}, Action: specs.ActNotify, Args: []specs.LinuxSeccompArg{{Index: 1, Value: 0o777, ValueTwo: 0o700, Op: specs.OpMaskedEqual}}},
		},
	}
	got, err := Seccomp(in)
	if err != nil {
		t.Fatal(err)
	}
	want := &configs.Seccomp{
		DefaultAction:   configs.Errno,
		DefaultErrnoRet: ptr(uint(38)),
		Architectures:   []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X32"},
		Flags:           []string{"SECCOMP_FILTER_FLAG_LOG"},
		ListenerPath:    "/run/agent.sock",
		Syscalls: []*configs.Syscall{
			{Name: "read", Action: configs.Allow},
			{Name: "write", Action: configs.Allow},
			{Name: "mkdir", Action: configs.Notify, Args: []*configs.Arg{{Index: 1, Value: 0o777, ValueTwo: 0o700, Op: configs.MaskEqualTo}}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Seccomp:\n got %+v\nwant %+v", got, want)
	}
	if got, err := Seccomp(&specs.LinuxSeccomp{}); got != nil || err != nil {
		t.Errorf("empty profile: %v, %v; want no filter", got, err)
	}
}

func TestSeccompErrors(t *testing.T) {
	for _, tc := range []struct {
		field string
		in    specs.LinuxSeccomp
	}{
		{"linux.seccomp.defaultAction", specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_NOPE"}},
		{"linux.seccomp.defaultAction", specs.LinuxSeccomp{DefaultAction: specs.ActNotify}},
		{"linux.seccomp.defaultErrnoRet", specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: ptr(uint(4095))}},
		{"linux.seccomp.architectures[0]", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_Z80"}}},
		{"linux.seccomp.flags[0]", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"NOPE"}}},
		{"linux.seccomp.syscalls[0].action", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: "NOPE"}}}},
		{"linux.seccomp.syscalls[0].names", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Action: specs.ActErrno}}}},
		{"linux.seccomp.syscalls[0].names[1]", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read", ""}, Action: specs.ActErrno}}}},
		{"linux.seccomp.syscalls[0].args[0].op", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Op: "NOPE"}}}}}},
		{"linux.seccomp.syscalls[0].args[0].index", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}}},
		{"linux.seccomp.syscalls[0].errnoRet", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno, ErrnoRet: ptr(uint(70000))}}}},
		{"linux.seccomp.syscalls[0].names[0]", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/x", Syscalls: []specs.LinuxSyscall{{Names: []string{"write"}, Action: specs.ActNotify}}}},
		{"linux.seccomp.listenerPath", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActNotify}}}},
	} {
		t.Run(tc.field, func(t *testing.T) {
			_, err := Seccomp(&tc.in)
			var fe *configs.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("error %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
}
