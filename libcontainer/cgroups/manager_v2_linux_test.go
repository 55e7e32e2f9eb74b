package cgroups

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// These tests drive the cgroup v2 manager on a real cgroup2 hierarchy: the
// whole of it on a pure v2 host (the VM of `make integration-v2`), and the
// core files alone on a hybrid host, where /sys/fs/cgroup/unified has no
// controller enabled and the root cgroup is not the tests' to change.

// v2TestManager returns a v2 manager for testParent/<name>-<random> and
// removes the cgroup at the end. It skips the test unless each controller
// of ctrls can be used: on a hybrid host, only the controllers that the
// root cgroup already enables for its children.
func v2TestManager(t *testing.T, name string, ctrls ...string) *v2Manager {
	t.Helper()
	requireRoot(t)
	root := cgroupRoot
	switch {
	case IsCgroup2UnifiedMode():
	case IsCgroup2HybridMode():
		// The manager's root is the test parent: enabling controllers
		// then writes no cgroup.subtree_control above it, and the
		// controllers are those that the root cgroup already gives
		// its children.
		root = filepath.Join(hybridUnified, testParent)
		if _, err := mkdirAll(root); err != nil {
			t.Fatal(err)
		}
	default:
		t.Skip("no cgroup2 hierarchy on this host")
	}
	avail, err := readFile(root, "cgroup.controllers")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ctrls {
		if missing([]string{c}, avail) != nil {
			if IsCgroup2UnifiedMode() {
				t.Skipf("the cgroup v2 %s controller is not available here (have %q)", c, avail)
			}
			t.Skipf("the %s controller is not enabled for the children of %s, the root cgroup of this hybrid host, which these tests do not change; the v2 VM runs this test", c, hybridUnified)
		}
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	m := &v2Manager{root: root, dir: filepath.Join(root, name+"-"+hex.EncodeToString(b))}
	if IsCgroup2UnifiedMode() {
		m.dir = filepath.Join(root, testParent, name+"-"+hex.EncodeToString(b))
	}
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		_ = syscall.Rmdir(filepath.Dir(m.dir)) // fails while another test uses it
	})
	if err := m.Apply(-1); err != nil {
		t.Fatal(err)
	}
	return m
}

// v2Command returns cmd set to start in m's cgroup with CLONE_INTO_CGROUP.
func v2Command(t *testing.T, m *v2Manager, name string, args ...string) *exec.Cmd {
	t.Helper()
	fd, err := m.CgroupFD()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	return cmd
}

func v2WantFile(t *testing.T, m *v2Manager, file, want string) {
	t.Helper()
	got, err := readFile(m.dir, file)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("%s = %q, want %q", file, got, want)
	}
}

func v2Exists(dir, file string) bool { return unix.Access(filepath.Join(dir, file), unix.F_OK) == nil }

// v2WantFieldError checks that err names the resource field, in OCI spelling
// after "linux.resources.".
func v2WantFieldError(t *testing.T, err error, field string) {
	t.Helper()
	var ferr *configs.FieldError
	if !errors.As(err, &ferr) || ferr.Field != "linux.resources."+field {
		t.Errorf("err = %v, want a *configs.FieldError for linux.resources.%s", err, field)
	}
}

func TestV2SetMemory(t *testing.T) {
	m := v2TestManager(t, "v2-memory", "memory")
	if err := m.Set(&configs.Resources{Memory: 64 << 20, MemoryReservation: 32 << 20, MemorySwap: 96 << 20}); err != nil {
		t.Fatal(err)
	}
	v2WantFile(t, m, "memory.max", "67108864")
	v2WantFile(t, m, "memory.low", "33554432")
	if v2Exists(m.dir, "memory.swap.max") {
		v2WantFile(t, m, "memory.swap.max", "33554432") // memory+swap minus memory
	}
	// Swappiness and disableOOMKiller have no v2 file: ignored, as runc.
	if err := m.Set(&configs.Resources{Memory: -1, MemorySwappiness: v2Ptr[uint64](10), OomKillDisable: true}); err != nil {
		t.Fatal(err)
	}
	v2WantFile(t, m, "memory.max", "max")
	if v2Exists(m.dir, "memory.swap.max") {
		v2WantFile(t, m, "memory.swap.max", "max")
	}
	err := m.Set(&configs.Resources{Memory: 10 << 20, MemorySwap: 5 << 20})
	v2WantFieldError(t, err, "memory.swap")
	v2WantFile(t, m, "memory.max", "max")
}

