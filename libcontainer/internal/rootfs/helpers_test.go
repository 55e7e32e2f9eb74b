package rootfs

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/berthrt/berth/libcontainer/configs"
)

func TestMountErrorFormat(t *testing.T) {
	cause := errors.New("operation not permitted")
	tests := []struct {
		name string
		err  *MountError
		want string
	}{
		{
			"full", &MountError{Op: "mount", Source: "proc", Target: "/proc", Device: "proc", Flags: 0xe, Err: cause},
			"mount proc on /proc (type proc, flags 0xe): operation not permitted",
		},
		{
			"data", &MountError{Op: "mount", Source: "tmpfs", Target: "/dev", Device: "tmpfs", Flags: 0x1000002, Data: "mode=755", Err: cause},
			`mount tmpfs on /dev (type tmpfs, flags 0x1000002, data "mode=755"): operation not permitted`,
		},
		{
			"no source", &MountError{Op: "mount_setattr", Target: "/proc/sys", Flags: 1, Err: cause},
			"mount_setattr /proc/sys (flags 0x1): operation not permitted",
		},
		{"bare", &MountError{Op: "pivot_root", Target: ".", Err: cause}, "pivot_root .: operation not permitted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if !errors.Is(tt.err, cause) {
				t.Error("errors.Is does not reach the cause")
			}
		})
	}
}

func TestCleanAndSplit(t *testing.T) {
	tests := []struct{ in, clean, dir, base string }{
		{"/proc", "/proc", "/", "proc"},
		{"dev/../proc/", "/proc", "/", "proc"},
		{"/dev/pts", "/dev/pts", "/dev", "pts"},
		{"/", "/", "/", "."},
		{"", "/", "/", "."},
		{"/a/../../etc", "/etc", "/", "etc"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := cleanPath(tt.in); got != tt.clean {
				t.Errorf("cleanPath = %q, want %q", got, tt.clean)
			}
			dir, base := splitDest(tt.in)
			if dir != tt.dir || base != tt.base {
				t.Errorf("splitDest = %q, %q, want %q, %q", dir, base, tt.dir, tt.base)
			}
		})
	}
}

func TestTmpfsData(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		existed bool
		perm    os.FileMode
		want    string
	}{
		{"new dir keeps data", "size=1m", false, 0o751, "size=1m"},
		{"explicit mode wins", "mode=700", true, 0o751, "mode=700"},
		{"existing dir mode", "size=1m", true, 0o751, "size=1m,mode=751"},
		{"existing dir no data", "", true, 0o755, "mode=755"},
		{"sticky", "", true, 0o777 | os.ModeSticky, "mode=1777"},
		{"setgid", "nr_inodes=5", true, 0o750 | os.ModeSetgid, "nr_inodes=5,mode=2750"},
		{"modex is not mode", "modex=1", true, 0o700, "modex=1,mode=700"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tmpfsData(tt.data, tt.existed, tt.perm); got != tt.want {
				t.Errorf("tmpfsData = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckProcDest(t *testing.T) {
	tests := []struct {
		dest     string
		onProcfs bool
		ok       bool
	}{
		{"/proc/cpuinfo", true, true},
		{"/proc/sys/kernel/ns_last_pid", true, true},
		{"/proc/self/attr/exec", true, false},
		{"/proc/sys", true, false},
		{"/data", false, true},
		{"/evil", true, false}, // a symlink into /proc: judged by where it lands
	}
	for _, tt := range tests {
		t.Run(tt.dest, func(t *testing.T) {
			err := checkProcDest(tt.dest, tt.onProcfs)
			if (err == nil) != tt.ok {
				t.Errorf("checkProcDest(%q, %v) = %v, want ok=%v", tt.dest, tt.onProcfs, err, tt.ok)
			}
		})
	}
}

func TestNeedsSetupDev(t *testing.T) {
	tests := []struct {
		name   string
		mounts []*configs.Mount
		want   bool
	}{
		{"none", nil, true},
		{"tmpfs /dev", []*configs.Mount{{Device: "tmpfs", Destination: "/dev"}}, true},
		{"bind /dev", []*configs.Mount{{Device: "bind", Destination: "/dev/"}}, false},
		{"bind flag /dev", []*configs.Mount{{Device: "none", Flags: 0x1000, Destination: "/dev"}}, false},
		{"bind /dev/shm", []*configs.Mount{{Device: "bind", Destination: "/dev/shm"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := needsSetupDev(tt.mounts); got != tt.want {
				t.Errorf("needsSetupDev = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseCgroupFile(t *testing.T) {
	in := "12:cpu,cpuacct:/a/b\n1:name=systemd:/sys\n0::/v2path\n"
	cf, err := parseCgroupFile(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if cf.v1["cpu"] != "/a/b" || cf.v1["cpuacct"] != "/a/b" || cf.v1["name=systemd"] != "/sys" {
		t.Errorf("v1 = %v", cf.v1)
	}
	if !cf.hasV2 || cf.v2 != "/v2path" {
		t.Errorf("v2 = %q (%v)", cf.v2, cf.hasV2)
	}
	if got := v1Subsystems("rw,cpu,cpuacct", cf); strings.Join(got, ",") != "cpu,cpuacct" {
		t.Errorf("v1Subsystems = %v", got)
	}
	if got := v1Subsystems("rw,xattr,name=systemd", cf); strings.Join(got, ",") != "name=systemd" {
		t.Errorf("v1Subsystems = %v", got)
	}
	if _, err := parseCgroupFile(strings.NewReader("garbage\n")); err == nil {
		t.Error("parseCgroupFile accepted a line without colons")
	}
}

func TestRelCgroupPath(t *testing.T) {
	tests := []struct {
		root, own, want string
		ok              bool
	}{
		{"/", "/a/b", "a/b", true},
		{"/", "/", "", true},
		{"/a", "/a/b", "b", true},
		{"/a", "/a", "", true},
		{"/a", "/ab/c", "", false},
		{"/a/b", "/a", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.root+"+"+tt.own, func(t *testing.T) {
			got, err := relCgroupPath(tt.root, tt.own)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("relCgroupPath = %q, %v; want %q, ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
}
