package libcontainer_test

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer"
	"github.com/berthrt/berth/libcontainer/configs"
)

// This machine runs neither AppArmor nor SELinux: these tests check runc's
// outcome there (an error, never a process started unconfined). The code
// paths with the modules present are unit-tested in internal/lsm against
// a fake host.

func skipIfLSMHost(t *testing.T) {
	t.Helper()
	if b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil && strings.HasPrefix(string(b), "Y") {
		t.Skip("AppArmor runs here: the test needs a host without it")
	}
	if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
		t.Skip("SELinux runs here: the test needs a host without it")
	}
}

func lsmConfig(rootfs string) *configs.Config {
	return &configs.Config{
		Rootfs:     rootfs,
		Namespaces: configs.Namespaces{{Type: configs.NEWNS}, {Type: configs.NEWPID}},
		Mounts: []*configs.Mount{
			{Source: "proc", Destination: "/proc", Device: "proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
			{Source: "tmpfs", Destination: "/dev", Device: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755"},
		},
	}
}

func TestRunLabelsWithoutLSM(t *testing.T) {
	rootfs := busyboxRootfs(t)
	skipIfLSMHost(t)
	for _, tc := range []struct {
		name    string
		config  func(*configs.Config)
		process func(*libcontainer.Process)
		want    string
	}{
		{"config apparmor profile", func(c *configs.Config) { c.AppArmorProfile = "berth-test" }, nil, "apparmor not supported"},
		{"process apparmor profile", nil, func(p *libcontainer.Process) { p.AppArmorProfile = "berth-test" }, "apparmor not supported"},
		{"config selinux label", func(c *configs.Config) { c.ProcessLabel = "system_u:system_r:container_t:s0" }, nil, "selinux is disabled or not supported"},
		{"process selinux label", nil, func(p *libcontainer.Process) { p.Label = "system_u:system_r:container_t:s0" }, "selinux is disabled or not supported"},
		// A mount label is not checked beforehand, as in runc: the
		// kernel refuses the context= option on the /dev tmpfs.
		{"mount label", func(c *configs.Config) { c.MountLabel = "system_u:object_r:container_file_t:s0" }, nil, "context="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			config := lsmConfig(rootfs)
			if tc.config != nil {
				tc.config(config)
			}
			stateRoot := t.TempDir()
			c, err := libcontainer.Create(stateRoot, "lsm", config)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := c.Destroy(); err != nil {
					t.Error(err)
				}
			}()
			p := &libcontainer.Process{Args: []string{"/bin/true"}, Env: []string{"PATH=/bin"}, Init: true}
			if tc.process != nil {
				tc.process(p)
			}
			err = c.Run(p)
			if err == nil {
				_, _ = p.Wait()
				t.Fatal("the container started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run: %v, want an error with %q", err, tc.want)
			}
			if st, err := c.Status(); err != nil || st != libcontainer.Stopped {
				t.Errorf("status after the failed run: %v %v, want stopped", st, err)
			}
		})
	}
}