// TestV2CheckBeforeUpdate checks that a limit at or below the usage is
// refused with memory.checkBeforeUpdate, and nothing of the Set written.
func TestV2CheckBeforeUpdate(t *testing.T) {
	m := v2TestManager(t, "v2-check", "memory", "pids")
	cmd := v2Command(t, m, "sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	usage, err := uintFileV2(m.dir, "memory.current")
	if err != nil || usage == 0 {
		t.Fatalf("memory.current = %d, %v; want a usage", usage, err)
	}
	err = m.Set(&configs.Resources{PidsLimit: v2Ptr[int64](5), Memory: int64(usage / 2), MemoryCheckBeforeUpdate: true})
	v2WantFieldError(t, err, "memory.limit")
	if err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("err = %v, want it to name the usage", err)
	}
	v2WantFile(t, m, "memory.max", "max")
	v2WantFile(t, m, "pids.max", "max")
	if err := m.Set(&configs.Resources{Memory: int64(usage) + 64<<20, MemoryCheckBeforeUpdate: true}); err != nil {
		t.Fatal(err)
	}
}

// TestV2OOM runs a process above the memory limit: the kernel kills it,
// NotifyOOM reports it and the stats count it.
func TestV2OOM(t *testing.T) {
	m := v2TestManager(t, "v2-oom", "memory")
	// No swap, or the kernel swaps instead of killing.
	if err := m.Set(&configs.Resources{Memory: 16 << 20, MemorySwap: 16 << 20}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	oom, err := m.NotifyOOM(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// dd's buffer is bs bytes, written by each read: 64 MiB in a 16 MiB
	// cgroup.
	cmd := v2Command(t, m, "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("dd: %v, want it killed by SIGKILL", err)
	}
	select {
	case _, ok := <-oom:
		if !ok {
			t.Fatal("the OOM channel closed instead of reporting the kill")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no OOM event")
	}
	if kills, err := keyedFileV2(m.dir, "memory.events", "oom_kill"); err != nil || kills == 0 {
		t.Errorf("memory.events oom_kill = %d, %v", kills, err)
	}
	st, err := m.GetStats()
	if err != nil {
		t.Fatal(err)
	}
	if st.MemoryStats.Usage.Limit != 16<<20 || st.MemoryStats.Usage.Failcnt == 0 {
		t.Errorf("memory stats %+v: want the limit and a failcnt", st.MemoryStats.Usage)
	}
	if v2Exists(m.dir, "memory.peak") && st.MemoryStats.Usage.MaxUsage < 8<<20 {
		t.Errorf("memory peak %d, want it near the limit", st.MemoryStats.Usage.MaxUsage)
	}
	// The channel closes when the cgroup goes.
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-oom:
		if ok {
			t.Fatal("a second OOM event instead of the close")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the OOM channel stayed open after the cgroup's removal")
	}
}

func TestV2NotifyOOMCancel(t *testing.T) {
	m := v2TestManager(t, "v2-oom-cancel", "memory")
	ctx, cancel := context.WithCancel(context.Background())
	oom, err := m.NotifyOOM(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-oom:
		if ok {
			t.Fatal("an OOM event after the cancel")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the OOM channel stayed open after the cancel")
	}
	if _, err := m.NotifyMemoryPressure(context.Background(), LowPressure); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("NotifyMemoryPressure: %v, want ErrUnsupported", err)
	}
}

// TestV2Pids checks pids.max and its effect: a fork beyond the limit fails.
func TestV2Pids(t *testing.T) {
	m := v2TestManager(t, "v2-pids", "pids")
	if err := m.Set(&configs.Resources{PidsLimit: v2Ptr[int64](0)}); err != nil {
		t.Fatal(err)
	}
	v2WantFile(t, m, "pids.max", "1") // 0 is written as 1, as on v1
	if err := m.Set(&configs.Resources{PidsLimit: v2Ptr[int64](1)}); err != nil {
		t.Fatal(err)
	}
	v2WantFile(t, m, "pids.max", "1")
	// The shell is the one task allowed: its fork for sleep (not its
	// last command, which it would exec) fails.
	out, err := v2Command(t, m, "sh", "-c", "sleep 0 || exit 9; echo forked").CombinedOutput()
	if err == nil || bytes.Contains(out, []byte("forked")) {
		t.Errorf("fork beyond pids.max 1: %v, output %q; want a failure", err, out)
	}
	if n, err := keyedFileV2(m.dir, "pids.events", "max"); err != nil || n == 0 {
		t.Errorf("pids.events max = %d, %v; want the refused fork counted", n, err)
	}
	if err := m.Set(&configs.Resources{PidsLimit: v2Ptr[int64](-1)}); err != nil {
		t.Fatal(err)
	}
	v2WantFile(t, m, "pids.max", "max")
	if out, err := v2Command(t, m, "sh", "-c", "sleep 0 || exit 9; echo forked").CombinedOutput(); err != nil || !bytes.Contains(out, []byte("forked")) {
		t.Errorf("fork without a limit: %v, output %q", err, out)
	}
	err = m.Set(&configs.Resources{PidsLimit: v2Ptr[int64](-2)})
	v2WantFieldError(t, err, "pids.limit")
}

func TestV2SetCPU(t *testing.T) {
	m := v2TestManager(t, "v2-cpu", "cpu")
	if err := m.Set(&configs.Resources{CPUShares: 512, CPUQuota: 50000, CPUPeriod: 100000}); err != nil {
		t.Fatal(err)
	}
	v2WantFile(t, m, "cpu.weight", "59")
	v2WantFile(t, m, "cpu.max", "50000 100000")
	// A period alone keeps the quota, as v1's cpu.cfs_period_us does.
	if err := m.Set(&configs.Resources{CPUPeriod: 200000}); err != nil {
		t.Fatal(err)
	}
	v2WantFile(t, m, "cpu.max", "50000 200000")
	if v2Exists(m.dir, "cpu.max.burst") {
		if err := m.Set(&configs.Resources{CPUBurst: v2Ptr[uint64](20000)}); err != nil {
			t.Fatal(err)
		}
		v2WantFile(t, m, "cpu.max.burst", "20000")
		// A burst above the current quota: the kernel takes it only
		// after the new quota, which Set writes after the burst.
		if err := m.Set(&configs.Resources{CPUQuota: 150000, CPUBurst: v2Ptr[uint64](100000)}); err != nil {
			t.Fatal(err)
		}
		v2WantFile(t, m, "cpu.max", "150000 200000")
		v2WantFile(t, m, "cpu.max.burst", "100000")
	}
	err := m.Set(&configs.Resources{CPUShares: 1024, CPURtRuntime: 1000})
	v2WantFieldError(t, err, "cpu.realtimeRuntime")
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("realtime: %v, want ErrUnsupported", err)
	}
	v2WantFile(t, m, "cpu.weight", "59")
	// Leaving the idle state resets the weight to 100 (kernel/sched/fair.c,
	// sched_group_set_idle): Set writes cpu.idle before cpu.weight.
	if v2Exists(m.dir, "cpu.idle") {
		if err := m.Set(&configs.Resources{CPUIdle: v2Ptr[int64](1)}); err != nil {
			t.Fatal(err)
		}
		v2WantFile(t, m, "cpu.idle", "1")
		if err := m.Set(&configs.Resources{CPUIdle: v2Ptr[int64](0), CPUShares: 512}); err != nil {
			t.Fatal(err)
		}
		v2WantFile(t, m, "cpu.idle", "0")
		v2WantFile(t, m, "cpu.weight", "59")
	}
	if err := m.Set(&configs.Resources{CPUQuota: -1}); err != nil {
		t.Fatal(err)
	}
	v2WantFile(t, m, "cpu.max", "max 200000")
}

// TestV2Rollback checks that when the kernel refuses one write of a Set,
// the writes before it are undone.
func TestV2Rollback(t *testing.T) {
	m := v2TestManager(t, "v2-rollback", "pids", "cpuset", "memory")
	if err := m.Set(&configs.Resources{PidsLimit: v2Ptr[int64](50), Memory: 32 << 20, CpusetCpus: "0"}); err != nil {
		t.Fatal(err)
	}
	// pids and memory come before cpuset; CPU 4096 does not exist.
	err := m.Set(&configs.Resources{PidsLimit: v2Ptr[int64](7), Memory: 64 << 20, CpusetCpus: "4096"})
	v2WantFieldError(t, err, "cpu.cpus")
	if want := "write " + filepath.Join(m.dir, "cpuset.cpus") + ": "; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want it to contain %q", err, want)
	}
	v2WantFile(t, m, "pids.max", "50")
	v2WantFile(t, m, "memory.max", "33554432")
	v2WantFile(t, m, "cpuset.cpus", "0")
	if err := m.Set(&configs.Resources{CpusetMems: "0"}); err != nil {
		t.Fatal(err)
	}
	v2WantFile(t, m, "cpuset.mems", "0")
	if got, err := readFile(m.dir, "cpuset.cpus.effective"); err != nil || got != "0" {
		t.Errorf("cpuset.cpus.effective = %q, %v; want 0", got, err)
	}
}

// v2LoopDevice attaches a loop device to a small file and returns its
// numbers and path; it is detached at the end of the test.
func v2LoopDevice(t *testing.T) (major, minor uint32, path string) {
	t.Helper()
	ctl, err := unix.Open("/dev/loop-control", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no loop devices: %v", err)
	}
	defer unix.Close(ctl)
	n, err := unix.IoctlRetInt(ctl, unix.LOOP_CTL_GET_FREE)
	if err != nil {
		t.Skipf("no free loop device: %v", err)
	}
	backing := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(backing, bytes.Repeat([]byte{0xa5}, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	bf, err := os.Open(backing)
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	path = "/dev/loop" + strconv.Itoa(n)
	lf, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Skipf("loop device: %v", err)
	}
	if err := unix.IoctlSetInt(int(lf.Fd()), unix.LOOP_SET_FD, int(bf.Fd())); err != nil {
		lf.Close()
		t.Skipf("attach %s: %v", path, err)
	}
	t.Cleanup(func() {
		_ = unix.IoctlSetInt(int(lf.Fd()), unix.LOOP_CLR_FD, 0)
		lf.Close()
	})
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return unix.Major(st.Rdev), unix.Minor(st.Rdev), path
}

// TestV2IO checks the block I/O weight (BFQ or io.weight), the throttles
// in io.max and the io.stat counters of a read.
func TestV2IO(t *testing.T) {
	m := v2TestManager(t, "v2-io", "io")
	major, minor, path := v2LoopDevice(t)
	dev := strconv.FormatUint(uint64(major), 10) + ":" + strconv.FormatUint(uint64(minor), 10)
	if err := m.Set(&configs.Resources{BlkioWeight: 100}); err != nil {
		t.Fatal(err)
	}
	if v2Exists(m.dir, "io.bfq.weight") {
		if got, _ := readFile(m.dir, "io.bfq.weight"); !strings.HasPrefix(got, "default 100") && got != "100" {
			t.Errorf("io.bfq.weight = %q, want the weight 100", got)
		}
	} else {
		v2WantFile(t, m, "io.weight", "default 910") // runc's conversion of 100
	}
	ioMax := func() string {
		s, err := readFile(m.dir, "io.max")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tr := func(rate uint64) []*configs.ThrottleDevice {
		return []*configs.ThrottleDevice{{Major: int64(major), Minor: int64(minor), Rate: rate}}
	}
	if err := m.Set(&configs.Resources{BlkioThrottleReadBpsDevice: tr(1 << 20), BlkioThrottleWriteIOPSDevice: tr(100)}); err != nil {
		t.Fatal(err)
	}
	if got, want := ioMax(), dev+" rbps=1048576 wbps=max riops=max wiops=100"; got != want {
		t.Errorf("io.max = %q, want %q", got, want)
	}
	// 0 removes a throttle, as on v1.
	if err := m.Set(&configs.Resources{BlkioThrottleWriteIOPSDevice: tr(0)}); err != nil {
		t.Fatal(err)
	}
	if got, want := ioMax(), dev+" rbps=1048576 wbps=max riops=max wiops=max"; got != want {
		t.Errorf("io.max = %q, want %q", got, want)
	}
	// A throttle on a device that does not exist fails and leaves the
	// first line of the Set undone.
	err := m.Set(&configs.Resources{
		BlkioThrottleReadBpsDevice:  tr(2 << 20),
		BlkioThrottleWriteBpsDevice: []*configs.ThrottleDevice{{Major: 4095, Minor: 4095, Rate: 4096}},
	})
	v2WantFieldError(t, err, "blockIO.throttleWriteBpsDevice[0]")
	if got, want := ioMax(), dev+" rbps=1048576 wbps=max riops=max wiops=max"; got != want {
		t.Errorf("io.max after a failed Set = %q, want %q", got, want)
	}
	// A read in the cgroup shows in io.stat and in the stats.
	out, err := v2Command(t, m, "dd", "if="+path, "of=/dev/null", "bs=4096", "count=64").CombinedOutput()
	if err != nil {
		t.Fatalf("dd: %v: %s", err, out)
	}
	st, err := m.GetStats()
	if err != nil {
		t.Fatal(err)
	}
	var read uint64
	for _, e := range st.BlkioStats.IoServiceBytesRecursive {
		if e.Major == uint64(major) && e.Minor == uint64(minor) && e.Op == "Read" {
			read = e.Value
		}
	}
	if read == 0 {
		t.Errorf("no read bytes for %s in %+v", dev, st.BlkioStats)
	}
}

func TestV2Hugetlb(t *testing.T) {
	m := v2TestManager(t, "v2-hugetlb", "hugetlb")
	if !v2Exists(m.dir, "hugetlb.2MB.max") {
		t.Skip("no 2MB huge pages on this host")
	}
	if err := m.Set(&configs.Resources{HugetlbLimit: []*configs.HugepageLimit{{Pagesize: "2MB", Limit: 8 << 20}}}); err != nil {
		t.Fatal(err)
	}
	v2WantFile(t, m, "hugetlb.2MB.max", "8388608")
	if v2Exists(m.dir, "hugetlb.2MB.rsvd.max") {
		v2WantFile(t, m, "hugetlb.2MB.rsvd.max", "8388608")
	}
	err := m.Set(&configs.Resources{HugetlbLimit: []*configs.HugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}, {Pagesize: "3MB", Limit: 1}}})
	v2WantFieldError(t, err, "hugepageLimits[1]")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want ErrNotExist", err)
	}
	v2WantFile(t, m, "hugetlb.2MB.max", "8388608")
	st, err := m.GetStats()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.HugetlbStats["2MB"]; !ok {
		t.Errorf("hugetlb stats %v: no 2MB", st.HugetlbStats)
	}
}

