package cgroups

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// devFilterChildEnv holds the operations TestDeviceFilterChild performs when
// the test binary runs as TestDeviceFilterKernel's helper process.
const devFilterChildEnv = "BERTH_TEST_DEVFILTER_OPS"

// TestDeviceFilterChild is the helper process of TestDeviceFilterKernel: it
// runs in the filtered cgroup and performs the operations in its
// environment, each a token "open:FLAGS:PATH" (FLAGS r, w or rw),
// "mknod:TYPE:MAJOR:MINOR:PATH", "filter:allow|deny:DIR" (set a device
// filter that allows or denies all) or "rootless:DIR" (the same through a
// rootless manager), and prints "TOKEN RESULT" for each,
// where RESULT is "ok" or the errno's name (for "filter", followed by the
// error message).
func TestDeviceFilterChild(t *testing.T) {
	ops := os.Getenv(devFilterChildEnv)
	if ops == "" {
		t.Skip("only runs as the helper process of TestDeviceFilterKernel")
	}
	for _, op := range strings.Fields(ops) {
		f := strings.Split(op, ":")
		var err error
		switch {
		case f[0] == "open" && len(f) == 3:
			flags := map[string]int{"r": unix.O_RDONLY, "w": unix.O_WRONLY, "rw": unix.O_RDWR}[f[1]]
			var fd int
			if fd, err = unix.Open(f[2], flags|unix.O_CLOEXEC|unix.O_NONBLOCK, 0); err == nil {
				unix.Close(fd)
			}
		case f[0] == "mknod" && len(f) == 5:
			mode := uint32(unix.S_IFCHR)
			if f[1] == "b" {
				mode = unix.S_IFBLK
			}
			major, _ := strconv.ParseUint(f[2], 10, 32)
			minor, _ := strconv.ParseUint(f[3], 10, 32)
			err = unix.Mknod(f[4], mode|0o600, int(unix.Mkdev(uint32(major), uint32(minor))))
		case f[0] == "filter" && len(f) == 3:
			allow := f[1] == "allow"
			if err = setDeviceFilter(f[2], []*configs.DeviceRule{rule(allow, 'a', w, w, "rwm")}); err != nil {
				// The whole message, to check its hint.
				err = errors.New(result(err) + " " + err.Error())
			}
		case f[0] == "rootless" && len(f) == 2:
			m := &v2Manager{rootless: true, dir: f[1]}
			err = m.Set(&configs.Resources{Devices: []*configs.DeviceRule{rule(false, 'a', w, w, "rwm")}})
		default:
			t.Fatalf("bad operation %q", op)
		}
		fmt.Println(op, result(err))
	}
}

func result(err error) string {
	var errno unix.Errno
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &errno):
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

// devFilterTest is one cgroup v2 directory for TestDeviceFilterKernel.
type devFilterTest struct {
	t   *testing.T
	m   *v2Manager
	tmp string
	// control is what opening tmp/blk (block 7:0) gives with no filter:
	// ok, or ENXIO when no loop device is behind it.
	control string
	// userns runs the helper process in a new user namespace, where it
	// has no capability in the initial one.
	userns bool
}

