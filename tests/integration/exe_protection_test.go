package integration

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHostBinaryReadOnly checks berth's protection against CVE-2019-5736
// (a container overwriting the runtime's binary through /proc/<pid>/exe):
// while the init waits in the created state it runs berth's binary, and
// that binary must be reachable only through a read-only mount.
func TestHostBinaryReadOnly(t *testing.T) {
	b := newBundle(t, "true")
	b.berth("create", b.id)
	pid := int(b.state()["pid"].(float64))
	exe := fmt.Sprintf("/proc/%d/exe", pid)

	var st unix.Statfs_t
	if err := unix.Statfs(exe, &st); err != nil {
		t.Fatal(err)
	}
	if st.Flags&unix.ST_RDONLY == 0 {
		t.Fatalf("the init's binary %s is on a writable mount (statfs flags %#x)", exe, st.Flags)
	}
	f, err := os.OpenFile(exe, os.O_WRONLY, 0)
	if err == nil {
		f.Close()
		t.Fatalf("opened the init's binary %s for writing", exe)
	}
	if !errors.Is(err, unix.EROFS) && !errors.Is(err, unix.ETXTBSY) {
		t.Fatalf("open %s for writing: %v, want EROFS or ETXTBSY", exe, err)
	}
	// The host's own view of the binary is untouched.
	if err := unix.Statfs(suite.berth, &st); err != nil {
		t.Fatal(err)
	}
	if st.Flags&unix.ST_RDONLY != 0 {
		t.Fatalf("berth's binary became read-only on the host")
	}
	b.berth("delete", "--force", b.id)
}
