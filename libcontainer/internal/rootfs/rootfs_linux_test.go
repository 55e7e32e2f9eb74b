package rootfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// The kernel tests re-execute the test binary as a child in new mount and
// pid namespaces (TestMain dispatches on childEnv). The child builds the
// container's root with Setup and Finalize, checks the result from inside,
// prints "FAIL ..." lines for what is wrong and exits 1 if anything is.
const (
	childEnv  = "BERTH_ROOTFS_TEST_CHILD"
	rootfsEnv = "BERTH_ROOTFS_TEST_ROOTFS"
	extraEnv  = "BERTH_ROOTFS_TEST_EXTRA"
)

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		runtime.LockOSThread()
		os.Exit(childMain(name))
	}
	os.Exit(m.Run())
}

// childCases are the programs a child can run.
func childCases() map[string]func(c *child) {
	return map[string]func(c *child){
		"basic":        caseBasic,
		"nopivot":      caseNoPivot,
		"escape":       caseEscape,
		"procsymlink":  caseProcSymlink,
		"procover":     caseProcOver,
		"devnull":      caseDevNull,
		"copyup":       caseCopyUp,
		"userns":       caseUsernsHost,
		"usernsc":      caseUserns,
		"cgroup":       caseCgroup,
		"propagation":  casePropagationHost,
		"propagationc": casePropagationContainer,
		"label":        caseLabel,
		"labelctx":     caseLabelContext,
	}
}

// child is the state of a child process running one case.
type child struct {
	rootfs string
	extra  string
	failed bool
}

func (c *child) fail(format string, args ...any) {
	c.failed = true
	fmt.Printf("FAIL "+format+"\n", args...)
}

func (c *child) must(err error, what string) {
	if err != nil {
		c.fail("%s: %v", what, err)
		os.Exit(1)
	}
}

func childMain(name string) int {
	fn, ok := childCases()[name]
	if !ok {
		fmt.Println("FAIL unknown case", name)
		return 1
	}
	c := &child{rootfs: os.Getenv(rootfsEnv), extra: os.Getenv(extraEnv)}
	fn(c)
	if c.failed {
		return 1
	}
	fmt.Println("PASS")
	return 0
}

// requireRoot skips kernel tests that cannot run here.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates namespaces and mounts")
	}
	if _, err := os.Stat("/proc/thread-self"); err != nil {
		t.Skip("needs /proc/thread-self (Linux 3.17)")
	}
	var attr unix.MountAttr
	if err := unix.MountSetattr(-1, "", 0, &attr); errors.Is(err, unix.ENOSYS) {
		t.Skip("needs mount_setattr (Linux 5.12)")
	}
}

// newRootfs builds a minimal busybox rootfs in a temporary directory.
func newRootfs(t *testing.T) string {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("needs busybox (busybox-static) for the rootfs")
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"bin", "proc", "sys", "dev", "etc", "tmp", "mnt"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"sh", "cat", "ls", "true"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", l)); err != nil {
			t.Fatal(err)
		}
	}
	return rootfs
}

// mountSnapshot lists this namespace's mounts, to check none leaked.
func mountSnapshot(t *testing.T) []string {
	t.Helper()
	ms, err := mountinfo.GetMounts(nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%d %s %s", m.ID, m.Mountpoint, m.FSType))
	}
	slices.Sort(out)
	return out
}

// childOpts are the namespaces and environment of a child.
type childOpts struct {
	cloneflags uintptr
	userns     bool
	extra      string
}

// runChild runs case name against rootfs in a child and fails t if the
// child reports a failure or a mount leaked into this namespace.
func runChild(t *testing.T, name, rootfs string, o childOpts) {
	t.Helper()
	before := mountSnapshot(t)
	cmd := childCmd(name, rootfs, o)
	out, err := cmd.CombinedOutput()
	t.Logf("child %s:\n%s", name, out)
	if err != nil {
		t.Errorf("child %s: %v", name, err)
	}
	if !bytes.Contains(out, []byte("PASS")) {
		t.Errorf("child %s did not pass", name)
	}
	if after := mountSnapshot(t); !slices.Equal(before, after) {
		t.Errorf("mounts leaked into the test's namespace:\nbefore %v\nafter  %v", before, after)
	}
}

func childCmd(name, rootfs string, o childOpts) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name, rootfsEnv+"="+rootfs, extraEnv+"="+o.extra)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: o.cloneflags | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC,
		Pdeathsig:  syscall.SIGKILL,
	}
	if o.userns {
		cmd.SysProcAttr.Cloneflags |= unix.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
	}
	return cmd
}