// TestV2Unified checks raw writes: after the other fields, checked before
// anything is written.
func TestV2Unified(t *testing.T) {
	m := v2TestManager(t, "v2-unified")
	if err := m.Set(&configs.Resources{Unified: map[string]string{"cgroup.max.depth": "3", "cgroup.max.descendants": "10"}}); err != nil {
		t.Fatal(err)
	}
	v2WantFile(t, m, "cgroup.max.depth", "3")
	v2WantFile(t, m, "cgroup.max.descendants", "10")
	for _, tt := range []struct {
		key         string
		unsupported bool
	}{
		{"nosuch.thing", true}, // no such controller
		{"cgroup.nosuch", false},
		{"../cgroup.max.depth", false},
	} {
		// cgroup.max.depth sorts first: it must not be written either.
		err := m.Set(&configs.Resources{Unified: map[string]string{"cgroup.max.depth": "5", tt.key: "1"}})
		v2WantFieldError(t, err, "unified["+strconv.Quote(tt.key)+"]")
		if errors.Is(err, errors.ErrUnsupported) != tt.unsupported {
			t.Errorf("%s: %v: ErrUnsupported %v, want %v", tt.key, err, !tt.unsupported, tt.unsupported)
		}
		v2WantFile(t, m, "cgroup.max.depth", "3")
	}
	avail, _ := readFile(m.root, "cgroup.controllers")
	if missing([]string{"pids"}, avail) != nil {
		return
	}
	// The unified map wins over the field, as in runc.
	if err := m.Set(&configs.Resources{PidsLimit: v2Ptr[int64](5), Unified: map[string]string{"pids.max": "9"}}); err != nil {
		t.Fatal(err)
	}
	v2WantFile(t, m, "pids.max", "9")
}

