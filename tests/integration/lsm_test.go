package integration

import (
	"os"
	"strings"
	"testing"
)

// TestLSMWithoutModules runs containers that ask for an AppArmor profile,
// an SELinux process label or an SELinux mount label on a host that runs
// neither module (this machine: AppArmor is not built, SELinux is built
// but not enabled). As with runc, none of them starts, unconfined or
// otherwise: berth exits 1 with runc's message and leaves nothing behind.
// The code that applies the labels where the modules run is unit-tested in
// libcontainer/internal/lsm against a fake host.
func TestLSMWithoutModules(t *testing.T) {
	if v, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil && strings.HasPrefix(string(v), "Y") {
		t.Skip("AppArmor runs here: the test needs a host without it")
	}
	if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
		t.Skip("SELinux runs here: the test needs a host without it")
	}
	for _, tc := range []struct {
		name string
		set  func(b *bundle)
		want string
	}{
		{"apparmorProfile", func(b *bundle) { b.Spec.Process.ApparmorProfile = "berth-test" }, "apparmor: config provided but apparmor not supported"},
		{"selinuxLabel", func(b *bundle) { b.Spec.Process.SelinuxLabel = "system_u:system_r:container_t:s0" }, "selinux is disabled or not supported"},
		// runc formats context= without asking whether SELinux runs;
		// the kernel then refuses the option on the /dev tmpfs.
		{"mountLabel", func(b *bundle) { b.Spec.Linux.MountLabel = "system_u:object_r:container_file_t:s0:c1,c2" }, `context=`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "true")
			tc.set(b)
			b.expectFailure(b.id, tc.want, "run", b.id)
		})
	}
}