// newDevFilterTest creates <unified>/berth-test/devfilter-<random> (on a
// hybrid host, in the cgroup2 hierarchy at /sys/fs/cgroup/unified) and
// removes it at the end.
func newDevFilterTest(t *testing.T) *devFilterTest {
	t.Helper()
	requireRoot(t)
	root := hostFacts().unifiedRoot
	if root == "" {
		t.Skip("no cgroup2 hierarchy on this host")
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	parent := filepath.Join(root, testParent)
	m := &v2Manager{root: root, dir: filepath.Join(parent, "devfilter-"+hex.EncodeToString(b))}
	if err := m.Apply(-1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		_ = syscall.Rmdir(parent) // fails while another test uses it
		if m.Exists() {
			t.Errorf("cleanup: %s still exists", m.dir)
		}
	})
	d := &devFilterTest{t: t, m: m, tmp: t.TempDir()}
	if err := unix.Mknod(filepath.Join(d.tmp, "blk"), unix.S_IFBLK|0o600, int(unix.Mkdev(7, 0))); err != nil {
		t.Fatalf("mknod: %v", err)
	}
	fd, err := unix.Open(filepath.Join(d.tmp, "blk"), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err == nil {
		unix.Close(fd)
	}
	switch d.control = result(err); d.control {
	case "ok", "ENXIO", "ENODEV":
	default:
		t.Skipf("open %s/blk outside the cgroup: %v (a nodev mount?)", d.tmp, err)
	}
	return d
}

// set applies rules with a fresh manager for the same directory, as
// `berth update` in another process would.
func (d *devFilterTest) set(rules ...*configs.DeviceRule) {
	d.t.Helper()
	m := &v2Manager{root: d.m.root, dir: d.m.dir}
	err := m.Set(&configs.Resources{Devices: rules})
	if errors.Is(err, ebpf.ErrNotSupported) {
		d.t.Skipf("kernel without cgroup device filters: %v", err)
	}
	if err != nil {
		d.t.Fatal(err)
	}
}

// run runs the helper process in the cgroup and returns each operation's
// result. Paths in ops are relative to the test's temporary directory unless
// they are absolute.
func (d *devFilterTest) run(ops ...string) map[string]string {
	d.t.Helper()
	self, err := os.Executable()
	if err != nil {
		d.t.Fatal(err)
	}
	fd, err := d.m.CgroupFD()
	if err != nil {
		d.t.Fatal(err)
	}
	defer unix.Close(fd)
	var tokens []string
	for _, op := range ops {
		f := strings.Split(op, ":")
		if p := f[len(f)-1]; len(f) > 1 && !filepath.IsAbs(p) {
			f[len(f)-1] = filepath.Join(d.tmp, p)
		}
		tokens = append(tokens, strings.Join(f, ":"))
	}
	cmd := exec.Command(self, "-test.run=^TestDeviceFilterChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), devFilterChildEnv+"="+strings.Join(tokens, " "))
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	if d.userns {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		d.t.Fatalf("helper process: %v\n%s", err, out)
	}
	res := map[string]string{}
	for line := range strings.Lines(string(out)) {
		tok, r, ok := strings.Cut(strings.TrimSpace(line), " ")
		if i := slices.Index(tokens, tok); ok && i >= 0 {
			res[ops[i]] = r
		}
	}
	if len(res) != len(ops) {
		d.t.Fatalf("helper process answered %d of %d operations:\n%s", len(res), len(ops), out)
	}
	return res
}

// expect runs ops (operation -> wanted result) in the cgroup.
func (d *devFilterTest) expect(want map[string]string) {
	d.t.Helper()
	ops := slices.Sorted(func(yield func(string) bool) {
		for op := range want {
			if !yield(op) {
				return
			}
		}
	})
	got := d.run(ops...)
	for _, op := range ops {
		w := want[op]
		if w == "control" {
			w = d.control
		}
		if got[op] != w {
			d.t.Errorf("%s in the cgroup: %s, want %s", op, got[op], w)
		}
	}
}

// programs returns the ids of berth's filters and of all device programs
// attached to the cgroup itself.
func (d *devFilterTest) programs() (berth, all []ebpf.ProgramID) {
	d.t.Helper()
	fd, err := unix.Open(d.m.dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		d.t.Fatal(err)
	}
	defer unix.Close(fd)
	// The library's query, to check queryDevicePrograms against.
	res, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		d.t.Fatal(err)
	}
	for _, p := range res.Programs {
		all = append(all, p.ID)
	}
	if ids, err := queryDevicePrograms(fd); err != nil || !slices.Equal(ids, all) {
		d.t.Fatalf("queryDevicePrograms: %v, %v; the library's query: %v", ids, err, all)
	}
	progs, err := attachedDeviceFilters(fd)
	if err != nil {
		d.t.Fatal(err)
	}
	defer closePrograms(progs)
	for _, p := range progs {
		info, err := p.Info()
		if err != nil {
			d.t.Fatal(err)
		}
		id, _ := info.ID()
		berth = append(berth, id)
	}
	return berth, all
}

// attach attaches an extra program that allows everything, named name, as
// another tool (or an earlier berth) might have.
func (d *devFilterTest) attach(name string) {
	d.t.Helper()
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         name,
		Type:         ebpf.CGroupDevice,
		Instructions: asm.Instructions{asm.Mov.Imm32(asm.R0, 1), asm.Return()},
		License:      "Apache-2.0",
	})
	if err != nil {
		d.t.Fatal(err)
	}
	defer prog.Close()
	fd, err := unix.Open(d.m.dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		d.t.Fatal(err)
	}
	defer unix.Close(fd)
	err = link.RawAttachProgram(link.RawAttachProgramOptions{
		Target: fd, Program: prog, Attach: ebpf.AttachCGroupDevice, Flags: unix.BPF_F_ALLOW_MULTI,
	})
	if err != nil {
		d.t.Fatal(err)
	}
}

