package lsm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// This machine runs neither AppArmor (CONFIG_SECURITY_APPARMOR is not set)
// nor SELinux (compiled in, never enabled: no /sys/fs/selinux). The tests
// below therefore drive every code path against a fake host: a temporary
// directory holding the sysfs files and the thread's /proc attr files,
// through Host's injectable paths and opener.

// fakeHost is a Host whose sysfs and attr files live in a temp directory.
type fakeHost struct {
	Host
	dir string
	// opened records the attr files opened, in order.
	opened []string
}

// newFakeHost lays out a host; apparmor and selinux say which module runs.
func newFakeHost(t *testing.T, apparmor, selinux bool) *fakeHost {
	t.Helper()
	dir := t.TempDir()
	f := &fakeHost{dir: dir}
	f.Sys = filepath.Join(dir, "sys")
	mkdir(t, filepath.Join(dir, "attr"))
	mkdir(t, filepath.Join(dir, "attr", "apparmor"))
	for _, name := range []string{"exec", "keycreate", "current", "apparmor/exec"} {
		write(t, filepath.Join(dir, "attr", name), "")
	}
	write(t, filepath.Join(dir, "attr", "current"), "unconfined\n")
	if apparmor {
		mkdir(t, filepath.Join(f.Sys, "kernel/security/apparmor"))
		mkdir(t, filepath.Join(f.Sys, "module/apparmor/parameters"))
		write(t, filepath.Join(f.Sys, "module/apparmor/parameters/enabled"), "Y\n")
	}
	mkdir(t, filepath.Join(f.Sys, "fs/selinux"))
	f.IsSELinuxFS = func(p string) bool {
		if p != filepath.Join(f.Sys, "fs/selinux") {
			t.Errorf("IsSELinuxFS(%q): want the sysfs selinux path", p)
		}
		return selinux
	}
	f.OpenAttr = func(name string, flags int) (*os.File, error) {
		f.opened = append(f.opened, name)
		if flags&(os.O_WRONLY|os.O_RDWR) != 0 {
			flags |= os.O_TRUNC
		}
		return os.OpenFile(filepath.Join(dir, "attr", name), flags, 0)
	}
	return f
}

func (f *fakeHost) attr(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, "attr", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAppArmorEnabled(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, f *fakeHost)
		enabled bool
	}{
		{"enabled", func(*testing.T, *fakeHost) {}, true},
		{"parameter N", func(t *testing.T, f *fakeHost) {
			write(t, filepath.Join(f.Sys, "module/apparmor/parameters/enabled"), "N\n")
		}, false},
		{"parameter empty", func(t *testing.T, f *fakeHost) {
			write(t, filepath.Join(f.Sys, "module/apparmor/parameters/enabled"), "")
		}, false},
		{"no securityfs directory", func(t *testing.T, f *fakeHost) {
			if err := os.Remove(filepath.Join(f.Sys, "kernel/security/apparmor")); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"no module", func(t *testing.T, f *fakeHost) {
			if err := os.RemoveAll(filepath.Join(f.Sys, "module")); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeHost(t, true, false)
			tc.setup(t, f)
			if got := f.AppArmorEnabled(); got != tc.enabled {
				t.Errorf("AppArmorEnabled() = %v, want %v", got, tc.enabled)
			}
		})
	}
}

func TestSELinuxEnabled(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fs      bool
		current string
		enabled bool
	}{
		{"enabled", true, "system_u:system_r:unconfined_t:s0\x00", true},
		{"no selinuxfs", false, "system_u:system_r:unconfined_t:s0", false},
		{"no policy loaded", true, "kernel\x00", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeHost(t, false, tc.fs)
			write(t, filepath.Join(f.dir, "attr", "current"), tc.current)
			if got := f.SELinuxEnabled(); got != tc.enabled {
				t.Errorf("SELinuxEnabled() = %v, want %v", got, tc.enabled)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name              string
		apparmor, selinux bool
		profile, label    string
		want              error
	}{
		{"nothing asked, nothing enabled", false, false, "", "", nil},
		{"profile without apparmor", false, true, "p", "", ErrAppArmorNotEnabled},
		{"profile with apparmor", true, false, "p", "", nil},
		{"label without selinux", true, false, "", "system_u:system_r:container_t:s0", ErrSELinuxNotEnabled},
		{"label with selinux", false, true, "", "system_u:system_r:container_t:s0", nil},
		{"both enabled", true, true, "p", "l:r:t", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeHost(t, tc.apparmor, tc.selinux)
			err := f.Check(tc.profile, tc.label)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("Check(%q, %q) = %v, want %v", tc.profile, tc.label, err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), tc.profile+tc.label) {
				t.Errorf("error %q does not name %q", err, tc.profile+tc.label)
			}
		})
	}
}

