//go:build cgo

package seccomp

import (
	"slices"
	"testing"

	libseccomp "github.com/seccomp/libseccomp-golang"
)

// TestTablesAgreeWithLibseccomp checks berth's system call numbers
// against libseccomp's on each ABI: a name both know has the same number.
// Names only berth knows are newer than libseccomp 2.5.4.
func TestTablesAgreeWithLibseccomp(t *testing.T) {
	for name, a := range abis() {
		arch, err := libseccomp.GetArchFromString(libseccompArch[name])
		if err != nil {
			t.Fatal(err)
		}
		var newer []string
		for sc, nr := range a.numbers {
			want, err := libseccomp.GetSyscallFromNameByArch(sc, arch)
			if err != nil {
				newer = append(newer, sc)
				continue
			}
			if _, mux := muxX86[sc]; want < 0 && mux && a.audit == auditArchI386 {
				// A pseudo number: libseccomp knows the call through
				// socketcall or ipc only, and adds the direct call
				// (tested in the corpus) besides.
				continue
			}
			if want < 0 {
				t.Errorf("%s: %s is %d here, libseccomp has no such system call (%d)", name, sc, nr, want)
				continue
			}
			if uint32(want) != nr {
				t.Errorf("%s: %s is %#x here, %#x in libseccomp", name, sc, nr, uint32(want))
			}
		}
		slices.Sort(newer)
		t.Logf("%s: %d names libseccomp does not know: %v", name, len(newer), newer)
	}
}
