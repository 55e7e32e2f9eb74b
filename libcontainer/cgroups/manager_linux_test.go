package cgroups

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/berthrt/berth/libcontainer/configs"
)

// testParent is the only cgroup these tests create under, in every
// hierarchy; it is removed again when empty.
const testParent = "/berth-test"

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	if _, err := os.Stat("/sys/fs/cgroup"); err != nil {
		t.Skip("no /sys/fs/cgroup")
	}
}

// newTestManager returns a manager for /berth-test/<name>-<random> and
// removes the cgroup (and the /berth-test parent, when empty) at the end.
func newTestManager(t *testing.T, name string) (Manager, string) {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	path := testParent + "/" + name + "-" + hex.EncodeToString(b)
	m, err := New(&configs.Cgroup{Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		seen := map[string]bool{}
		for _, d := range m.GetPaths() {
			if p := filepath.Dir(d); !seen[p] && strings.HasSuffix(p, testParent) {
				seen[p] = true
				_ = syscall.Rmdir(p) // fails while another test uses it
			}
		}
	})
	return m, path
}

// startSleep starts a process that the test kills and reaps at its end.
func startSleep(t *testing.T, attr *syscall.SysProcAttr) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

func killAndWait(t *testing.T, cmds ...*exec.Cmd) {
	t.Helper()
	for _, c := range cmds {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
}

func readBack(t *testing.T, m Manager, ctrl, file string) string {
	t.Helper()
	v, err := readFile(m.Path(ctrl), file)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// procCgroups returns /proc/pid/cgroup as a controller -> path map.
func procCgroups(t *testing.T, pid int) map[string]string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseProcCgroup(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestManagerLifecycle(t *testing.T) {
	requireRoot(t)
	m, path := newTestManager(t, "cg")
	cmd := startSleep(t, nil)
	pid := cmd.Process.Pid

	if err := m.Apply(pid); err != nil {
		t.Fatal(err)
	}
	if !m.Exists() {
		t.Fatal("Exists() = false after Apply")
	}

	t.Run("placement", func(t *testing.T) {
		got := procCgroups(t, pid)
		if IsCgroup2UnifiedMode() {
			if got[""] != path {
				t.Errorf("/proc/%d/cgroup: 0::%s, want 0::%s", pid, got[""], path)
			}
			return
		}
		mounts, err := hostFacts().mounts()
		if err != nil {
			t.Fatal(err)
		}
		for _, mnt := range mounts {
			for _, c := range mnt.Controllers {
				if got[c] != path {
					t.Errorf("/proc/%d/cgroup: %s:%s, want %s", pid, c, got[c], path)
				}
			}
		}
		if IsCgroup2HybridMode() && got[""] != path {
			t.Errorf("/proc/%d/cgroup: 0::%s, want 0::%s", pid, got[""], path)
		}
	})

	t.Run("paths round trip", func(t *testing.T) {
		m2, err := New(&configs.Cgroup{Path: "/ignored"}, m.GetPaths())
		if err != nil {
			t.Fatal(err)
		}
		if g, w := m2.GetPaths(), m.GetPaths(); !equalMaps(g, w) {
			t.Errorf("loaded paths %v, want %v", g, w)
		}
	})

	t.Run("set", func(t *testing.T) {
		pids, mem := int64(10), int64(64<<20)
		r := &configs.Resources{PidsLimit: &pids, Memory: mem, CPUShares: 512, CPUQuota: 50000, CPUPeriod: 100000}
		if err := m.Set(r); err != nil {
			t.Fatal(err)
		}
		checks := []struct{ ctrl, file, want string }{
			{"pids", "pids.max", "10"},
		}
		if IsCgroup2UnifiedMode() {
			checks = append(checks,
				struct{ ctrl, file, want string }{"memory", "memory.max", "67108864"},
				struct{ ctrl, file, want string }{"cpu", "cpu.weight", "59"},
				struct{ ctrl, file, want string }{"cpu", "cpu.max", "50000 100000"})
		} else {
			checks = append(checks,
				struct{ ctrl, file, want string }{"memory", "memory.limit_in_bytes", "67108864"},
				struct{ ctrl, file, want string }{"cpu", "cpu.shares", "512"},
				struct{ ctrl, file, want string }{"cpu", "cpu.cfs_quota_us", "50000"},
				struct{ ctrl, file, want string }{"cpu", "cpu.cfs_period_us", "100000"})
		}
		for _, c := range checks {
			if got := readBack(t, m, c.ctrl, c.file); got != c.want {
				t.Errorf("%s = %q, want %q", c.file, got, c.want)
			}
		}
		unlimited := int64(-1)
		if err := m.Set(&configs.Resources{PidsLimit: &unlimited}); err != nil {
			t.Fatal(err)
		}
		if got := readBack(t, m, "pids", "pids.max"); got != "max" {
			t.Errorf("pids.max = %q after -1, want max", got)
		}
	})

	t.Run("set error names the file", func(t *testing.T) {
		err := m.Set(&configs.Resources{CpusetCpus: "4096"})
		want := "write " + filepath.Join(m.Path("cpuset"), "cpuset.cpus") + ": "
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	})

	t.Run("cpuset", func(t *testing.T) {
		if IsCgroup2UnifiedMode() {
			if err := m.Set(&configs.Resources{CpusetCpus: "0"}); err != nil {
				t.Fatal(err)
			}
			if got := readBack(t, m, "cpuset", "cpuset.cpus"); got != "0" {
				t.Errorf("cpuset.cpus = %q, want 0", got)
			}
			return
		}
		parent, err := readFile(filepath.Dir(m.Path("cpuset")), "cpuset.cpus")
		if err != nil {
			t.Fatal(err)
		}
		if got := readBack(t, m, "cpuset", "cpuset.cpus"); got != parent || got == "" {
			t.Errorf("cpuset.cpus = %q, want the parent's %q", got, parent)
		}
	})

	t.Run("devices", func(t *testing.T) {
		if IsCgroup2UnifiedMode() {
			t.Skip("v2 device rules need eBPF: not implemented yet")
		}
		rules := []*configs.DeviceRule{
			{Type: 'a', Major: -1, Minor: -1, Permissions: "rwm"},
			{Type: 'c', Major: 1, Minor: 3, Permissions: "rwm", Allow: true},
			{Type: 'c', Major: 1, Minor: 5, Permissions: "rw", Allow: true},
		}
		if err := m.Set(&configs.Resources{Devices: rules}); err != nil {
			t.Fatal(err)
		}
		if got, want := readBack(t, m, "devices", "devices.list"), "c 1:3 rwm\nc 1:5 rw"; got != want {
			t.Errorf("devices.list = %q, want %q", got, want)
		}
		// An update that drops 1:5 and adds 1:9.
		rules[2] = &configs.DeviceRule{Type: 'c', Major: 1, Minor: 9, Permissions: "r", Allow: true}
		if err := m.Set(&configs.Resources{Devices: rules}); err != nil {
			t.Fatal(err)
		}
		if got, want := readBack(t, m, "devices", "devices.list"), "c 1:3 rwm\nc 1:9 r"; got != want {
			t.Errorf("devices.list = %q, want %q", got, want)
		}
	})

	t.Run("freeze", func(t *testing.T) {
		if err := m.Freeze(Frozen); err != nil {
			t.Fatal(err)
		}
		if s, err := m.GetFreezerState(); err != nil || s != Frozen {
			t.Errorf("state = %q, %v; want FROZEN", s, err)
		}
		if IsCgroup2UnifiedMode() {
			if v := readBack(t, m, "", "cgroup.events"); eventValue(v, "frozen") != "1" {
				t.Errorf("cgroup.events: %q, want frozen 1", v)
			}
		} else if v := readBack(t, m, "freezer", "freezer.state"); v != "FROZEN" {
			t.Errorf("freezer.state = %q, want FROZEN", v)
		}
		if err := m.Freeze(Thawed); err != nil {
			t.Fatal(err)
		}
		if s, err := m.GetFreezerState(); err != nil || s != Thawed {
			t.Errorf("state = %q, %v; want THAWED", s, err)
		}
	})

	t.Run("pids", func(t *testing.T) {
		// A second process in a child cgroup of the task directory.
		sub, err := New(&configs.Cgroup{Path: path + "/sub"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		child := startSleep(t, nil)
		if err := sub.Apply(child.Process.Pid); err != nil {
			t.Fatal(err)
		}
		got, err := m.GetPids()
		if err != nil || !slices.Equal(got, []int{pid}) {
			t.Errorf("GetPids = %v, %v; want [%d]", got, err, pid)
		}
		all, err := m.GetAllPids()
		slices.Sort(all)
		want := []int{pid, child.Process.Pid}
		slices.Sort(want)
		if err != nil || !slices.Equal(all, want) {
			t.Errorf("GetAllPids = %v, %v; want %v", all, err, want)
		}
		killAndWait(t, child)
	})

	t.Run("cgroup fd", func(t *testing.T) {
		fd, err := m.CgroupFD()
		if !IsCgroup2UnifiedMode() {
			if fd != -1 || !errors.Is(err, ErrNotV2) {
				t.Errorf("CgroupFD = %d, %v; want -1, ErrNotV2", fd, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(fd)
		c := startSleep(t, &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd})
		if got := procCgroups(t, c.Process.Pid)[""]; got != path {
			t.Errorf("CLONE_INTO_CGROUP child in %q, want %q", got, path)
		}
		killAndWait(t, c)
	})

	t.Run("destroy", func(t *testing.T) {
		killAndWait(t, cmd)
		if err := m.Destroy(); err != nil {
			t.Fatal(err)
		}
		for k, d := range m.GetPaths() {
			if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%q: %s still there (%v)", k, d, err)
			}
		}
		if m.Exists() {
			t.Error("Exists() = true after Destroy")
		}
		if err := m.Destroy(); err != nil {
			t.Errorf("second Destroy: %v", err)
		}
	})
}

func TestApplyCreateOnly(t *testing.T) {
	requireRoot(t)
	m, _ := newTestManager(t, "create-only")
	if err := m.Apply(-1); err != nil {
		t.Fatal(err)
	}
	pids, err := m.GetAllPids()
	if err != nil || len(pids) != 0 {
		t.Errorf("GetAllPids = %v, %v; want none", pids, err)
	}
}

func TestSetUnsupported(t *testing.T) {
	requireRoot(t)
	m, _ := newTestManager(t, "unsupported")
	if err := m.Apply(-1); err != nil {
		t.Fatal(err)
	}
	r := &configs.Resources{Rdma: map[string]configs.RdmaEntry{"mlx": {}}}
	if IsCgroup2UnifiedMode() {
		// v2 has rdma.max; realtime CPU bandwidth is v1 only.
		r = &configs.Resources{CPURtRuntime: 1000}
	}
	err := m.Set(r)
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("err = %v, want ErrUnsupported", err)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
