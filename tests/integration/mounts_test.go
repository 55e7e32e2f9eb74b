package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountLine is a shell function for the container: `ml DEST` prints the
// filesystem type and the per-mount options of the topmost mount at DEST.
const mountLine = `ml() { awk -v d="$1" '$5==d { for (i=7; $i!="-"; i++); t=$(i+1); o=$6 } END { print t, o }' /proc/self/mountinfo; }; `

// hasOpt reports whether a comma-separated option list has opt.
func hasOpt(list, opt string) bool {
	for o := range strings.SplitSeq(list, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

// cgroupProbe says where the "cgroup read-only" case looks in the container
// and what it expects there: the v1 memory hierarchy, or on a cgroup v2 host
// the unified hierarchy (the container's own cgroup, through its cgroup
// namespace).
func cgroupProbe() (dir, fstype, file string) {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "/sys/fs/cgroup", "cgroup2", "cgroup.procs"
	}
	return "/sys/fs/cgroup/memory", "cgroup", "memory.limit_in_bytes"
}

func TestMounts(t *testing.T) {
	cgDir, cgType, cgFile := cgroupProbe()
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T, b *bundle)
		script string
		check  func(t *testing.T, b *bundle, out string)
	}{
		{
			name: "bind rw",
			setup: func(t *testing.T, b *bundle) {
				d := b.hostDir("shared")
				writeFile(t, filepath.Join(d, "in"), "from-host")
				b.addMount(specs.Mount{Destination: "/shared", Type: "bind", Source: d, Options: []string{"rbind", "rw"}})
			},
			script: "cat /shared/in; echo; echo from-container > /shared/out && echo wrote",
			check: func(t *testing.T, b *bundle, out string) {
				if out != "from-host\nwrote" {
					t.Errorf("container output %q", out)
				}
				if got := readHost(t, filepath.Join(b.dir, "shared", "out")); got != "from-container\n" {
					t.Errorf("host sees %q, want the container's write", got)
				}
			},
		},
		{
			name: "bind ro",
			setup: func(t *testing.T, b *bundle) {
				d := b.hostDir("shared")
				writeFile(t, filepath.Join(d, "in"), "from-host")
				b.addMount(specs.Mount{Destination: "/shared", Type: "bind", Source: d, Options: []string{"rbind", "ro"}})
			},
			script: mountLine + "cat /shared/in; echo; touch /shared/out 2>&1; ml /shared",
			check: func(t *testing.T, b *bundle, out string) {
				lines := strings.Split(out, "\n")
				if len(lines) != 3 || lines[0] != "from-host" || !strings.Contains(lines[1], "Read-only file system") || !hasOpt(strings.Fields(lines[2])[1], "ro") {
					t.Errorf("container output %q, want the file, EROFS and an ro mount", out)
				}
				if _, err := os.Stat(filepath.Join(b.dir, "shared", "out")); err == nil {
					t.Error("the container wrote through a read-only bind")
				}
			},
		},
		{
			name: "file bind",
			setup: func(t *testing.T, b *bundle) {
				f := filepath.Join(b.dir, "hostfile")
				writeFile(t, f, "single file")
				b.addMount(specs.Mount{Destination: "/etc/hostfile", Type: "bind", Source: f, Options: []string{"bind", "ro"}})
			},
			script: "[ -f /etc/hostfile ] && cat /etc/hostfile",
			check:  wantOutput("single file"),
		},
		{
			name: "tmpfs mode and size",
			setup: func(t *testing.T, b *bundle) {
				b.addMount(specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=0710", "size=1m"}})
			},
			script: mountLine + "stat -c %a /scratch; df -k /scratch | awk 'NR==2 {print $2}'; ml /scratch | cut -d' ' -f1",
			check:  wantOutput("710\n1024\ntmpfs"),
		},
		{
			name:   "proc",
			script: mountLine + "ml /proc | cut -d' ' -f1; cat /proc/1/comm",
			check:  wantOutput("proc\nsh"),
		},
		{
			name:   "sysfs read-only",
			script: mountLine + "ml /sys; mkdir /sys/x 2>&1; [ -d /sys/class/net ] && echo classes",
			check: func(t *testing.T, b *bundle, out string) {
				lines := strings.Split(out, "\n")
				if len(lines) != 3 || !strings.HasPrefix(lines[0], "sysfs ") || !hasOpt(strings.Fields(lines[0])[1], "ro") ||
					!strings.Contains(lines[1], "Read-only file system") || lines[2] != "classes" {
					t.Errorf("container output %q, want a read-only sysfs", out)
				}
			},
		},
		{
			name:   "devpts",
			script: mountLine + "ml /dev/pts | cut -d' ' -f1; stat -c %t:%T /dev/pts/ptmx",
			check:  wantOutput("devpts\n5:2"),
		},
		{
			name:   "mqueue",
			script: mountLine + "ml /dev/mqueue | cut -d' ' -f1",
			check:  wantOutput("mqueue"),
		},
		{
			name:   "cgroup read-only",
			script: mountLine + fmt.Sprintf("ml %[1]s; [ -f %[1]s/%[2]s ] && echo files; mkdir %[1]s/x 2>&1", cgDir, cgFile),
			check: func(t *testing.T, b *bundle, out string) {
				lines := strings.Split(out, "\n")
				if len(lines) != 3 || !strings.HasPrefix(lines[0], cgType+" ") || !hasOpt(strings.Fields(lines[0])[1], "ro") ||
					lines[1] != "files" || !strings.Contains(lines[2], "Read-only file system") {
					t.Errorf("container output %q, want a read-only %s at %s", out, cgType, cgDir)
				}
			},
		},
		{
			name: "noexec tmpfs",
			setup: func(t *testing.T, b *bundle) {
				b.addMount(specs.Mount{Destination: "/noexec", Type: "tmpfs", Source: "tmpfs", Options: []string{"noexec"}})
				b.addMount(specs.Mount{Destination: "/exec", Type: "tmpfs", Source: "tmpfs"})
			},
			script: "cp /bin/busybox /noexec/busybox; cp /bin/busybox /exec/busybox; /exec/busybox echo exec-ok; /noexec/busybox echo noexec-ran 2>&1",
			check: func(t *testing.T, b *bundle, out string) {
				lines := strings.Split(out, "\n")
				if len(lines) != 2 || lines[0] != "exec-ok" || !strings.Contains(lines[1], "Permission denied") {
					t.Errorf("container output %q, want the copy on the noexec tmpfs refused", out)
				}
			},
		},
		{
			name: "nodev tmpfs",
			setup: func(t *testing.T, b *bundle) {
				b.addCaps("CAP_MKNOD")
				b.addMount(specs.Mount{Destination: "/nodev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nodev"}})
				b.addMount(specs.Mount{Destination: "/dev2", Type: "tmpfs", Source: "tmpfs", Options: []string{"dev"}})
			},
			script: "mknod /nodev/null c 1 3; mknod /dev2/null c 1 3; echo x > /dev2/null && echo dev-ok; { echo x > /nodev/null; } 2>&1",
			check: func(t *testing.T, b *bundle, out string) {
				lines := strings.Split(out, "\n")
				if len(lines) != 2 || lines[0] != "dev-ok" || !strings.Contains(lines[1], "Permission denied") {
					t.Errorf("container output %q, want the node on the nodev tmpfs refused", out)
				}
			},
		},
		{
			name: "nosuid",
			setup: func(t *testing.T, b *bundle) {
				b.addMount(specs.Mount{Destination: "/nosuid", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev"}})
			},
			script: mountLine + "ml /nosuid | cut -d' ' -f2",
			check: func(t *testing.T, b *bundle, out string) {
				if !hasOpt(out, "nosuid") || !hasOpt(out, "nodev") || hasOpt(out, "noexec") {
					t.Errorf("mount options %q, want nosuid and nodev only", out)
				}
			},
		},
		{
			name: "recursive read-only",
			setup: func(t *testing.T, b *bundle) {
				for _, o := range []string{"rro", "ro"} {
					d := b.hostDir("tree-" + o)
					sub := b.hostDir("tree-" + o + "/sub")
					hostMount(t, "tmpfs", sub, "tmpfs", 0)
					b.addMount(specs.Mount{Destination: "/" + o, Type: "bind", Source: d, Options: []string{"rbind", o}})
				}
			},
			script: "touch /rro/sub/x 2>&1; touch /ro/sub/x && echo ro-submount-writable; touch /ro/x 2>&1",
			check: func(t *testing.T, b *bundle, out string) {
				lines := strings.Split(out, "\n")
				if len(lines) != 3 || !strings.Contains(lines[0], "Read-only file system") || lines[1] != "ro-submount-writable" ||
					!strings.Contains(lines[2], "Read-only file system") {
					t.Errorf("container output %q, want rro to cover the submount and ro not", out)
				}
			},
		},
		{
			name: "tmpcopyup",
			setup: func(t *testing.T, b *bundle) {
				d := filepath.Join(b.rootfs(), "data")
				if err := os.MkdirAll(filepath.Join(d, "sub"), 0o755); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(d, "sub", "f"), "copied")
				b.addMount(specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup"}})
			},
			script: mountLine + "ml /data | cut -d' ' -f1; cat /data/sub/f; echo; echo new > /data/new && echo wrote",
			check: func(t *testing.T, b *bundle, out string) {
				if out != "tmpfs\ncopied\nwrote" {
					t.Errorf("container output %q, want the rootfs content copied into the tmpfs", out)
				}
				if _, err := os.Stat(filepath.Join(b.rootfs(), "data", "new")); err == nil {
					t.Error("a write to the tmpcopyup tmpfs reached the rootfs")
				}
			},
		},
		{
			name: "later mount over earlier",
			setup: func(t *testing.T, b *bundle) {
				d := b.hostDir("over")
				writeFile(t, filepath.Join(d, "marker"), "second")
				b.addMount(specs.Mount{Destination: "/layer", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}})
				b.addMount(specs.Mount{Destination: "/layer", Type: "bind", Source: d, Options: []string{"rbind", "ro"}})
				b.addMount(specs.Mount{Destination: "/nest", Type: "tmpfs", Source: "tmpfs"})
				b.addMount(specs.Mount{Destination: "/nest/inner", Type: "bind", Source: d, Options: []string{"rbind", "ro"}})
			},
			script: "cat /layer/marker; echo; cat /nest/inner/marker",
			check:  wantOutput("second\nsecond"),
		},
		{
			name: "relative destination",
			setup: func(t *testing.T, b *bundle) {
				b.addMount(specs.Mount{Destination: "relative/dest", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=0701"}})
			},
			script: mountLine + "stat -c %a /relative/dest; ml /relative/dest | cut -d' ' -f1",
			check:  wantOutput("701\ntmpfs"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			if tc.setup != nil {
				tc.setup(t, b)
			}
			out := b.shOutput(tc.script)
			tc.check(t, b, out)
			checkGone(t, b.id, "")
		})
	}
}

// TestMountThroughSymlink checks that a mount destination through a
// symlink in the rootfs is resolved inside the rootfs (CVE-2021-30465
// class): rootfs/evil -> / must not put a mount on the host's /.
func TestMountThroughSymlink(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target string // the symlink's target
	}{
		{"absolute", "/"},
		{"dotdot", "../../../../../../../.."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "sleep", "100")
			name := fmt.Sprintf("berth-cve-%s", b.id)
			hostPath := filepath.Join("/", name)
			if _, err := os.Lstat(hostPath); err == nil {
				t.Fatalf("%s exists before the test", hostPath)
			}
			t.Cleanup(func() { _ = os.Remove(hostPath) })
			if err := os.Symlink(tc.target, filepath.Join(b.rootfs(), "evil")); err != nil {
				t.Fatal(err)
			}
			b.addMount(specs.Mount{Destination: "/evil/" + name, Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=0700"}})
			b.berth("run", "-d", b.id)
			if _, err := os.Lstat(hostPath); err == nil {
				t.Errorf("the container's mount destination appeared on the host at %s", hostPath)
			}
			if m := mountsUnder(hostPath); len(m) > 0 {
				t.Errorf("mounted on the host: %v", m)
			}
			// Inside, the mount is at /<name> of the container's root.
			pid := b.containerPid()
			root := fmt.Sprintf("/proc/%d/root/%s", pid, name)
			fi, err := os.Stat(root)
			if err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("the mount is not at /%s in the container: %v %v", name, fi, err)
			}
			b.berth("delete", "--force", b.id)
			checkGone(t, b.id, b.dir)
			if _, err := os.Lstat(hostPath); err == nil {
				t.Errorf("%s appeared on the host", hostPath)
			}
		})
	}
}

