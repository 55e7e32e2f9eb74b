package lsm

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The tests in this file use the real kernel interfaces. On this machine
// (no AppArmor, SELinux not enabled) they check that berth sees both
// modules as absent and that the verified procfs path works; where a
// module runs they skip, since writing its attributes would change the
// test's own thread.

func skipIfLSM(t *testing.T) {
	t.Helper()
	var h Host
	if h.AppArmorEnabled() || h.SELinuxEnabled() {
		t.Skip("this host runs AppArmor or SELinux: the test needs a host without them")
	}
}

func TestHostWithoutLSM(t *testing.T) {
	skipIfLSM(t)
	var h Host
	if err := h.Check("", ""); err != nil {
		t.Fatalf("Check with nothing asked: %v", err)
	}
	if err := h.Check("docker-default", ""); !errors.Is(err, ErrAppArmorNotEnabled) {
		t.Errorf("Check(profile) = %v, want ErrAppArmorNotEnabled", err)
	}
	if err := h.Check("", "system_u:system_r:container_t:s0"); !errors.Is(err, ErrSELinuxNotEnabled) {
		t.Errorf("Check(label) = %v, want ErrSELinuxNotEnabled", err)
	}
	if err := h.SetKeyLabel(""); err != nil {
		t.Errorf("SetKeyLabel(\"\") = %v, want a no-op", err)
	}
}

// TestApplyWithoutLSM writes to the real attr/exec: with no module to take
// it the kernel refuses (EINVAL), which is the error runc's init reports.
func TestApplyWithoutLSM(t *testing.T) {
	skipIfLSM(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var h Host
	err := h.ApplyAppArmorProfile("berth-test")
	if err == nil {
		t.Fatal("applying a profile without AppArmor succeeded")
	}
	if _, statErr := os.Stat("/proc/thread-self/attr/exec"); statErr == nil && !errors.Is(err, unix.EINVAL) {
		t.Errorf("got %v, want EINVAL from attr/exec", err)
	}
	if err := h.SetExecLabel("system_u:system_r:container_t:s0"); err == nil {
		t.Error("setting an exec label without SELinux succeeded")
	}
}

func TestOpenProcAttr(t *testing.T) {
	if _, err := os.Stat("/proc/thread-self/attr/current"); err != nil {
		t.Skipf("no attr files in this kernel's procfs: %v", err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f, err := openProcAttr("current", os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := checkProcfs(f); err != nil {
		t.Fatal(err)
	}
	if _, err := openProcAttr("no-such-attr", os.O_RDONLY); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("opening a missing attr: %v, want not-exist", err)
	}
}

// TestCheckProcfsRefusesOtherFS is the CVE-2019-16884 guard: a file that
// a container put where /proc should be is not written to.
func TestCheckProcfsRefusesOtherFS(t *testing.T) {
	p := filepath.Join(t.TempDir(), "exec")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := checkProcfs(f); err == nil || !strings.Contains(err.Error(), "not on procfs") {
		t.Fatalf("checkProcfs(temp file) = %v, want a not-on-procfs error", err)
	}
}

func TestIsSELinuxFS(t *testing.T) {
	if isSELinuxFS(t.TempDir()) {
		t.Error("a temp directory is taken for selinuxfs")
	}
	if isSELinuxFS("/nonexistent/selinux") {
		t.Error("a missing path is taken for selinuxfs")
	}
}

func TestSetFileLabel(t *testing.T) {
	const label = "system_u:object_r:container_file_t:s0:c1,c2"
	t.Run("without selinux", func(t *testing.T) {
		f := newFakeHost(t, false, false)
		if err := f.SetFileLabel("/nonexistent", label); err != nil {
			t.Fatalf("got %v, want a no-op", err)
		}
	})
	t.Run("empty label", func(t *testing.T) {
		f := newFakeHost(t, false, true)
		if err := f.SetFileLabel("/nonexistent", ""); err != nil {
			t.Fatalf("got %v, want a no-op", err)
		}
	})
	t.Run("with selinux", func(t *testing.T) {
		f := newFakeHost(t, false, true)
		p := filepath.Join(t.TempDir(), "mqueue")
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := f.SetFileLabel("/nonexistent/x", label); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "/nonexistent/x") {
			t.Errorf("labelling a missing file: %v, want a not-exist error naming it", err)
		}
		err := f.SetFileLabel(p, label)
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			// No LSM takes security.* here; a filesystem without
			// security xattrs refuses it.
			t.Skipf("the temp directory's filesystem refuses security.selinux without SELinux: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 256)
		n, err := unix.Getxattr(p, "security.selinux", buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(buf[:n]); got != label {
			t.Errorf("security.selinux = %q, want %q", got, label)
		}
	})
}
