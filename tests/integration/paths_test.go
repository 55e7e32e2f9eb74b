package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestMaskedPaths(t *testing.T) {
	for _, tc := range []struct {
		name   string
		masked []string // added to the defaults
		script string
		want   string
	}{
		{
			name:   "file",
			masked: []string{"/etc/secret"},
			script: "wc -c < /etc/secret; stat -c %t:%T /etc/secret",
			want:   "0\n1:3",
		},
		{
			name:   "directory",
			masked: []string{"/secretdir"},
			script: "ls -A /secretdir | wc -l; touch /secretdir/x 2>&1 | grep -c 'Read-only file system'",
			want:   "0\n1",
		},
		{
			name:   "default proc file",
			script: "wc -c < /proc/timer_list; stat -c %t:%T /proc/timer_list",
			want:   "0\n1:3",
		},
		{
			name:   "default sys directory",
			script: "ls -A /sys/firmware | wc -l",
			want:   "0",
		},
		{
			name:   "missing path ignored",
			masked: []string{"/does/not/exist"},
			script: "[ -e /does/not/exist ] || echo absent",
			want:   "absent",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			writeFile(t, filepath.Join(b.rootfs(), "etc", "secret"), "top secret")
			if err := os.MkdirAll(filepath.Join(b.rootfs(), "secretdir"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(b.rootfs(), "secretdir", "f"), "hidden")
			b.Spec.Linux.MaskedPaths = append(b.Spec.Linux.MaskedPaths, tc.masked...)
			if out := b.shOutput(tc.script); out != tc.want {
				t.Errorf("container output %q, want %q", out, tc.want)
			}
			// Without the mask, the control: the content is there.
			if tc.name == "file" || tc.name == "directory" {
				b.Spec.Linux.MaskedPaths = nil
				if out := b.shOutput("cat /etc/secret; echo; ls /secretdir"); out != "top secret\nf" {
					t.Errorf("unmasked content %q", out)
				}
			}
		})
	}
}

func TestReadonlyPaths(t *testing.T) {
	for _, tc := range []struct {
		name     string
		readonly []string
		script   string
		want     string
	}{
		{
			name:     "rootfs directory",
			readonly: []string{"/rodir"},
			script:   "cat /rodir/f; echo; touch /rodir/x 2>&1; touch /tmp/x && echo tmp-writable",
			want:     "kept\ntouch: /rodir/x: Read-only file system\ntmp-writable",
		},
		{
			name:     "default proc sys",
			readonly: []string{"/proc/sys"},
			script:   "{ echo 1 > /proc/sys/kernel/ns_last_pid; } 2>&1; echo written",
			want:     "sh: can't create /proc/sys/kernel/ns_last_pid: Read-only file system\nwritten",
		},
		{
			name:     "file",
			readonly: []string{"/etc/passwd"},
			script:   "{ echo x >> /etc/passwd; } 2>&1; echo x >> /etc/group && echo group-writable",
			want:     "sh: can't create /etc/passwd: Read-only file system\ngroup-writable",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			b.Spec.Root.Readonly = false
			if err := os.MkdirAll(filepath.Join(b.rootfs(), "rodir"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(b.rootfs(), "rodir", "f"), "kept")
			b.Spec.Linux.ReadonlyPaths = tc.readonly
			if out := b.shOutput(tc.script); out != tc.want {
				t.Errorf("container output %q, want %q", out, tc.want)
			}
		})
	}
}

func TestReadonlyRoot(t *testing.T) {
	for _, tc := range []struct {
		readonly bool
		want     string
	}{
		{true, "touch: /x: Read-only file system\ntouch: /tmp/x: Read-only file system\nshm-writable"},
		{false, "root-writable\ntmp-writable\nshm-writable"},
	} {
		name := "readonly"
		if !tc.readonly {
			name = "writable"
		}
		t.Run(name, func(t *testing.T) {
			b := newBundle(t)
			b.Spec.Root.Readonly = tc.readonly
			out := b.shOutput("touch /x 2>&1 && echo root-writable; touch /tmp/x 2>&1 && echo tmp-writable; touch /dev/shm/x && echo shm-writable")
			if out != tc.want {
				t.Errorf("container output %q, want %q", out, tc.want)
			}
			_, err := os.Stat(filepath.Join(b.rootfs(), "x"))
			if tc.readonly == (err == nil) {
				t.Errorf("root.readonly %v: file created in the rootfs: %v", tc.readonly, err == nil)
			}
		})
	}
}