// stdMounts are the mounts of runc's default spec, as specconv makes them.
func stdMounts() []*configs.Mount {
	return []*configs.Mount{
		{Source: "proc", Destination: "/proc", Device: "proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{Source: "tmpfs", Destination: "/dev", Device: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
		{Source: "devpts", Destination: "/dev/pts", Device: "devpts", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: "newinstance,ptmxmode=0666,mode=0620"},
		{Source: "shm", Destination: "/dev/shm", Device: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV, Data: "mode=1777,size=65536k"},
		{Source: "mqueue", Destination: "/dev/mqueue", Device: "mqueue", Flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV},
		{Source: "sysfs", Destination: "/sys", Device: "sysfs", Flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_RDONLY},
	}
}

// stdDevices are runc's default device nodes.
func stdDevices() []*configs.Device {
	dev := func(p string, major, minor int64) *configs.Device {
		return &configs.Device{
			DeviceRule: configs.DeviceRule{Type: configs.CharDevice, Major: major, Minor: minor, Permissions: "rwm", Allow: true},
			Path:       p, FileMode: 0o666,
		}
	}
	return []*configs.Device{
		dev("/dev/null", 1, 3), dev("/dev/zero", 1, 5), dev("/dev/full", 1, 7),
		dev("/dev/tty", 5, 0), dev("/dev/random", 1, 8), dev("/dev/urandom", 1, 9),
	}
}

func baseConfig(rootfs string) *configs.Config {
	return &configs.Config{
		Rootfs:     rootfs,
		Namespaces: configs.Namespaces{{Type: configs.NEWNS}, {Type: configs.NEWPID}, {Type: configs.NEWIPC}},
		Mounts:     stdMounts(),
		Devices:    stdDevices(),
	}
}

// mountAt returns the mount at path p as this process sees it.
func (c *child) mountAt(p string) *mountinfo.Info {
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(p))
	if err != nil || len(ms) == 0 {
		return nil
	}
	return ms[len(ms)-1]
}

func (c *child) expectMount(p, fstype string, opts ...string) *mountinfo.Info {
	m := c.mountAt(p)
	if m == nil {
		c.fail("no mount at %s", p)
		return nil
	}
	if fstype != "" && m.FSType != fstype {
		c.fail("mount at %s has type %s, want %s", p, m.FSType, fstype)
	}
	have := strings.Split(m.Options, ",")
	for _, o := range opts {
		if !slices.Contains(have, o) {
			c.fail("mount at %s has options %s, want %s", p, m.Options, o)
		}
	}
	return m
}

func (c *child) expectErrno(err error, want unix.Errno, what string) {
	if !errors.Is(err, want) {
		c.fail("%s: got %v, want %v", what, err, want)
	}
}

func statOf(p string) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Lstat(p, &st)
	return st, err
}