func TestApplyAppArmorProfile(t *testing.T) {
	t.Run("per-module attr", func(t *testing.T) {
		f := newFakeHost(t, true, false)
		if err := f.ApplyAppArmorProfile("berth-test"); err != nil {
			t.Fatal(err)
		}
		if got := f.attr(t, "apparmor/exec"); got != "exec berth-test" {
			t.Errorf("attr/apparmor/exec = %q", got)
		}
		if got := f.attr(t, "exec"); got != "" {
			t.Errorf("attr/exec = %q, want it untouched", got)
		}
	})
	t.Run("legacy attr", func(t *testing.T) {
		f := newFakeHost(t, true, false)
		if err := os.RemoveAll(filepath.Join(f.dir, "attr", "apparmor")); err != nil {
			t.Fatal(err)
		}
		if err := f.ApplyAppArmorProfile("berth-test"); err != nil {
			t.Fatal(err)
		}
		if got := f.attr(t, "exec"); got != "exec berth-test" {
			t.Errorf("attr/exec = %q", got)
		}
		if want := []string{"apparmor/exec", "exec"}; strings.Join(f.opened, " ") != strings.Join(want, " ") {
			t.Errorf("opened %q, want %q", f.opened, want)
		}
	})
	t.Run("no profile", func(t *testing.T) {
		f := newFakeHost(t, true, false)
		if err := f.ApplyAppArmorProfile(""); err != nil {
			t.Fatal(err)
		}
		if len(f.opened) != 0 {
			t.Errorf("opened %q for an empty profile", f.opened)
		}
	})
	t.Run("no attr at all", func(t *testing.T) {
		f := newFakeHost(t, true, false)
		if err := os.RemoveAll(filepath.Join(f.dir, "attr")); err != nil {
			t.Fatal(err)
		}
		err := f.ApplyAppArmorProfile("berth-test")
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), `"berth-test"`) {
			t.Fatalf("got %v, want a not-exist error naming the profile", err)
		}
	})
	t.Run("write refused", func(t *testing.T) {
		f := newFakeHost(t, true, false)
		f.OpenAttr = func(string, int) (*os.File, error) { return os.Open(filepath.Join(f.dir, "attr", "exec")) }
		err := f.ApplyAppArmorProfile("berth-test")
		if err == nil || !strings.Contains(err.Error(), "write attr/apparmor/exec") {
			t.Fatalf("got %v, want a write error naming the attribute", err)
		}
	})
}

func TestSetExecLabel(t *testing.T) {
	f := newFakeHost(t, false, true)
	const label = "system_u:system_r:container_t:s0:c1,c2"
	if err := f.SetExecLabel(label); err != nil {
		t.Fatal(err)
	}
	if got := f.attr(t, "exec"); got != label {
		t.Errorf("attr/exec = %q, want %q", got, label)
	}
	f.opened = nil
	if err := f.SetExecLabel(""); err != nil || len(f.opened) != 0 {
		t.Errorf("SetExecLabel(\"\") = %v, opened %q: want a no-op", err, f.opened)
	}
	f.OpenAttr = func(string, int) (*os.File, error) { return nil, os.ErrPermission }
	if err := f.SetExecLabel(label); !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "attr/exec") {
		t.Errorf("got %v, want a permission error naming attr/exec", err)
	}
}

func TestSetKeyLabel(t *testing.T) {
	const label = "system_u:system_r:container_t:s0"
	t.Run("set and clear", func(t *testing.T) {
		f := newFakeHost(t, false, true)
		if err := f.SetKeyLabel(label); err != nil {
			t.Fatal(err)
		}
		if got := f.attr(t, "keycreate"); got != label {
			t.Errorf("attr/keycreate = %q", got)
		}
		if err := f.SetKeyLabel(""); err != nil {
			t.Fatal(err)
		}
		if got := f.attr(t, "keycreate"); got != "" {
			t.Errorf("attr/keycreate = %q after clearing", got)
		}
	})
	t.Run("clear without selinux", func(t *testing.T) {
		f := newFakeHost(t, false, false)
		if err := f.SetKeyLabel(""); err != nil {
			t.Fatal(err)
		}
		for _, name := range f.opened {
			if name == "keycreate" {
				t.Error("opened attr/keycreate to clear a label on a host without SELinux")
			}
		}
	})
	t.Run("kernel without keycreate", func(t *testing.T) {
		f := newFakeHost(t, false, true)
		if err := os.Remove(filepath.Join(f.dir, "attr", "keycreate")); err != nil {
			t.Fatal(err)
		}
		if err := f.SetKeyLabel(label); err != nil {
			t.Fatalf("got %v, want nil (best effort, as go-selinux)", err)
		}
	})
	t.Run("clear refused", func(t *testing.T) {
		f := newFakeHost(t, false, true)
		open := f.OpenAttr
		f.OpenAttr = func(name string, flags int) (*os.File, error) {
			if name == "keycreate" {
				return nil, os.ErrPermission
			}
			return open(name, flags)
		}
		if err := f.SetKeyLabel(""); err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		if err := f.SetKeyLabel(label); !errors.Is(err, os.ErrPermission) {
			t.Fatalf("got %v, want a permission error when setting", err)
		}
	})
}

func TestFormatMountLabel(t *testing.T) {
	for _, tc := range []struct{ data, label, want string }{
		{"", "", ""},
		{"mode=755", "", "mode=755"},
		{"", "system_u:object_r:container_file_t:s0", `context="system_u:object_r:container_file_t:s0"`},
		{"mode=755,size=65536k", "system_u:object_r:container_file_t:s0:c1,c2", `mode=755,size=65536k,context="system_u:object_r:container_file_t:s0:c1,c2"`},
	} {
		if got := FormatMountLabel(tc.data, tc.label); got != tc.want {
			t.Errorf("FormatMountLabel(%q, %q) = %q, want %q", tc.data, tc.label, got, tc.want)
		}
	}
}
