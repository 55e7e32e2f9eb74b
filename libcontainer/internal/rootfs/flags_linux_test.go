package rootfs

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestBindAttr(t *testing.T) {
	const plain = unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV |
		unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NOSYMFOLLOW
	tests := []struct {
		name           string
		flags, cleared int
		ok             bool
		set, clr       uint64
	}{
		{"plain bind", unix.MS_BIND | unix.MS_REC, 0, false, 0, 0},
		{"ro", unix.MS_BIND | unix.MS_RDONLY, 0, true, unix.MOUNT_ATTR_RDONLY, plain &^ unix.MOUNT_ATTR_RDONLY},
		{"rw cleared only", unix.MS_BIND, unix.MS_RDONLY, true, 0, plain},
		{
			"nosuid,nodev", unix.MS_BIND | unix.MS_NOSUID | unix.MS_NODEV, 0, true,
			unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV, plain &^ (unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV),
		},
		{
			"remount ro", unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY, unix.MS_NOEXEC, true,
			unix.MOUNT_ATTR_RDONLY, unix.MOUNT_ATTR_NOEXEC,
		},
		{
			"noatime", unix.MS_BIND | unix.MS_NOATIME, 0, true,
			unix.MOUNT_ATTR_NOATIME, plain | unix.MOUNT_ATTR__ATIME | unix.MOUNT_ATTR_NODIRATIME,
		},
		{
			"relatime,nodiratime", unix.MS_BIND | unix.MS_RELATIME | unix.MS_NODIRATIME, 0, true,
			unix.MOUNT_ATTR_RELATIME | unix.MOUNT_ATTR_NODIRATIME, plain | unix.MOUNT_ATTR__ATIME | unix.MOUNT_ATTR_NODIRATIME,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attr, ok := bindAttr(tt.flags, tt.cleared)
			if ok != tt.ok || attr.Attr_set != tt.set || attr.Attr_clr != tt.clr {
				t.Errorf("bindAttr = set %#x clr %#x ok %v; want set %#x clr %#x ok %v",
					attr.Attr_set, attr.Attr_clr, ok, tt.set, tt.clr, tt.ok)
			}
		})
	}
}

func TestKeepLocked(t *testing.T) {
	attr, _ := bindAttr(unix.MS_BIND|unix.MS_RDONLY, 0)
	src := statfsAttr(unix.ST_NOSUID | unix.ST_NODEV | unix.ST_RELATIME)
	got, ok := keepLocked(attr, src, 0)
	if !ok {
		t.Fatal("keepLocked refused")
	}
	if got.Attr_clr&(unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV) != 0 {
		t.Errorf("still clears locked flags: clr %#x", got.Attr_clr)
	}
	if got.Attr_clr&unix.MOUNT_ATTR_NOEXEC == 0 || got.Attr_set != unix.MOUNT_ATTR_RDONLY {
		t.Errorf("lost the request: set %#x clr %#x", got.Attr_set, got.Attr_clr)
	}
	// "suid" asked explicitly on a nosuid source cannot be honored.
	attr, _ = bindAttr(unix.MS_BIND, unix.MS_NOSUID)
	if _, ok := keepLocked(attr, src, unix.MS_NOSUID); ok {
		t.Error("keepLocked accepted clearing a flag the source has")
	}
}

func TestMsToAttr(t *testing.T) {
	tests := []struct {
		flags int
		want  uint64
	}{
		{0, 0},
		{unix.MS_RDONLY | unix.MS_NOSUID, unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID},
		{unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_STRICTATIME, unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_STRICTATIME},
		{unix.MS_NOATIME | unix.MS_NODIRATIME, unix.MOUNT_ATTR_NOATIME | unix.MOUNT_ATTR_NODIRATIME},
	}
	for _, tt := range tests {
		if got := msToAttr(tt.flags); got != tt.want {
			t.Errorf("msToAttr(%#x) = %#x, want %#x", tt.flags, got, tt.want)
		}
	}
}