// TestV2Stats reads the counters of a cgroup with a process that used some
// CPU. On a hybrid host only the core files are there: cpu.stat, the
// pressure files and cgroup.procs.
func TestV2Stats(t *testing.T) {
	m := v2TestManager(t, "v2-stats")
	out, err := v2Command(t, m, "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo done").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	sleeper := v2Command(t, m, "sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	st, err := m.GetStats()
	if err != nil {
		t.Fatal(err)
	}
	if st.CPUStats.CPUUsage.TotalUsage == 0 || st.CPUStats.CPUUsage.TotalUsage < st.CPUStats.CPUUsage.UsageInUsermode {
		t.Errorf("cpu usage %+v", st.CPUStats.CPUUsage)
	}
	if st.PidsStats.Current != 1 {
		t.Errorf("pids current %d, want 1", st.PidsStats.Current)
	}
	if v2Exists(m.dir, "cpu.pressure") && (st.CPUStats.PSI == nil || st.MemoryStats.PSI == nil || st.BlkioStats.PSI == nil) {
		t.Errorf("pressure: cpu %v memory %v io %v, want all three", st.CPUStats.PSI, st.MemoryStats.PSI, st.BlkioStats.PSI)
	}
	if v2Exists(m.dir, "memory.current") {
		if st.MemoryStats.Usage.Usage == 0 || len(st.MemoryStats.Stats) == 0 || !st.MemoryStats.UseHierarchy {
			t.Errorf("memory stats %+v", st.MemoryStats)
		}
		if st.MemoryStats.Usage.Limit != 1<<64-1 {
			t.Errorf("memory limit %d, want max", st.MemoryStats.Usage.Limit)
		}
	}
	if v2Exists(m.dir, "cpuset.cpus.effective") && len(st.CPUSetStats.CPUs) == 0 {
		t.Errorf("cpuset stats %+v, want the effective CPUs", st.CPUSetStats)
	}
}

// TestDeviceRulesHole checks, on the host's manager (v1 or v2), that a rule
// list cutting a hole in a wildcard is refused and changes nothing.
func TestDeviceRulesHole(t *testing.T) {
	requireRoot(t)
	m, _ := newTestManager(t, "dev-hole")
	if err := m.Apply(-1); err != nil {
		t.Fatal(err)
	}
	rules := []*configs.DeviceRule{
		{Type: 'a', Major: -1, Minor: -1, Permissions: "rwm"},
		{Type: 'c', Major: 1, Minor: 3, Permissions: "rwm", Allow: true},
	}
	if err := m.Set(&configs.Resources{Devices: rules}); err != nil {
		t.Fatal(err)
	}
	var before string
	if dir := m.Path("devices"); !IsCgroup2UnifiedMode() && dir != "" {
		before = readBack(t, m, "devices", "devices.list")
	}
	hole := []*configs.DeviceRule{
		{Type: 'a', Major: -1, Minor: -1, Permissions: "rwm"},
		{Type: 'c', Major: -1, Minor: -1, Permissions: "rwm", Allow: true},
		{Type: 'c', Major: 1, Minor: 3, Permissions: "rwm"},
	}
	err := m.Set(&configs.Resources{Devices: hole})
	var ferr *configs.FieldError
	if !errors.As(err, &ferr) || ferr.Field != "linux.resources.devices[2]" || !errors.Is(err, errDeviceHole) {
		t.Fatalf("err = %v, want a hole error for linux.resources.devices[2]", err)
	}
	if before != "" {
		if got := readBack(t, m, "devices", "devices.list"); got != before {
			t.Errorf("devices.list %q after a refused Set, want %q", got, before)
		}
	}
}

// TestV2SubCgroupOfPopulated checks that no controller is enabled in an
// ancestor with processes of its own: the kernel would take the threaded
// ones and leave the new cgroup unable to take a process.
func TestV2SubCgroupOfPopulated(t *testing.T) {
	m := v2TestManager(t, "v2-populated", "pids")
	sleeper := v2Command(t, m, "sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	sub := &v2Manager{root: m.root, dir: filepath.Join(m.dir, "sub")}
	child := v2Command(t, sub, "sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatalf("start in a cgroup below a populated one: %v", err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	v2WantFile(t, m, "cgroup.subtree_control", "")
	err := sub.Set(&configs.Resources{PidsLimit: v2Ptr[int64](5)})
	if !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), "processes of its own") {
		t.Errorf("err = %v, want EBUSY for the populated parent", err)
	}
	v2WantFile(t, m, "cgroup.subtree_control", "")
}

// TestV2Rdma checks the rdma.max line of a device. Without RDMA hardware
// the kernel refuses every device name (ENODEV): the error names the
// device's resource, and the Set's earlier writes are undone.
func TestV2Rdma(t *testing.T) {
	m := v2TestManager(t, "v2-rdma", "rdma", "pids")
	if err := m.Set(&configs.Resources{PidsLimit: v2Ptr[int64](20)}); err != nil {
		t.Fatal(err)
	}
	err := m.Set(&configs.Resources{
		PidsLimit: v2Ptr[int64](30),
		Rdma:      map[string]configs.RdmaEntry{"berth_nodev": {HcaHandles: v2Ptr[uint32](2), HcaObjects: v2Ptr[uint32](100)}},
	})
	if err == nil {
		v2WantFile(t, m, "rdma.max", "berth_nodev hca_handle=2 hca_object=100")
		return
	}
	v2WantFieldError(t, err, "rdma.berth_nodev")
	if !errors.Is(err, unix.ENODEV) {
		t.Errorf("err = %v, want ENODEV", err)
	}
	v2WantFile(t, m, "pids.max", "20")
	st, err := m.GetStats()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.RdmaStats.RdmaLimit) != 0 || len(st.RdmaStats.RdmaCurrent) != 0 {
		t.Errorf("rdma stats %+v, want none without devices", st.RdmaStats)
	}
}