// TestSetupBasic builds a container root like runc's default spec plus
// binds, tmpfs modes, masked and read-only paths and a read-only root.
func TestSetupBasic(t *testing.T) {
	requireRoot(t)
	rootfs := newRootfs(t)
	host := t.TempDir()
	mustWrite(t, filepath.Join(host, "dir/hello"), "hello")
	mustWrite(t, filepath.Join(host, "file"), "a file")
	for _, d := range []string{"upper", "work"} {
		if err := os.Mkdir(filepath.Join(host, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(rootfs, "secret-file"), "secret")
	mustWrite(t, filepath.Join(rootfs, "secret-dir/x"), "x")
	mustWrite(t, filepath.Join(rootfs, "secret-dir2/y"), "y")
	mustWrite(t, filepath.Join(rootfs, "rw-later/z"), "z")
	if err := os.Mkdir(filepath.Join(rootfs, "keepmode"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(rootfs, "keepmode"), 0o751); err != nil {
		t.Fatal(err)
	}
	runChild(t, "basic", rootfs, childOpts{extra: host})
}

func mustWrite(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func caseBasic(c *child) {
	cfg := baseConfig(c.rootfs)
	cfg.Mounts = append(cfg.Mounts,
		&configs.Mount{Source: filepath.Join(c.extra, "dir"), Destination: "/mnt/ro", Device: "bind", Flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY},
		&configs.Mount{Source: filepath.Join(c.extra, "file"), Destination: "/etc/new/hostfile", Device: "bind", Flags: unix.MS_BIND | unix.MS_NOSUID},
		&configs.Mount{Source: "tmpfs", Destination: "/tmpmode", Device: "tmpfs", Data: "mode=700"},
		&configs.Mount{Source: "tmpfs", Destination: "/keepmode", Device: "tmpfs", Flags: unix.MS_RDONLY},
		&configs.Mount{
			Source: c.extra, Destination: "/mnt/rro", Device: "bind", Flags: unix.MS_BIND | unix.MS_REC,
			RecAttr: &configs.MountAttr{AttrSet: unix.MOUNT_ATTR_RDONLY}, PropagationFlags: []int{unix.MS_SLAVE | unix.MS_REC},
		},
		&configs.Mount{
			Source: "overlay", Destination: "/ovl", Device: "overlay",
			Data: "lowerdir=" + filepath.Join(c.extra, "dir") + ",upperdir=" + filepath.Join(c.extra, "upper") +
				",workdir=" + filepath.Join(c.extra, "work"),
		},
	)
	cfg.MaskPaths = []string{"/secret-file", "/secret-dir", "/secret-dir2", "/proc/kcore", "/proc/timer_list", "/does/not/exist"}
	cfg.ReadonlyPaths = []string{"/proc/sys", "/rw-later", "/missing"}
	cfg.Readonlyfs = true
	// A submount in the rbind source, to see "rro" reach it.
	c.must(unix.Mount(filepath.Join(c.extra, "dir"), filepath.Join(c.extra, "dir"), "", unix.MS_BIND, ""), "submount")
	var waited, hooked int
	opts := Options{
		WaitCgroup:  func() error { waited++; return nil },
		BeforePivot: func() error { hooked++; return nil },
	}
	c.must(Setup(cfg, opts), "Setup")
	c.must(Finalize(cfg), "Finalize")
	if waited != 1 || hooked != 1 {
		c.fail("WaitCgroup called %d times, BeforePivot %d times; want 1 and 1", waited, hooked)
	}
	if wd, _ := os.Getwd(); wd != "/" {
		c.fail("cwd is %q, want /", wd)
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		c.fail("root is not the rootfs: %v", err)
	}
	c.expectMount("/proc", "proc", "nosuid", "nodev", "noexec")
	c.expectMount("/sys", "sysfs", "ro", "nosuid")
	c.expectMount("/dev", "tmpfs", "rw")
	c.expectMount("/dev/pts", "devpts")
	c.expectMount("/dev/shm", "tmpfs", "nodev")
	c.expectMount("/dev/mqueue", "mqueue")
	// Devices, symlinks, ptmx.
	for _, d := range stdDevices() {
		st, err := statOf(d.Path)
		if err != nil {
			c.fail("device %s: %v", d.Path, err)
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(uint32(d.Major), uint32(d.Minor)) || st.Mode&0o777 != 0o666 {
			c.fail("device %s: mode %o rdev %x", d.Path, st.Mode, st.Rdev)
		}
	}
	for link, want := range map[string]string{
		"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0", "/dev/stdout": "/proc/self/fd/1",
		"/dev/stderr": "/proc/self/fd/2", "/dev/ptmx": "pts/ptmx",
	} {
		if got, err := os.Readlink(link); err != nil || got != want {
			c.fail("%s -> %q (%v), want %q", link, got, err, want)
		}
	}
	// Stdin was the host's /dev/null: now the container's.
	var in, null unix.Stat_t
	c.must(unix.Fstat(0, &in), "fstat stdin")
	c.must(unix.Stat("/dev/null", &null), "stat /dev/null")
	if in.Dev != null.Dev || in.Ino != null.Ino {
		c.fail("stdin still refers to the host's /dev/null")
	}
	// Binds.
	if b, err := os.ReadFile("/mnt/ro/hello"); err != nil || string(b) != "hello" && string(b) != "changed" {
		c.fail("bind dir: %q %v", b, err)
	}
	c.expectErrno(os.WriteFile("/mnt/ro/new", nil, 0o644), unix.EROFS, "write into ro bind")
	c.expectMount("/mnt/ro", "", "ro")
	if b, err := os.ReadFile("/etc/new/hostfile"); err != nil || string(b) != "a file" {
		c.fail("bind file: %q %v", b, err)
	}
	c.expectMount("/etc/new/hostfile", "", "nosuid")
	c.expectMount("/mnt/rro", "", "ro")
	c.expectMount("/mnt/rro/dir", "", "ro") // the recursive attribute reached the submount
	if err := os.WriteFile("/ovl/hello", []byte("changed"), 0o644); err != nil {
		c.fail("write through overlay: %v", err)
	}
	c.expectMount("/ovl", "overlay")
	// tmpfs modes.
	if st, err := statOf("/tmpmode"); err != nil || st.Mode&0o7777 != 0o700 {
		c.fail("/tmpmode mode %o (%v), want 700", st.Mode&0o7777, err)
	}
	if st, err := statOf("/keepmode"); err != nil || st.Mode&0o7777 != 0o751 {
		c.fail("/keepmode mode %o (%v), want 751 (the hidden directory's)", st.Mode&0o7777, err)
	}
	c.expectMount("/keepmode", "tmpfs", "ro")
	// Masked paths.
	if b, err := os.ReadFile("/secret-file"); err != nil || len(b) != 0 {
		c.fail("masked file reads %q (%v)", b, err)
	}
	if st, _ := statOf("/secret-file"); st.Rdev != unix.Mkdev(1, 3) {
		c.fail("masked file is not /dev/null")
	}
	var d1, d2 unix.Stat_t
	c.must(unix.Stat("/secret-dir", &d1), "stat masked dir")
	c.must(unix.Stat("/secret-dir2", &d2), "stat masked dir2")
	if ents, _ := os.ReadDir("/secret-dir"); len(ents) != 0 {
		c.fail("masked dir lists %v", ents)
	}
	c.expectMount("/secret-dir", "tmpfs", "ro")
	if d1.Dev != d2.Dev {
		c.fail("masked directories do not share one tmpfs")
	}
	if _, err := os.Stat("/proc/timer_list"); err == nil {
		c.expectMount("/proc/timer_list", "")
	}
	// Read-only paths and root.
	c.expectMount("/proc/sys", "proc", "ro")
	c.expectErrno(os.WriteFile("/rw-later/new", nil, 0o644), unix.EROFS, "write into readonly path")
	c.expectMount("/", "", "ro")
	c.expectErrno(os.WriteFile("/newfile", nil, 0o644), unix.EROFS, "write into read-only root")
	if err := os.WriteFile("/dev/shm/ok", []byte("x"), 0o644); err != nil {
		c.fail("write to /dev/shm: %v", err)
	}
	// The rootfs works for a real program.
	if out, err := exec.Command("/bin/busybox", "cat", "/mnt/ro/hello").CombinedOutput(); err != nil || string(out) != "hello" {
		c.fail("busybox cat: %q %v", out, err)
	}
}

// TestSetupNoPivot switches root with MS_MOVE and chroot.
func TestSetupNoPivot(t *testing.T) {
	requireRoot(t)
	rootfs := newRootfs(t)
	mustWrite(t, filepath.Join(rootfs, "marker"), "inside")
	runChild(t, "nopivot", rootfs, childOpts{})
}

func caseNoPivot(c *child) {
	cfg := baseConfig(c.rootfs)
	cfg.NoPivotRoot = true
	cfg.MaskPaths = []string{"/proc/kcore"}
	cfg.Mounts[1].Flags |= unix.MS_RDONLY // a read-only /dev: still populated
	c.must(Setup(cfg, Options{}), "Setup")
	c.must(Finalize(cfg), "Finalize")
	c.expectMount("/dev", "tmpfs", "ro")
	if st, err := statOf("/dev/zero"); err != nil || st.Rdev != unix.Mkdev(1, 5) {
		c.fail("/dev/zero in a read-only /dev: %v", err)
	}
	if b, err := os.ReadFile("/marker"); err != nil || string(b) != "inside" {
		c.fail("root is not the rootfs: %q %v", b, err)
	}
	c.expectMount("/proc", "proc")
	// The host's procfs and sysfs mounts were detached before the move.
	ms, err := mountinfo.GetMounts(nil)
	c.must(err, "mountinfo")
	for _, m := range ms {
		if (m.FSType == "proc" || m.FSType == "sysfs") && m.Mountpoint != "/proc" && m.Mountpoint != "/sys" &&
			!strings.HasPrefix(m.Mountpoint, "/proc/") {
			c.fail("host %s still mounted at %s", m.FSType, m.Mountpoint)
		}
	}
}

// TestSetupSymlinkEscape: destinations that are symlinks to host paths,
// absolute or with "..", land inside the rootfs (CVE-2021-30465 class).
func TestSetupSymlinkEscape(t *testing.T) {
	requireRoot(t)
	rootfs := newRootfs(t)
	host := t.TempDir()
	hostDir := filepath.Join(host, "hostdir")
	mustWrite(t, filepath.Join(hostDir, "marker"), "host")
	mustWrite(t, filepath.Join(host, "source/data"), "data")
	if err := os.Symlink(hostDir, filepath.Join(rootfs, "evil")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../.."+hostDir, filepath.Join(rootfs, "mnt/rel")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/", filepath.Join(rootfs, "etc/up")); err != nil {
		t.Fatal(err)
	}
	runChild(t, "escape", rootfs, childOpts{extra: host})
	// Nothing was created on the host through the links.
	if ents, _ := os.ReadDir(hostDir); len(ents) != 1 {
		t.Errorf("host dir %s changed: %v", hostDir, ents)
	}
}

func caseEscape(c *child) {
	hostDir := filepath.Join(c.extra, "hostdir")
	cfg := baseConfig(c.rootfs)
	cfg.Mounts = append(cfg.Mounts,
		&configs.Mount{Source: "tmpfs", Destination: "/evil", Device: "tmpfs"},
		&configs.Mount{Source: filepath.Join(c.extra, "source"), Destination: "/mnt/rel/sub", Device: "bind", Flags: unix.MS_BIND},
		&configs.Mount{Source: "tmpfs", Destination: "/etc/up/tmp/x", Device: "tmpfs"},
	)
	before := func() error {
		// Still in the host's tree: nothing may be mounted on hostDir.
		for _, p := range []string{hostDir, filepath.Join(hostDir, "sub"), "/tmp/x"} {
			if c.mountAt(p) != nil {
				c.fail("a mount escaped the rootfs to %s", p)
			}
		}
		if _, err := os.Stat(filepath.Join(hostDir, "marker")); err != nil {
			c.fail("host marker hidden: %v", err)
		}
		return nil
	}
	c.must(Setup(cfg, Options{BeforePivot: before}), "Setup")
	// Inside, the links resolved within the rootfs.
	c.expectMount(hostDir, "tmpfs")
	if b, err := os.ReadFile(filepath.Join(hostDir, "sub/data")); err != nil || string(b) != "data" {
		c.fail("bind through relative link: %q %v", b, err)
	}
	c.expectMount("/tmp/x", "tmpfs")
}

// TestSetupProcSymlink: proc and sysfs are never mounted through a symlink.
func TestSetupProcSymlink(t *testing.T) {
	requireRoot(t)
	rootfs := newRootfs(t)
	if err := os.Remove(filepath.Join(rootfs, "proc")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/tmp", filepath.Join(rootfs, "proc")); err != nil {
		t.Fatal(err)
	}
	runChild(t, "procsymlink", rootfs, childOpts{})
}

func caseProcSymlink(c *child) {
	err := Setup(baseConfig(c.rootfs), Options{})
	if err == nil || !strings.Contains(err.Error(), "mount destination /proc is a symlink") {
		c.fail("Setup = %v, want a symlink error", err)
	}
}

// TestSetupProcOver: only lxcfs files may be covered inside /proc, and only
// procfs may go on /proc.
func TestSetupProcOver(t *testing.T) {
	requireRoot(t)
	rootfs := newRootfs(t)
	if err := os.Symlink("/proc/sys", filepath.Join(rootfs, "sneaky")); err != nil {
		t.Fatal(err)
	}
	runChild(t, "procover", rootfs, childOpts{})
}

func caseProcOver(c *child) {
	tests := []struct {
		m    *configs.Mount
		want string
	}{
		{&configs.Mount{Source: "tmpfs", Destination: "/proc", Device: "tmpfs"}, "only procfs"},
		{&configs.Mount{Source: "tmpfs", Destination: "/sneaky", Device: "tmpfs"}, "inside /proc"},
		{&configs.Mount{Source: "/etc/hostname", Destination: "/proc/self/attr/exec", Device: "bind", Flags: unix.MS_BIND}, "inside /proc"},
	}
	for _, tt := range tests {
		// Setup fails before pivot_root: the next round stacks on top.
		cfg := baseConfig(c.rootfs)
		cfg.Mounts = []*configs.Mount{stdMounts()[0], tt.m}
		err := Setup(cfg, Options{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			c.fail("mount on %s: Setup = %v, want %q", tt.m.Destination, err, tt.want)
		}
	}
}

// TestFinalizeDevNullSwapped: masking refuses a /dev/null that is not the
// null device, rather than binding whatever it points to (CVE-2025-31133).
func TestFinalizeDevNullSwapped(t *testing.T) {
	requireRoot(t)
	rootfs := newRootfs(t)
	mustWrite(t, filepath.Join(rootfs, "etc/secret"), "secret")
	runChild(t, "devnull", rootfs, childOpts{})
}

func caseDevNull(c *child) {
	cfg := baseConfig(c.rootfs)
	cfg.MaskPaths = []string{"/proc/timer_list", "/etc/secret"}
	c.must(Setup(cfg, Options{}), "Setup")
	// What a hostile process in the container could do before Finalize.
	c.must(os.Remove("/dev/null"), "remove /dev/null")
	c.must(os.Symlink("/proc/sys/kernel/core_pattern", "/dev/null"), "plant symlink")
	err := Finalize(cfg)
	if err == nil || !strings.Contains(err.Error(), "/dev/null") {
		c.fail("Finalize = %v, want a /dev/null error", err)
	}
	if b, _ := os.ReadFile("/etc/secret"); string(b) != "secret" {
		c.fail("/etc/secret was covered: %q", b)
	}
	c.must(os.Remove("/dev/null"), "remove symlink")
	c.must(unix.Mknod("/dev/null", unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))), "mknod zero as null")
	if err := Finalize(cfg); err == nil || !strings.Contains(err.Error(), "not the null device") {
		c.fail("Finalize with /dev/zero as /dev/null = %v", err)
	}
}

// TestSetupCopyUp: tmpcopyup fills the tmpfs with what it hides.
func TestSetupCopyUp(t *testing.T) {
	requireRoot(t)
	rootfs := newRootfs(t)
	data := filepath.Join(rootfs, "data")
	mustWrite(t, filepath.Join(data, "sub/file"), "content")
	if err := os.Chmod(filepath.Join(data, "sub/file"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(data, "sub"), 1000, 1001); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/file", filepath.Join(data, "link")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(data, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o750); err != nil {
		t.Fatal(err)
	}
	runChild(t, "copyup", rootfs, childOpts{})
	// The rootfs itself is untouched.
	if b, err := os.ReadFile(filepath.Join(data, "sub/file")); err != nil || string(b) != "content" {
		t.Errorf("source changed: %q %v", b, err)
	}
}

func caseCopyUp(c *child) {
	cfg := baseConfig(c.rootfs)
	cfg.Mounts = append(cfg.Mounts, &configs.Mount{
		Source: "tmpfs", Destination: "/data", Device: "tmpfs", Flags: unix.MS_NOSUID,
		Extensions: configs.EXT_COPYUP, PropagationFlags: []int{unix.MS_PRIVATE},
	})
	c.must(Setup(cfg, Options{}), "Setup")
	c.expectMount("/data", "tmpfs", "nosuid")
	if b, err := os.ReadFile("/data/sub/file"); err != nil || string(b) != "content" {
		c.fail("copied file: %q %v", b, err)
	}
	if st, _ := statOf("/data/sub/file"); st.Mode&0o7777 != 0o640 {
		c.fail("copied file mode %o", st.Mode&0o7777)
	}
	if st, _ := statOf("/data/sub"); st.Uid != 1000 || st.Gid != 1001 {
		c.fail("copied dir owner %d:%d", st.Uid, st.Gid)
	}
	if l, err := os.Readlink("/data/link"); err != nil || l != "sub/file" {
		c.fail("copied link %q %v", l, err)
	}
	if st, _ := statOf("/data/fifo"); st.Mode&unix.S_IFMT != unix.S_IFIFO {
		c.fail("copied fifo mode %o", st.Mode)
	}
	if st, _ := statOf("/data"); st.Mode&0o7777 != 0o750 {
		c.fail("tmpfs root mode %o, want 750", st.Mode&0o7777)
	}
	if err := os.WriteFile("/data/new", []byte("x"), 0o644); err != nil {
		c.fail("tmpfs not writable: %v", err)
	}
}

// TestSetupUserns: in a user namespace devices are bind mounts, sysfs is
// the host's /sys, and flags the kernel locked on host mounts are kept.
func TestSetupUserns(t *testing.T) {
	requireRoot(t)
	rootfs := newRootfs(t)
	runChild(t, "userns", rootfs, childOpts{extra: t.TempDir()})
}

// caseUsernsHost mounts a nosuid,nodev,noexec tmpfs (which the container's
// user namespace will see locked) and runs the container case.
func caseUsernsHost(c *child) {
	// Go writes the grandchild's uid_map through /proc/<pid>: that needs a
	// procfs of this pid namespace.
	c.must(unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""), "make / private")
	c.must(unix.Mount("proc", "/proc", "proc", 0, ""), "mount proc")
	locked := filepath.Join(c.extra, "locked")
	c.must(os.Mkdir(locked, 0o755), "mkdir")
	c.must(unix.Mount("tmpfs", locked, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""), "mount locked tmpfs")
	cmd := childCmd("usernsc", c.rootfs, childOpts{userns: true, extra: locked})
	out, err := cmd.CombinedOutput()
	fmt.Print(string(out))
	if err != nil {
		c.fail("container: %v", err)
	}
}

func caseUserns(c *child) {
	cfg := baseConfig(c.rootfs)
	cfg.Namespaces = append(cfg.Namespaces, configs.Namespace{Type: configs.NEWUSER})
	cfg.Mounts = append(cfg.Mounts, &configs.Mount{
		Source: "/proc/self/ns", Destination: "/mnt/ns", Device: "bind", Flags: unix.MS_BIND | unix.MS_RDONLY,
	}, &configs.Mount{
		// Recursive: the cgroup mounts below are locked to it.
		Source: "/sys/fs/cgroup", Destination: "/mnt/cg", Device: "bind", Flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY,
	}, &configs.Mount{
		// "ro" alone means "ro,suid,dev,exec": the locked flags win, as mount(8).
		Source: c.extra, Destination: "/mnt/locked", Device: "bind", Flags: unix.MS_BIND | unix.MS_RDONLY,
	})
	cfg.ReadonlyPaths = []string{"/proc/sys"}
	cfg.MaskPaths = []string{"/proc/timer_list", "/sys/firmware"}
	cfg.Readonlyfs = true
	c.must(Setup(cfg, Options{}), "Setup")
	c.must(Finalize(cfg), "Finalize")
	c.expectMount("/dev/null", "")
	if st, err := statOf("/dev/null"); err != nil || st.Rdev != unix.Mkdev(1, 3) {
		c.fail("/dev/null is not the null device: %v", err)
	}
	c.expectMount("/sys", "sysfs", "ro")
	c.expectMount("/mnt/cg", "tmpfs", "ro")
	c.expectMount("/mnt/cg/memory", "cgroup")
	c.expectMount("/mnt/locked", "tmpfs", "ro", "nosuid", "nodev", "noexec")
	c.expectMount("/proc/sys", "proc", "ro")
	c.expectMount("/", "", "ro")
}

// TestSetupCgroup: a cgroup mount on this v1 (hybrid) host, with and
// without a cgroup namespace, read-only.
func TestSetupCgroup(t *testing.T) {
	requireRoot(t)
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		t.Skip("needs a cgroup v1 (or hybrid) host")
	}
	for _, ns := range []string{"bind", "cgroupns"} {
		t.Run(ns, func(t *testing.T) {
			rootfs := newRootfs(t)
			o := childOpts{extra: ns}
			if ns == "cgroupns" {
				o.cloneflags = unix.CLONE_NEWCGROUP
			}
			runChild(t, "cgroup", rootfs, o)
		})
	}
}

func caseCgroup(c *child) {
	cfg := baseConfig(c.rootfs)
	if c.extra == "cgroupns" {
		cfg.Namespaces = append(cfg.Namespaces, configs.Namespace{Type: configs.NEWCGROUP})
	}
	cfg.Mounts = append(cfg.Mounts, &configs.Mount{
		Source: "cgroup", Destination: "/sys/fs/cgroup", Device: "cgroup",
		Flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_RDONLY,
	})
	self, err := os.ReadFile("/proc/self/cgroup")
	c.must(err, "read /proc/self/cgroup")
	waited := 0
	c.must(Setup(cfg, Options{WaitCgroup: func() error { waited++; return nil }}), "Setup")
	if waited != 1 {
		c.fail("WaitCgroup called %d times", waited)
	}
	c.expectMount("/sys/fs/cgroup", "tmpfs", "ro")
	cf, err := parseCgroupFile(bytes.NewReader(self))
	c.must(err, "parse cgroup file")
	m := c.expectMount("/sys/fs/cgroup/memory", "cgroup", "ro")
	if m != nil {
		want := cf.v1["memory"]
		if c.extra == "cgroupns" {
			want = "/"
		}
		if m.Root != want {
			c.fail("memory mount root %s, want %s", m.Root, want)
		}
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err != nil {
		c.fail("memory controller files: %v", err)
	}
	c.expectErrno(os.Mkdir("/sys/fs/cgroup/memory/x", 0o755), unix.EROFS, "mkdir in ro cgroup")
	c.expectErrno(os.Mkdir("/sys/fs/cgroup/new", 0o755), unix.EROFS, "mkdir in ro cgroup tmpfs")
}

// TestSetupPropagation: with rootfsPropagation=rshared the container's "/"
// is shared; a bind of a shared host directory with "rshared" carries
// mounts both ways; "/" itself never propagates into the host's tree.
// The child plays the host (its own mount namespace, where it may make
// mounts shared) and starts a grandchild that is the container.
func TestSetupPropagation(t *testing.T) {
	requireRoot(t)
	rootfs := newRootfs(t)
	runChild(t, "propagation", rootfs, childOpts{extra: t.TempDir()})
}

func casePropagationHost(c *child) {
	shared := filepath.Join(c.extra, "shared")
	c.must(os.MkdirAll(filepath.Join(shared, "fromhost"), 0o755), "mkdir")
	c.must(unix.Mount("tmpfs", shared, "tmpfs", 0, ""), "mount shared tmpfs")
	c.must(os.MkdirAll(filepath.Join(shared, "fromhost"), 0o755), "mkdir fromhost")
	c.must(os.MkdirAll(filepath.Join(shared, "fromcontainer"), 0o755), "mkdir fromcontainer")
	c.must(unix.Mount("", shared, "", unix.MS_SHARED, ""), "make shared")
	// The rootfs is itself a shared mount, as on hosts with systemd.
	c.must(unix.Mount(c.rootfs, c.rootfs, "", unix.MS_BIND, ""), "bind rootfs")
	c.must(unix.Mount("", c.rootfs, "", unix.MS_SHARED, ""), "make rootfs shared")

	cmd := childCmd("propagationc", c.rootfs, childOpts{extra: shared})
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	stdin, err := cmd.StdinPipe()
	c.must(err, "stdin pipe")
	stdout, err := cmd.StdoutPipe()
	c.must(err, "stdout pipe")
	cmd.Stderr = os.Stdout
	c.must(cmd.Start(), "start container")
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		rest, _ := io.ReadAll(r)
		c.fail("container: %q %v\n%s", line, err, rest)
		_ = cmd.Wait()
		return
	}
	// Container -> host through the rshared bind.
	if c.mountAt(filepath.Join(shared, "fromcontainer")) == nil {
		c.fail("a mount made in the container under the rshared bind did not reach the host")
	}
	// But not through the container's "/".
	if c.mountAt(filepath.Join(c.rootfs, "tmp")) != nil {
		c.fail("a mount on the container's / reached the host's rootfs")
	}
	// Host -> container.
	c.must(unix.Mount("tmpfs", filepath.Join(shared, "fromhost"), "tmpfs", 0, ""), "mount fromhost")
	_, _ = io.WriteString(stdin, "go\n")
	rest, _ := io.ReadAll(r)
	fmt.Print(string(rest))
	if err := cmd.Wait(); err != nil {
		c.fail("container: %v", err)
	}
}

func casePropagationContainer(c *child) {
	cfg := baseConfig(c.rootfs)
	cfg.RootPropagation = unix.MS_SHARED | unix.MS_REC
	cfg.Mounts = append(cfg.Mounts, &configs.Mount{
		Source: c.extra, Destination: "/mnt/shared", Device: "bind",
		Flags: unix.MS_BIND | unix.MS_REC, PropagationFlags: []int{unix.MS_SHARED | unix.MS_REC},
	})
	c.must(Setup(cfg, Options{}), "Setup")
	if m := c.mountAt("/"); m == nil || !strings.Contains(m.Optional, "shared:") {
		c.fail("/ is not shared: %+v", m)
	}
	c.must(unix.Mount("tmpfs", "/mnt/shared/fromcontainer", "tmpfs", 0, ""), "mount fromcontainer")
	c.must(unix.Mount("tmpfs", "/tmp", "tmpfs", 0, ""), "mount /tmp")
	fmt.Println("ready")
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if strings.TrimSpace(line) != "go" {
		c.fail("host said %q", line)
		return
	}
	if c.mountAt("/mnt/shared/fromhost") == nil {
		c.fail("a mount made on the host did not reach the container")
	}
}