// TestDeviceFilterKernel attaches filters to a real cgroup v2 directory and
// checks what a process in it may open and mknod.
func TestDeviceFilterKernel(t *testing.T) {
	d := newDevFilterTest(t)
	deny := []*configs.DeviceRule{
		rule(false, 'a', w, w, "rwm"),
		rule(true, 'c', 1, 3, "rwm"),
		rule(true, 'c', 1, 5, "r"),
	}

	d.set(deny...)
	d.expect(map[string]string{
		"open:rw:/dev/null":  "ok",
		"open:r:/dev/zero":   "ok",
		"open:rw:/dev/zero":  "EPERM",
		"open:r:blk":         "EPERM",
		"mknod:c:1:3:null":   "ok",
		"mknod:c:1:7:full":   "EPERM",
		"mknod:b:7:0:blk-in": "EPERM",
	})
	first, all := d.programs()
	if len(first) != 1 || len(all) != 1 {
		t.Fatalf("after the first Set: berth's filters %v, all %v; want one", first, all)
	}

	t.Run("update replaces the filter", func(t *testing.T) {
		d.set(append(slices.Clone(deny), rule(true, 'b', 7, 0, "r"))...)
		d.expect(map[string]string{
			"open:r:blk":        "control",
			"open:w:blk":        "EPERM",
			"open:rw:/dev/zero": "EPERM",
		})
		berth, all := d.programs()
		if len(berth) != 1 || len(all) != 1 || berth[0] == first[0] {
			t.Errorf("berth's filters %v, all %v; want one, not %v", berth, all, first)
		}
	})

	t.Run("allow default with deny exceptions", func(t *testing.T) {
		d.set(rule(true, 'a', w, w, "rwm"), rule(false, 'c', 1, 5, "w"))
		d.expect(map[string]string{
			"open:r:/dev/zero":  "ok",
			"open:rw:/dev/zero": "EPERM",
			"open:rw:/dev/null": "ok",
			"open:r:blk":        "control",
			"mknod:c:1:7:full2": "ok",
		})
	})

	t.Run("allow all detaches", func(t *testing.T) {
		d.set(rule(true, 'a', w, w, "rwm"))
		if berth, all := d.programs(); len(berth) != 0 || len(all) != 0 {
			t.Errorf("berth's filters %v, all %v; want none", berth, all)
		}
		d.expect(map[string]string{"open:rw:/dev/zero": "ok", "open:r:blk": "control"})
	})

	t.Run("nil devices leave the filter alone", func(t *testing.T) {
		d.set(deny...)
		before, _ := d.programs()
		if err := d.m.Set(&configs.Resources{}); err != nil {
			t.Fatal(err)
		}
		if after, _ := d.programs(); !slices.Equal(before, after) {
			t.Errorf("filters %v after a Set without devices, want %v", after, before)
		}
	})

	t.Run("others' programs stay", func(t *testing.T) {
		d.attach("other_tool")
		d.set(deny...)
		berth, all := d.programs()
		if len(berth) != 1 || len(all) != 2 {
			t.Errorf("berth's filters %v, all %v; want one of berth's and the other tool's", berth, all)
		}
		// Every program must allow an access: the other one allows all.
		d.expect(map[string]string{"open:r:blk": "EPERM", "open:rw:/dev/null": "ok"})
		d.set(rule(true, 'a', w, w, "rwm"))
		if berth, all := d.programs(); len(berth) != 0 || len(all) != 1 {
			t.Errorf("berth's filters %v, all %v; want only the other tool's", berth, all)
		}
	})

	t.Run("several old filters", func(t *testing.T) {
		d.attach(deviceFilterName)
		d.attach(deviceFilterName)
		d.set(deny...)
		if berth, _ := d.programs(); len(berth) != 1 {
			t.Errorf("berth's filters %v, want one", berth)
		}
		d.expect(map[string]string{"open:r:blk": "EPERM", "open:rw:/dev/null": "ok"})
	})
	// The cleanup removes the cgroup with the filters attached.
}

func TestDeviceFilterBadRules(t *testing.T) {
	d := newDevFilterTest(t)
	d.set(rule(false, 'a', w, w, "rwm"), rule(true, 'c', 1, 3, "rwm"))
	err := d.m.Set(&configs.Resources{Devices: []*configs.DeviceRule{rule(true, 'c', 1<<32, 0, "r")}})
	if err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("err = %v, want a range error", err)
	}
	// The old filter is still in place.
	d.expect(map[string]string{"open:r:blk": "EPERM", "open:rw:/dev/null": "ok"})
}

// TestDeviceFilterNoPrivilege checks the error of a process that may not load
// eBPF programs: root in a user namespace of its own.
func TestDeviceFilterNoPrivilege(t *testing.T) {
	d := newDevFilterTest(t)
	if _, err := os.Stat("/proc/self/ns/user"); err != nil {
		t.Skipf("no user namespaces: %v", err)
	}
	d.userns = true
	for _, op := range []string{"filter:deny:" + d.m.dir, "filter:allow:" + d.m.dir} {
		got := d.run(op)[op]
		t.Logf("%s in a user namespace: %s", op, got)
		if !strings.HasPrefix(got, "EPERM ") || !strings.Contains(got, "needs CAP_SYS_ADMIN, or CAP_BPF") ||
			strings.Contains(got, "MEMLOCK may be too low") {
			t.Errorf("%s in a user namespace: %q, want EPERM and the capability hint", op, got)
		}
	}
	// runc's rule: a rootless manager ignores what it may not do.
	op := "rootless:" + d.m.dir
	if got := d.run(op)[op]; got != "ok" {
		t.Errorf("a rootless manager without privilege: %s, want the error ignored", got)
	}
}