func TestDevices(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(b *bundle)
		script string
		want   string
	}{
		{
			name:   "default nodes",
			script: "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done",
			want: strings.Join([]string{
				"/dev/null character special file 1:3 666",
				"/dev/zero character special file 1:5 666",
				"/dev/full character special file 1:7 666",
				"/dev/random character special file 1:8 666",
				"/dev/urandom character special file 1:9 666",
				"/dev/tty character special file 5:0 666",
			}, "\n"),
		},
		{
			name:   "default nodes work",
			script: "echo x > /dev/null && echo null-ok; head -c 3 /dev/zero | od -An -tx1; { echo x > /dev/full; } 2>&1",
			want:   "null-ok\n 00 00 00\nsh: write error: No space left on device",
		},
		{
			name:   "symlinks",
			script: "for l in fd stdin stdout stderr ptmx; do echo $l $(readlink /dev/$l); done",
			want:   "fd /proc/self/fd\nstdin /proc/self/fd/0\nstdout /proc/self/fd/1\nstderr /proc/self/fd/2\nptmx pts/ptmx",
		},
		{
			name: "linux.devices",
			setup: func(b *bundle) {
				b.Spec.Linux.Devices = []specs.LinuxDevice{
					{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: ptr(os.FileMode(0o640)), UID: ptr(uint32(1000)), GID: ptr(uint32(1001))},
					{Path: "/dev/myzero", Type: "c", Major: 1, Minor: 5, FileMode: ptr(os.FileMode(0o600))},
					{Path: "/dev/sub/dir/blk", Type: "b", Major: 7, Minor: 0},
				}
			},
			script: "stat -c '%n %F %t:%T %a %u:%g' /dev/fuse /dev/myzero /dev/sub/dir/blk; head -c 2 /dev/myzero | od -An -tx1",
			want: strings.Join([]string{
				"/dev/fuse character special file a:e5 640 1000:1001",
				"/dev/myzero character special file 1:5 600 0:0",
				"/dev/sub/dir/blk block special file 7:0 666 0:0",
				" 00 00",
			}, "\n"),
		},
		{
			// The device cgroup denies what the config does not allow:
			// a node made in the container opens with EPERM.
			name:   "cgroup denies an unlisted device",
			setup:  func(b *bundle) { b.addCaps("CAP_MKNOD") },
			script: "mknod /dev/blk b 7 0 && echo made; head -c 1 /dev/blk 2>&1 >/dev/null | grep -o 'Operation not permitted'",
			want:   "made\nOperation not permitted",
		},
		{
			// The control: the same node allowed by a rule opens (or
			// fails for another reason, with no loop device).
			name: "cgroup allows a listed device",
			setup: func(b *bundle) {
				b.addCaps("CAP_MKNOD")
				b.Spec.Linux.Resources.Devices = append(b.Spec.Linux.Resources.Devices,
					specs.LinuxDeviceCgroup{Allow: true, Type: "b", Major: ptr(int64(7)), Minor: ptr(int64(0)), Access: "r"})
			},
			script: "mknod /dev/blk b 7 0 && echo made; head -c 1 /dev/blk 2>&1 >/dev/null | grep -c 'Operation not permitted'",
			want:   "made\n0",
		},
		{
			// The last matching rule wins.
			name: "cgroup deny rule after allow",
			setup: func(b *bundle) {
				b.addCaps("CAP_MKNOD")
				b.Spec.Linux.Resources.Devices = append(b.Spec.Linux.Resources.Devices,
					specs.LinuxDeviceCgroup{Allow: true, Type: "b", Major: ptr(int64(7)), Minor: ptr(int64(0)), Access: "r"},
					specs.LinuxDeviceCgroup{Allow: false, Type: "b", Major: ptr(int64(7)), Minor: ptr(int64(0)), Access: "r"})
			},
			script: "mknod /dev/blk b 7 0 && echo made; head -c 1 /dev/blk 2>&1 >/dev/null | grep -o 'Operation not permitted'",
			want:   "made\nOperation not permitted",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			if tc.setup != nil {
				tc.setup(b)
			}
			if out := b.shOutput(tc.script); out != tc.want {
				t.Errorf("container output:\n%s\nwant:\n%s", out, tc.want)
			}
		})
	}
}
