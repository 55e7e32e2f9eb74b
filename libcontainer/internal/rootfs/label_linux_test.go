package rootfs

import (
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

func TestLabelData(t *testing.T) {
	l := MountLabel{Data: func(d string) string { return d + "+label" }}
	for _, tc := range []struct {
		device string
		want   string
	}{
		{"tmpfs", "x+label"},
		{"devpts", "x+label"},
		{"overlay", "x+label"},
		{"proc", "x"},
		{"sysfs", "x"},
		{"mqueue", "x"},
		{"cgroup", "x"},
		{"cgroup2", "x"},
		{"bind", "x"},
	} {
		if got := l.labelData(tc.device, "x"); got != tc.want {
			t.Errorf("labelData(%q) = %q, want %q", tc.device, got, tc.want)
		}
	}
	if got := (MountLabel{}).labelData("tmpfs", "x"); got != "x" {
		t.Errorf("no label: labelData = %q, want the data unchanged", got)
	}
}

func TestDataOptionsQuoted(t *testing.T) {
	for _, tc := range []struct {
		data string
		want []string
	}{
		{"", nil},
		{"mode=755,,size=1k,", []string{"mode=755", "size=1k"}},
		{`mode=755,context="u:r:t:s0:c1,c2"`, []string{"mode=755", `context="u:r:t:s0:c1,c2"`}},
		{`context="u:r:t:s0:c1,c2",ro`, []string{`context="u:r:t:s0:c1,c2"`, "ro"}},
	} {
		if got := dataOptions(tc.data); !slices.Equal(got, tc.want) {
			t.Errorf("dataOptions(%q) = %q, want %q", tc.data, got, tc.want)
		}
	}
}

// TestSetupMountLabel checks where the mount label goes, as runc puts it:
// the label's data reaches tmpfs (configured, copied-up and the one over
// masked directories) and devpts, never proc or sysfs, and mqueue's root
// is labelled as a file. This host has no SELinux, so the "label" here is
// gid=5, an option tmpfs, devpts and proc all take and show in mountinfo.
func TestSetupMountLabel(t *testing.T) {
	requireRoot(t)
	rootfs := newRootfs(t)
	mustWrite(t, rootfs+"/secret-dir/x", "x")
	mustWrite(t, rootfs+"/data/y", "y")
	runChild(t, "label", rootfs, childOpts{})
}

func caseLabel(c *child) {
	cfg := baseConfig(c.rootfs)
	cfg.Mounts = append(cfg.Mounts, &configs.Mount{
		Source: "tmpfs", Destination: "/data", Device: "tmpfs", Extensions: configs.EXT_COPYUP,
	})
	cfg.MaskPaths = []string{"/secret-dir"}
	var labelled []string
	var mqDev uint64
	label := MountLabel{
		Data: func(d string) string {
			if d == "" {
				return "gid=5"
			}
			return d + ",gid=5"
		},
		File: func(p string) error {
			labelled = append(labelled, p)
			var st unix.Stat_t
			if err := unix.Stat(p, &st); err != nil {
				return err
			}
			mqDev = st.Dev
			return nil
		},
	}
	c.must(Setup(cfg, Options{MountLabel: label}), "Setup")
	c.must(FinalizeWith(cfg, Options{MountLabel: label}), "FinalizeWith")
	for _, p := range []string{"/dev", "/dev/shm", "/data", "/secret-dir", "/dev/pts"} {
		if m := c.mountAt(p); m == nil || !slices.Contains(strings.Split(m.VFSOptions, ","), "gid=5") {
			c.fail("mount at %s: %+v, want the label (gid=5) in its superblock options", p, m)
		}
	}
	for _, p := range []string{"/proc", "/sys", "/dev/mqueue"} {
		if m := c.mountAt(p); m == nil || strings.Contains(m.Options+","+m.VFSOptions, "gid=5") {
			c.fail("mount at %s: %+v, want it without the label", p, m)
		}
	}
	if len(labelled) != 1 {
		c.fail("labelled files %q, want mqueue's root only", labelled)
	}
	if st, err := statOf("/dev/mqueue"); err != nil || st.Dev != mqDev {
		c.fail("labelled a file on device %d, /dev/mqueue is on %d (%v)", mqDev, st.Dev, err)
	}
}

// TestSetupMountLabelWithoutSELinux gives the mounts a real context=
// option: on a host without SELinux the kernel refuses it, and Setup fails
// naming the mount, as runc does (it formats the option without asking).
func TestSetupMountLabelWithoutSELinux(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
		t.Skip("SELinux runs here: the kernel would take the label")
	}
	runChild(t, "labelctx", newRootfs(t), childOpts{})
}

func caseLabelContext(c *child) {
	cfg := baseConfig(c.rootfs)
	label := MountLabel{Data: func(d string) string { return d + `,context="system_u:object_r:container_file_t:s0:c1,c2"` }}
	err := Setup(cfg, Options{MountLabel: label})
	if err == nil || !strings.Contains(err.Error(), "mounts[1]") || !strings.Contains(err.Error(), "context=") ||
		!strings.Contains(err.Error(), "invalid argument") {
		c.fail("Setup with a context= option and no SELinux: %v, want mounts[1] (the /dev tmpfs) refused with EINVAL", err)
	}
}
