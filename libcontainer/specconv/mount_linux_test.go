package specconv

import (
	"bytes"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// runcMountOptions are the 60 options `runc features` lists (features.md,
// section 6).
const runcMountOptions = "async atime bind defaults dev diratime dirsync exec iversion lazytime loud mand noatime nodev nodiratime noexec noiversion nolazytime nomand norelatime nostrictatime nosuid nosymfollow private ratime rbind rdev rdiratime relatime remount rexec rnoatime rnodev rnodiratime rnoexec rnorelatime rnostrictatime rnosuid rnosymfollow ro rprivate rrelatime rro rrw rshared rslave rstrictatime rsuid rsymfollow runbindable rw shared silent slave strictatime suid symfollow sync tmpcopyup unbindable"

func TestKnownMountOptions(t *testing.T) {
	want := strings.Fields(runcMountOptions)
	if len(want) != 60 {
		t.Fatalf("the reference list has %d options, want 60", len(want))
	}
	if got := KnownMountOptions(); !reflect.DeepEqual(got, want) {
		t.Errorf("KnownMountOptions() =\n%v\nwant\n%v", got, want)
	}
}

func TestParseMountOptions(t *testing.T) {
	const atime = unix.MOUNT_ATTR__ATIME
	tests := []struct {
		name    string
		options []string
		want    configs.Mount
	}{
		{name: "none", options: nil, want: configs.Mount{}},
		{
			name: "set flags", options: []string{"ro", "nosuid", "nodev", "noexec", "sync", "dirsync", "remount", "mand", "noatime", "nodiratime", "relatime", "strictatime", "lazytime", "iversion", "silent", "nosymfollow"},
			want: configs.Mount{Flags: unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_SYNCHRONOUS | unix.MS_DIRSYNC | unix.MS_REMOUNT |
				unix.MS_MANDLOCK | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME | unix.MS_LAZYTIME | unix.MS_I_VERSION | unix.MS_SILENT | unix.MS_NOSYMFOLLOW},
		},
		{
			name: "clear flags", options: []string{"rw", "suid", "dev", "exec", "async", "atime", "diratime", "norelatime", "nostrictatime", "nolazytime", "noiversion", "loud", "nomand", "symfollow"},
			want: configs.Mount{ClearedFlags: unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_SYNCHRONOUS | unix.MS_NOATIME | unix.MS_NODIRATIME |
				unix.MS_RELATIME | unix.MS_STRICTATIME | unix.MS_LAZYTIME | unix.MS_I_VERSION | unix.MS_SILENT | unix.MS_MANDLOCK | unix.MS_NOSYMFOLLOW},
		},
		{name: "later wins: ro then rw", options: []string{"ro", "rw"}, want: configs.Mount{ClearedFlags: unix.MS_RDONLY}},
		{name: "later wins: rw then ro", options: []string{"rw", "ro"}, want: configs.Mount{Flags: unix.MS_RDONLY}},
		{name: "bind", options: []string{"bind"}, want: configs.Mount{Flags: unix.MS_BIND}},
		{name: "rbind", options: []string{"rbind"}, want: configs.Mount{Flags: unix.MS_BIND | unix.MS_REC}},
		{name: "defaults is known and not data", options: []string{"defaults"}, want: configs.Mount{}},
		{
			name: "propagation in order", options: []string{"rprivate", "shared", "rslave", "unbindable", "private", "rshared", "slave", "runbindable"},
			want: configs.Mount{PropagationFlags: []int{
				unix.MS_PRIVATE | unix.MS_REC, unix.MS_SHARED, unix.MS_SLAVE | unix.MS_REC, unix.MS_UNBINDABLE,
				unix.MS_PRIVATE, unix.MS_SHARED | unix.MS_REC, unix.MS_SLAVE, unix.MS_UNBINDABLE | unix.MS_REC,
			}},
		},
		{
			name: "recursive set", options: []string{"rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow"},
			want: configs.Mount{RecAttr: &configs.MountAttr{AttrSet: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_NOSYMFOLLOW}},
		},
		{
			name: "recursive clear", options: []string{"rrw", "rsuid", "rdev", "rexec", "rdiratime", "rsymfollow"},
			want: configs.Mount{RecAttr: &configs.MountAttr{AttrClr: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_NOSYMFOLLOW}},
		},
		{name: "recursive later wins", options: []string{"rro", "rrw"}, want: configs.Mount{RecAttr: &configs.MountAttr{AttrClr: unix.MOUNT_ATTR_RDONLY}}},
		{name: "rnoatime clears the atime field", options: []string{"rnoatime"}, want: configs.Mount{RecAttr: &configs.MountAttr{AttrSet: unix.MOUNT_ATTR_NOATIME, AttrClr: atime}}},
		{name: "rstrictatime clears the atime field", options: []string{"rstrictatime"}, want: configs.Mount{RecAttr: &configs.MountAttr{AttrSet: unix.MOUNT_ATTR_STRICTATIME, AttrClr: atime}}},
		{name: "rrelatime is all clear", options: []string{"rrelatime"}, want: configs.Mount{RecAttr: &configs.MountAttr{AttrClr: atime}}},
		{name: "ratime", options: []string{"ratime"}, want: configs.Mount{RecAttr: &configs.MountAttr{AttrClr: unix.MOUNT_ATTR_NOATIME}}},
		{name: "rnostrictatime", options: []string{"rnostrictatime"}, want: configs.Mount{RecAttr: &configs.MountAttr{AttrClr: unix.MOUNT_ATTR_STRICTATIME}}},
		{name: "rnorelatime is a no-op", options: []string{"rnorelatime"}, want: configs.Mount{}},
		{name: "tmpcopyup", options: []string{"tmpcopyup"}, want: configs.Mount{Extensions: configs.EXT_COPYUP}},
		{
			name: "data kept in order", options: []string{"mode=755", "nosuid", "size=65536k", "gid=5", "acl"},
			want: configs.Mount{Flags: unix.MS_NOSUID, Data: "mode=755,size=65536k,gid=5,acl"},
		},
		{name: "idmap", options: []string{"idmap"}, want: configs.Mount{IDMapping: &configs.MountIDMapping{}}},
		{name: "ridmap", options: []string{"ridmap"}, want: configs.Mount{IDMapping: &configs.MountIDMapping{Recursive: true}}},
		{
			name: "every class at once", options: []string{"rbind", "rro", "rslave", "tmpcopyup", "x-foo"},
			want: configs.Mount{
				Flags: unix.MS_BIND | unix.MS_REC, PropagationFlags: []int{unix.MS_SLAVE | unix.MS_REC},
				RecAttr: &configs.MountAttr{AttrSet: unix.MOUNT_ATTR_RDONLY}, Extensions: configs.EXT_COPYUP, Data: "x-foo",
			},
		},
	}
	table := mountOptions()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parseMountOptions(table, tc.options)
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("parseMountOptions(%q) =\n%+v\nwant\n%+v", tc.options, *got, tc.want)
			}
		})
	}
}

