package seccomp

import (
	"testing"

	"github.com/elastic/go-seccomp-bpf/arch"
)

// TestTablesUpToDate checks ztables.go against the tables it was
// generated from: after an update of go-seccomp-bpf, run go generate.
func TestTablesUpToDate(t *testing.T) {
	for _, c := range []struct {
		name  string
		table []sysEntry
		info  *arch.Info
	}{
		{"x86_64", tableX86_64[:], arch.X86_64},
		{"i386", tableI386[:], arch.I386},
		{"x32", tableX32[:], arch.X32},
	} {
		if len(c.table) != len(c.info.SyscallNumbers) {
			t.Errorf("%s: %d system calls, go-seccomp-bpf has %d: run go generate", c.name, len(c.table), len(c.info.SyscallNumbers))
		}
		for _, e := range c.table {
			if name := c.info.SyscallNumbers[int(e.nr)]; name != e.name {
				t.Errorf("%s: %d is %q, go-seccomp-bpf says %q: run go generate", c.name, e.nr, e.name, name)
			}
		}
	}
}