// TestRootfsPropagation runs a container with each accepted value and
// checks the propagation of its root mount.
func TestRootfsPropagation(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  string // optional field in mountinfo, "" for private
	}{
		{"private", ""},
		{"rprivate", ""},
		{"slave", "master:"},
		{"rslave", "master:"},
		{"shared", "shared:"},
		{"rshared", "shared:"},
		{"unbindable", "unbindable"},
		{"runbindable", "unbindable"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			b := newBundle(t)
			b.Spec.Linux.RootfsPropagation = tc.value
			// A shared bundle, so that slave has a master to show.
			hostMount(t, b.dir, b.dir, "", unix.MS_BIND)
			if err := unix.Mount("", b.dir, "", unix.MS_SHARED, ""); err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(tc.value, "unbindable") {
				// Unbindable mounts cannot be the source of the
				// cgroup bind mounts nor of the read-only and masked
				// paths' (runc refuses unbindable even earlier).
				b.removeMount("/sys/fs/cgroup")
				b.Spec.Linux.ReadonlyPaths = nil
				b.Spec.Linux.MaskedPaths = nil
			}
			// The optional fields of the root mount: from field 7 to "-".
			out := b.shOutput(`awk '$5=="/" { s=""; for (i=7; $i!="-"; i++) s=s $i " "; print "[" s "]" }' /proc/self/mountinfo | tail -1`)
			if tc.want == "" {
				if strings.Contains(out, "shared:") || strings.Contains(out, "master:") || strings.Contains(out, "unbindable") {
					t.Errorf("root mount propagation %s, want private", out)
				}
			} else if !strings.Contains(out, tc.want) {
				t.Errorf("root mount propagation %s, want %s", out, tc.want)
			}
		})
	}
}

func wantOutput(want string) func(t *testing.T, b *bundle, out string) {
	return func(t *testing.T, _ *bundle, out string) {
		t.Helper()
		if out != want {
			t.Errorf("container output %q, want %q", out, want)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readHost(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// hostMount mounts fstype on target on the host, unmounted when the test
// ends.
func hostMount(t *testing.T, source, target, fstype string, flags uintptr) {
	t.Helper()
	if err := unix.Mount(source, target, fstype, flags, ""); err != nil {
		t.Fatalf("mount %s on %s: %v", fstype, target, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", target, err)
		}
	})
}