func TestConvertMount(t *testing.T) {
	const cwd = "/bundle"
	tests := []struct {
		name   string
		in     specs.Mount
		want   configs.Mount
		warned bool
	}{
		{
			name: "proc", in: specs.Mount{Destination: "/proc", Type: "proc", Source: "proc"},
			want: configs.Mount{Destination: "/proc", Device: "proc", Source: "proc"},
		},
		{
			name: "relative destination", in: specs.Mount{Destination: "data/x", Type: "tmpfs", Source: "tmpfs"},
			want: configs.Mount{Destination: "/data/x", Device: "tmpfs", Source: "tmpfs"}, warned: true,
		},
		{
			name: "bind type", in: specs.Mount{Destination: "/mnt", Type: "bind", Source: "/src", Options: []string{"ro"}},
			want: configs.Mount{Destination: "/mnt", Device: "bind", Source: "/src", Flags: unix.MS_BIND | unix.MS_RDONLY},
		},
		{
			name: "bind option with other type", in: specs.Mount{Destination: "/mnt", Type: "none", Source: "/src", Options: []string{"rbind"}},
			want: configs.Mount{Destination: "/mnt", Device: "bind", Source: "/src", Flags: unix.MS_BIND | unix.MS_REC},
		},
		{
			name: "bind without type", in: specs.Mount{Destination: "/mnt", Source: "/src", Options: []string{"bind"}},
			want: configs.Mount{Destination: "/mnt", Device: "bind", Source: "/src", Flags: unix.MS_BIND},
		},
		{
			name: "relative bind source", in: specs.Mount{Destination: "/mnt", Type: "bind", Source: "data"},
			want: configs.Mount{Destination: "/mnt", Device: "bind", Source: "/bundle/data", Flags: unix.MS_BIND},
		},
		{
			name: "relative non-bind source kept", in: specs.Mount{Destination: "/mnt", Type: "tmpfs", Source: "data"},
			want: configs.Mount{Destination: "/mnt", Device: "tmpfs", Source: "data"},
		},
		{
			name: "mount mappings", in: specs.Mount{
				Destination: "/mnt", Type: "bind", Source: "/src",
				UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}},
				GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1001, Size: 1}},
			},
			want: configs.Mount{Destination: "/mnt", Device: "bind", Source: "/src", Flags: unix.MS_BIND, IDMapping: &configs.MountIDMapping{
				UIDMappings: []configs.IDMap{{HostID: 1000, Size: 1}},
				GIDMappings: []configs.IDMap{{HostID: 1001, Size: 1}},
			}},
		},
		{
			name: "ridmap with mappings", in: specs.Mount{
				Destination: "/mnt", Type: "bind", Source: "/src", Options: []string{"ridmap"},
				UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}},
			},
			want: configs.Mount{Destination: "/mnt", Device: "bind", Source: "/src", Flags: unix.MS_BIND, IDMapping: &configs.MountIDMapping{
				Recursive: true, UIDMappings: []configs.IDMap{{HostID: 1000, Size: 1}},
			}},
		},
	}
	table := mountOptions()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, nil))
			got := convertMount(table, log, cwd, i, tc.in)
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("convertMount =\n%+v\nwant\n%+v", *got, tc.want)
			}
			warned := strings.Contains(buf.String(), "level=WARN")
			if warned != tc.warned {
				t.Errorf("warned = %v, want %v (log %q)", warned, tc.warned, buf.String())
			}
			if warned && !strings.Contains(buf.String(), "mounts[") {
				t.Errorf("warning %q does not name the field", buf.String())
			}
		})
	}
}
