package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// newV1Test returns the v1 manager of a fresh test cgroup (created, with no
// task), removed at the end of the test.
func newV1Test(t *testing.T, name string) *v1Manager {
	t.Helper()
	requireRoot(t)
	if IsCgroup2UnifiedMode() {
		t.Skip("cgroup v1 test: this host is pure cgroup v2")
	}
	m, _ := newTestManager(t, name)
	if err := m.Apply(-1); err != nil {
		t.Fatal(err)
	}
	return m.(*v1Manager)
}

// gatedProcess is `sh -c SCRIPT` held at a read of its stdin until release:
// the test moves it into a cgroup before SCRIPT runs.
type gatedProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // stdout and stderr, a line at a time, closed at EOF
}

func startGated(t *testing.T, script string) *gatedProcess {
	t.Helper()
	g := &gatedProcess{cmd: exec.Command("sh", "-c", "read _ || exit 3; "+script), lines: make(chan string, 64)}
	var err error
	if g.stdin, err = g.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	g.cmd.Stdout, g.cmd.Stderr = w, w
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() {
		defer close(g.lines)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			g.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = g.cmd.Process.Kill()
		_ = g.cmd.Wait()
	})
	return g
}

func (g *gatedProcess) pid() int { return g.cmd.Process.Pid }

func (g *gatedProcess) release(t *testing.T) {
	t.Helper()
	if _, err := g.stdin.Write([]byte("\n")); err != nil {
		t.Fatal(err)
	}
}

// waitLine waits for a line of output equal to want. The bound only keeps
// a broken test from hanging.
func (g *gatedProcess) waitLine(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-g.lines:
			if !ok {
				t.Fatalf("process ended without printing %q", want)
			}
			if l == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %q from the process after 30s", want)
		}
	}
}

// wait waits for the process to end and returns its output.
func (g *gatedProcess) wait() (string, error) {
	var out []string
	for l := range g.lines {
		out = append(out, l)
	}
	err := g.cmd.Wait()
	return strings.Join(out, "\n"), err
}

func wantFile(t *testing.T, dir, file, want string) {
	t.Helper()
	got, err := readFile(dir, file)
	if err != nil {
		t.Error(err)
		return
	}
	if strings.TrimSpace(got) != want {
		t.Errorf("%s = %q, want %q", file, got, want)
	}
}

func ptr[T any](v T) *T { return &v }

func TestV1SetMemory(t *testing.T) {
	m := newV1Test(t, "memory")
	if err := m.Apply(startSleep(t, nil).Process.Pid); err != nil {
		t.Fatal(err)
	}
	dir := m.Path("memory")
	const unlimited = "9223372036854771712" // PAGE_COUNTER_MAX pages, in bytes
	memsw := hasFile(dir, "memory.memsw.limit_in_bytes")
	for _, step := range []struct {
		name string
		r    configs.Resources
		want map[string]string
	}{
		{"limits", configs.Resources{
			Memory: 64 << 20, MemoryReservation: 32 << 20, MemorySwap: 128 << 20,
			MemorySwappiness: ptr[uint64](10), OomKillDisable: true,
		}, map[string]string{
			"memory.limit_in_bytes": "67108864", "memory.soft_limit_in_bytes": "33554432",
			"memory.memsw.limit_in_bytes": "134217728", "memory.swappiness": "10",
		}},
		// memory+swap must grow first: 256M is above the 128M in force.
		{"raise both", configs.Resources{Memory: 256 << 20, MemorySwap: 512 << 20}, map[string]string{
			"memory.limit_in_bytes": "268435456", "memory.memsw.limit_in_bytes": "536870912",
		}},
		// memory must shrink first: 48M is below the 256M in force.
		{"lower both", configs.Resources{Memory: 32 << 20, MemorySwap: 48 << 20}, map[string]string{
			"memory.limit_in_bytes": "33554432", "memory.memsw.limit_in_bytes": "50331648",
		}},
		{"memory alone", configs.Resources{Memory: 40 << 20}, map[string]string{
			"memory.limit_in_bytes": "41943040", "memory.memsw.limit_in_bytes": "50331648",
		}},
		{"unlimited", configs.Resources{Memory: -1}, map[string]string{
			"memory.limit_in_bytes": unlimited, "memory.memsw.limit_in_bytes": unlimited,
		}},
	} {
		t.Run(step.name, func(t *testing.T) {
			if !memsw && (step.r.MemorySwap != 0 || step.name == "unlimited") {
				t.Skip("swap is not accounted on this host")
			}
			if err := m.Set(&step.r); err != nil {
				t.Fatal(err)
			}
			for f, v := range step.want {
				wantFile(t, dir, f, v)
			}
		})
	}
	oom, err := readFile(dir, "memory.oom_control")
	if err != nil || eventValue(oom, "oom_kill_disable") != "1" {
		t.Errorf("memory.oom_control = %q, %v; want oom_kill_disable 1", oom, err)
	}
}

func TestV1SetCPU(t *testing.T) {
	m := newV1Test(t, "cpu")
	dir := m.Path("cpu")
	for _, step := range []struct {
		name string
		r    configs.Resources
		want map[string]string
	}{
		{"bandwidth", configs.Resources{CPUShares: 512, CPUQuota: 50000, CPUPeriod: 100000, CPUBurst: ptr[uint64](10000)}, map[string]string{
			"cpu.shares": "512", "cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000", "cpu.cfs_burst_us": "10000",
		}},
		// The kernel refuses the burst against the old quota (50000):
		// it is written again after the quota.
		{"burst above the old quota", configs.Resources{CPUQuota: 200000, CPUBurst: ptr[uint64](150000)}, map[string]string{
			"cpu.cfs_quota_us": "200000", "cpu.cfs_burst_us": "150000",
		}},
		{"no quota", configs.Resources{CPUQuota: -1, CPUBurst: ptr[uint64](0)}, map[string]string{
			"cpu.cfs_quota_us": "-1", "cpu.cfs_burst_us": "0",
		}},
		{"idle", configs.Resources{CPUIdle: ptr[int64](1)}, map[string]string{"cpu.idle": "1"}},
		// The kernel refuses shares while idle: idle goes first.
		{"leave idle with shares", configs.Resources{CPUIdle: ptr[int64](0), CPUShares: 2048}, map[string]string{
			"cpu.idle": "0", "cpu.shares": "2048",
		}},
	} {
		t.Run(step.name, func(t *testing.T) {
			for f := range step.want {
				if !hasFile(dir, f) {
					t.Skipf("this kernel has no %s", f)
				}
			}
			if err := m.Set(&step.r); err != nil {
				t.Fatal(err)
			}
			for f, v := range step.want {
				wantFile(t, dir, f, v)
			}
		})
	}
}

func TestV1SetCpuset(t *testing.T) {
	m := newV1Test(t, "cpuset")
	dir := m.Path("cpuset")
	cpus, _ := parentCpuset(dir, "cpuset.cpus")
	list, err := parseCpusetList(cpus)
	if err != nil || len(list) == 0 {
		t.Fatalf("parent cpuset.cpus %q: %v", cpus, err)
	}
	mems, _ := parentCpuset(dir, "cpuset.mems")
	memList, err := parseCpusetList(mems)
	if err != nil || len(memList) == 0 {
		t.Fatalf("parent cpuset.mems %q: %v", mems, err)
	}
	last, node := strconv.Itoa(int(list[len(list)-1])), strconv.Itoa(int(memList[0]))
	if err := m.Set(&configs.Resources{CpusetCpus: last, CpusetMems: node}); err != nil {
		t.Fatal(err)
	}
	wantFile(t, dir, "cpuset.cpus", last)
	wantFile(t, dir, "cpuset.mems", node)
	// A process that joins runs on that CPU only.
	g := startGated(t, "grep Cpus_allowed_list /proc/self/status")
	if err := m.Apply(g.pid()); err != nil {
		t.Fatal(err)
	}
	g.release(t)
	out, err := g.wait()
	if err != nil || strings.Join(strings.Fields(out), " ") != "Cpus_allowed_list: "+last {
		t.Errorf("in the cgroup: %q, %v; want Cpus_allowed_list: %s", out, err, last)
	}
}

func TestV1SetPids(t *testing.T) {
	m := newV1Test(t, "pids")
	for _, tc := range []struct {
		limit int64
		file  string
		fork  bool
	}{
		{limit: 2, file: "2", fork: true},
		{limit: 1, file: "1", fork: false},
		{limit: 0, file: "1", fork: false}, // runc writes 1 for 0
		{limit: -1, file: "max", fork: true},
	} {
		t.Run(strconv.FormatInt(tc.limit, 10), func(t *testing.T) {
			g := startGated(t, "/bin/true && echo forked")
			if err := m.Apply(g.pid()); err != nil {
				t.Fatal(err)
			}
			if err := m.Set(&configs.Resources{PidsLimit: ptr(tc.limit)}); err != nil {
				t.Fatal(err)
			}
			wantFile(t, m.Path("pids"), "pids.max", tc.file)
			g.release(t)
			out, _ := g.wait()
			if forked := strings.Contains(out, "forked"); forked != tc.fork {
				t.Errorf("pids.max %s: forked %v (output %q), want %v", tc.file, forked, out, tc.fork)
			}
		})
	}
}

// loopDevice attaches a 16 MiB file to a free loop device, which the test
// may reconfigure (its I/O scheduler), and detaches it at the end.
func loopDevice(t *testing.T) (dev string, major, minor int64) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(f, make([]byte, 16<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", f).CombinedOutput()
	if err != nil {
		t.Skipf("losetup: %v: %s", err, out)
	}
	dev = strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v: %s", dev, err, out)
		}
	})
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		t.Fatal(err)
	}
	return dev, int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
}

func TestV1SetBlkio(t *testing.T) {
	m := newV1Test(t, "blkio")
	dir := m.Path("blkio")
	dev, major, minor := loopDevice(t)
	if hasFile(dir, "blkio.bfq.weight") && !hasFile(dir, "blkio.weight") {
		sched := filepath.Join("/sys/class/block", filepath.Base(dev), "queue/scheduler")
		was, err := os.ReadFile(sched)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(sched, []byte("bfq"), 0); err != nil {
			t.Skipf("set %s to bfq: %v", sched, err)
		}
		// Put back before the device is detached (cleanups run last first).
		if _, cur, ok := strings.Cut(string(was), "["); ok {
			cur, _, _ = strings.Cut(cur, "]")
			t.Cleanup(func() {
				if err := os.WriteFile(sched, []byte(cur), 0); err != nil {
					t.Errorf("restore the I/O scheduler: %v", err)
				}
			})
		}
	}
	r := configs.Resources{
		BlkioWeight:                  300,
		BlkioWeightDevice:            []*configs.WeightDevice{{Major: major, Minor: minor, Weight: 200}},
		BlkioThrottleReadBpsDevice:   []*configs.ThrottleDevice{{Major: major, Minor: minor, Rate: 1 << 30}},
		BlkioThrottleWriteBpsDevice:  []*configs.ThrottleDevice{{Major: major, Minor: minor, Rate: 1 << 29}},
		BlkioThrottleReadIOPSDevice:  []*configs.ThrottleDevice{{Major: major, Minor: minor, Rate: 10000}},
		BlkioThrottleWriteIOPSDevice: []*configs.ThrottleDevice{{Major: major, Minor: minor, Rate: 5000}},
	}
	if err := m.Set(&r); err != nil {
		t.Fatal(err)
	}
	p, err := m.checkV1(&r)
	if err != nil {
		t.Fatal(err)
	}
	devKey := fmt.Sprintf("%d:%d", major, minor)
	wantFile(t, dir, p.weightFile, "300")
	for file, want := range map[string]string{
		p.weightDeviceFile:                 devKey + " 200",
		"blkio.throttle.read_bps_device":   devKey + " 1073741824",
		"blkio.throttle.write_bps_device":  devKey + " 536870912",
		"blkio.throttle.read_iops_device":  devKey + " 10000",
		"blkio.throttle.write_iops_device": devKey + " 5000",
	} {
		got, err := readFile(dir, file)
		if err != nil || !strings.Contains(got, want) {
			t.Errorf("%s = %q, %v; want a line %q", file, got, err, want)
		}
	}

	t.Run("stats", func(t *testing.T) {
		g := startGated(t, "dd if="+dev+" of=/dev/null bs=4k count=64 iflag=direct 2>/dev/null && echo read")
		if err := m.Apply(g.pid()); err != nil {
			t.Fatal(err)
		}
		g.release(t)
		if out, err := g.wait(); err != nil || out != "read" {
			t.Fatalf("dd: %q, %v", out, err)
		}
		s, err := m.GetStats()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("blkio stats: %+v", s.BlkioStats)
		var read uint64
		for _, e := range s.BlkioStats.IoServiceBytesRecursive {
			if int64(e.Major) == major && int64(e.Minor) == minor && e.Op == "Read" {
				read = e.Value
			}
		}
		if read < 64*4096 {
			t.Errorf("io_service_bytes_recursive: %d bytes read from %s, want at least %d (%+v)", read, devKey, 64*4096, s.BlkioStats)
		}
		// With bfq the counters are bfq's, as in runc.
		if p.weightFile == "blkio.bfq.weight" {
			bfq, err := readParsed(dir, "blkio.bfq.io_service_bytes_recursive", parseBlkioStat)
			if err != nil || len(bfq) == 0 || !reflect.DeepEqual(bfq, s.BlkioStats.IoServiceBytesRecursive) {
				t.Errorf("blkio.bfq.io_service_bytes_recursive = %+v, %v; want it in the stats", bfq, err)
			}
		}
	})
}

// unifiedHugetlb prepares the hugetlb test on a hybrid host: the unified
// hierarchy's root gets hugetlb in its cgroup.subtree_control from Set, so
// the test takes it out again at the end if it was not there before.
func unifiedHugetlb(t *testing.T) {
	t.Helper()
	if !IsCgroup2HybridMode() {
		return
	}
	sub, err := readFile(hybridUnified, "cgroup.subtree_control")
	if err != nil || slices.Contains(strings.Fields(sub), "hugetlb") {
		return
	}
	// Registered before the test cgroup, so that it runs after the
	// cgroup and its emptied parent are gone.
	t.Cleanup(func() {
		if parent := filepath.Join(hybridUnified, testParent); hasFile(parent, "cgroup.subtree_control") {
			_ = writeFile(parent, "cgroup.subtree_control", "-hugetlb")
		}
		if err := writeFile(hybridUnified, "cgroup.subtree_control", "-hugetlb"); err != nil {
			t.Logf("restore %s/cgroup.subtree_control: %v", hybridUnified, err)
		}
	})
}

func TestV1SetHugetlb(t *testing.T) {
	requireRoot(t)
	sizes, err := hugetlbPageSizes()
	if err != nil || len(sizes) == 0 {
		t.Skipf("no huge page sizes on this host (%v)", err)
	}
	unifiedHugetlb(t)
	m := newV1Test(t, "hugetlb")
	r := configs.Resources{HugetlbLimit: []*configs.HugepageLimit{{Pagesize: sizes[0], Limit: 8 << 30}}}
	p, err := m.checkV1(&r)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("no hugetlb controller: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Set(&r); err != nil {
		t.Fatal(err)
	}
	limit, rsvd := ".limit_in_bytes", ".rsvd.limit_in_bytes"
	if p.hugetlbV2 {
		limit, rsvd = ".max", ".rsvd.max"
		if p.hugetlbDir != m.Path("") {
			t.Errorf("hugetlb limits go to %s, want the unified directory %s", p.hugetlbDir, m.Path(""))
		}
	}
	prefix := "hugetlb." + sizes[0]
	wantFile(t, p.hugetlbDir, prefix+limit, "8589934592")
	if hasFile(p.hugetlbDir, prefix+rsvd) {
		wantFile(t, p.hugetlbDir, prefix+rsvd, "8589934592")
	}
	s, err := m.GetStats()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.HugetlbStats[sizes[0]]; !ok {
		t.Errorf("stats have no hugetlb entry for %s: %v", sizes[0], s.HugetlbStats)
	}
}

func TestV1RealtimeBeforeJoin(t *testing.T) {
	// A new cgroup has no realtime runtime; the test parent gets some so
	// that its children may have theirs (runc's tests do the same). It is
	// taken back after the children are gone: this cleanup is registered
	// first, so it runs last.
	var parent, old string
	t.Cleanup(func() {
		if parent != "" {
			_ = writeFile(parent, "cpu.rt_runtime_us", old)
		}
	})
	m := newV1Test(t, "rt")
	bare := newV1Test(t, "rt-none")
	dir := m.Path("cpu")
	if !hasFile(dir, "cpu.rt_runtime_us") {
		t.Skip("no CONFIG_RT_GROUP_SCHED")
	}
	if _, err := exec.LookPath("chrt"); err != nil {
		t.Skip("no chrt")
	}
	p := filepath.Dir(dir)
	v, err := readFile(p, "cpu.rt_runtime_us")
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(p, "cpu.rt_runtime_us", "20000"); err != nil {
		t.Skipf("give %s realtime runtime: %v", p, err)
	}
	parent, old = p, v

	// Killed before the cleanups remove the cgroups.
	rr := exec.Command("chrt", "-r", "1", "sleep", "30")
	if err := rr.Start(); err != nil {
		t.Fatal(err)
	}
	defer killAndWait(t, rr)
	// chrt sets the policy, then execs sleep: wait for the exec, or the
	// task may join before it is SCHED_RR.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", rr.Process.Pid))
		if strings.TrimSpace(string(comm)) == "sleep" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("chrt did not exec sleep within 10 s")
		}
	}

	if err := bare.Apply(rr.Process.Pid); !errors.Is(err, unix.EINVAL) {
		t.Errorf("a SCHED_RR task joined a cgroup without realtime runtime: %v", err)
	}
	rt, err := New(&configs.Cgroup{Path: "/ignored", Resources: &configs.Resources{
		CPURtRuntime: 10000, CPURtPeriod: 1000000,
	}}, m.GetPaths())
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Apply(rr.Process.Pid); err != nil {
		t.Fatalf("apply with realtime limits: %v", err)
	}
	wantFile(t, dir, "cpu.rt_runtime_us", "10000")
	if got := procCgroups(t, rr.Process.Pid)["cpu"]; "/sys/fs/cgroup/cpu"+got != dir {
		t.Errorf("the SCHED_RR task is in cpu:%s, want %s", got, dir)
	}
	if err := rt.Set(&configs.Resources{CPURtRuntime: 5000, CPURtPeriod: 500000}); err != nil {
		t.Fatal(err)
	}
	wantFile(t, dir, "cpu.rt_runtime_us", "5000")
	wantFile(t, dir, "cpu.rt_period_us", "500000")
	err = rt.Set(&configs.Resources{CPURtRuntime: 400000, CPURtPeriod: 1000000})
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "the parent cgroup "+parent) {
		t.Errorf("runtime above the parent's: %v; want EINVAL naming the parent", err)
	}
}

func TestV1SetBadInput(t *testing.T) {
	m := newV1Test(t, "bad")
	// Witnesses: limits written before the bad one in the write order
	// (cpuset, memory), which must stay as they are.
	cpuDir, memDir := m.Path("cpuset"), m.Path("memory")
	parentCPUs, _ := parentCpuset(cpuDir, "cpuset.cpus")
	cpus, _ := parseCpusetList(parentCPUs)
	first := strconv.Itoa(int(cpus[0]))
	if err := m.Set(&configs.Resources{CpusetCpus: first, Memory: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	// Some memory in use, for checkBeforeUpdate.
	g := startGated(t, `x=$(head -c 2000000 /dev/zero | tr '\0' a); echo ready; read _`)
	if err := m.Apply(g.pid()); err != nil {
		t.Fatal(err)
	}
	g.release(t)
	g.waitLine(t, "ready")
	usage, err := readCgroupUint(memDir, "memory.usage_in_bytes")
	if err != nil || usage < 2<<20 {
		t.Fatalf("memory.usage_in_bytes = %d, %v; want some use", usage, err)
	}

	for _, tc := range []struct {
		name string
		r    configs.Resources
		want string // in the error
		// unsupported: the error wraps errors.ErrUnsupported.
		unsupported bool
	}{
		{name: "negative memory", r: configs.Resources{Memory: -5}, want: "linux.resources.memory.limit: -5 is invalid"},
		{name: "swap below memory", r: configs.Resources{Memory: 96 << 20, MemorySwap: 32 << 20}, want: "linux.resources.memory.swap: memory+swap limit"},
		{name: "swappiness", r: configs.Resources{MemorySwappiness: ptr[uint64](101)}, want: "linux.resources.memory.swappiness"},
		{name: "below usage", r: configs.Resources{Memory: int64(usage / 2), MemoryCheckBeforeUpdate: true}, want: "below the current usage"},
		{name: "shares", r: configs.Resources{CPUShares: 1}, want: "linux.resources.cpu.shares: 1 is out of range"},
		{name: "quota", r: configs.Resources{CPUQuota: 500}, want: "linux.resources.cpu.quota"},
		{name: "period", r: configs.Resources{CPUPeriod: 2000000}, want: "linux.resources.cpu.period"},
		{name: "burst", r: configs.Resources{CPUQuota: 10000, CPUBurst: ptr[uint64](20000)}, want: "linux.resources.cpu.burst"},
		{name: "idle", r: configs.Resources{CPUIdle: ptr[int64](2)}, want: "linux.resources.cpu.idle"},
		{name: "rt runtime", r: configs.Resources{CPURtRuntime: -2}, want: "linux.resources.cpu.realtimeRuntime"},
		{name: "cpus syntax", r: configs.Resources{CpusetCpus: "1-0"}, want: "linux.resources.cpu.cpus"},
		{name: "cpus outside", r: configs.Resources{CpusetCpus: "4000"}, want: "CPU 4000 is not in"},
		{name: "mems outside", r: configs.Resources{CpusetMems: "63"}, want: "memory node 63 is not in"},
		{name: "pids", r: configs.Resources{PidsLimit: ptr[int64](-2)}, want: "linux.resources.pids.limit"},
		{name: "blkio weight", r: configs.Resources{BlkioWeight: 5000}, want: "linux.resources.blockIO.weight"},
		{name: "blkio device", r: configs.Resources{BlkioThrottleReadBpsDevice: []*configs.ThrottleDevice{{Major: 4095, Minor: 4095, Rate: 1}}}, want: "no block device 4095:4095"},
		{name: "hugetlb size", r: configs.Resources{HugetlbLimit: []*configs.HugepageLimit{{Pagesize: "3MB", Limit: 1}}}, want: `linux.resources.hugepageLimits[0].pageSize: "3MB"`},
		{name: "unified", r: configs.Resources{Unified: map[string]string{"memory.high": "1G", "pids.max": "3"}}, want: "linux.resources.unified: cgroup v2 is not enabled on this host, can't use unified resources (keys memory.high, pids.max)"},
		{name: "device rule", r: configs.Resources{Devices: []*configs.DeviceRule{{Type: 'x', Major: 1, Minor: 1, Permissions: "r", Allow: true}}}, want: "linux.resources.devices[0]"},
		{name: "net_cls", r: configs.Resources{NetClsClassid: 0x100001}, want: "linux.resources.network.classID: the net_cls cgroup controller is not mounted", unsupported: true},
		{name: "net_prio", r: configs.Resources{NetPrioIfpriomap: []*configs.IfPrioMap{{Interface: "lo", Priority: 1}}}, want: "linux.resources.network.priorities", unsupported: true},
		{name: "rdma", r: configs.Resources{Rdma: map[string]configs.RdmaEntry{"mlx4_0": {HcaHandles: ptr[uint32](1)}}}, want: "linux.resources.rdma", unsupported: true},
		{name: "leaf weight", r: configs.Resources{BlkioLeafWeight: 300}, want: "linux.resources.blockIO.leafWeight", unsupported: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.unsupported {
				ctrl := map[string]string{"net_cls": "net_cls", "net_prio": "net_prio", "rdma": "rdma"}[tc.name]
				if ctrl != "" && m.Path(ctrl) != "" {
					t.Skipf("%s is mounted here", ctrl)
				}
				if tc.name == "leaf weight" && hasFile(m.Path("blkio"), "blkio.leaf_weight") {
					t.Skip("this kernel has CFQ's blkio.leaf_weight")
				}
			}
			r := tc.r
			if len(cpus) > 1 && r.CpusetCpus == "" {
				r.CpusetCpus = parentCPUs
			}
			if r.Memory == 0 && r.MemorySwap == 0 {
				r.Memory = 96 << 20
			}
			err := m.Set(&r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			var fe *configs.FieldError
			if !errors.As(err, &fe) {
				t.Errorf("err = %v, want a *configs.FieldError", err)
			}
			if tc.unsupported && !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("err = %v, want it to wrap errors.ErrUnsupported", err)
			}
			wantFile(t, cpuDir, "cpuset.cpus", first)
			wantFile(t, memDir, "memory.limit_in_bytes", "67108864")
		})
	}
}

// TestV1SetNetwork mounts a private net_cls,net_prio hierarchy (this host
// has the controllers but does not mount them) and drives a manager over
// it.
func TestV1SetNetwork(t *testing.T) {
	requireRoot(t)
	mnt := t.TempDir()
	if err := unix.Mount("berth-test", mnt, "cgroup", 0, "net_cls,net_prio"); err != nil {
		t.Skipf("mount a net_cls,net_prio hierarchy: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	h := &host{mounts: func() ([]v1Mount, error) {
		return []v1Mount{{Mountpoint: mnt, Root: "/", Controllers: []string{"net_cls", "net_prio"}}}, nil
	}}
	mgr, err := newManager(h, &configs.Cgroup{Path: testParent + "/net"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mgr.Destroy(); err != nil {
			t.Error(err)
		}
		_ = unix.Rmdir(filepath.Join(mnt, testParent))
	})
	if err := mgr.Apply(-1); err != nil {
		t.Fatal(err)
	}
	err = mgr.Set(&configs.Resources{
		NetClsClassid:    0x100001,
		NetPrioIfpriomap: []*configs.IfPrioMap{{Interface: "lo", Priority: 5}},
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := mgr.Path("net_cls")
	wantFile(t, dir, "net_cls.classid", "1048577")
	if got, err := readFile(dir, "net_prio.ifpriomap"); err != nil || !strings.Contains(got, "lo 5") {
		t.Errorf("net_prio.ifpriomap = %q, %v; want a line lo 5", got, err)
	}
	err = mgr.Set(&configs.Resources{NetPrioIfpriomap: []*configs.IfPrioMap{{Interface: "lo", Priority: -1}}})
	if err == nil || !strings.Contains(err.Error(), "linux.resources.network.priorities[0].priority") {
		t.Errorf("negative priority: %v", err)
	}
}

func TestRdmaLine(t *testing.T) {
	for _, tc := range []struct {
		e    configs.RdmaEntry
		want string
	}{
		{configs.RdmaEntry{HcaHandles: ptr[uint32](2), HcaObjects: ptr[uint32](2000)}, "mlx4_0 hca_handle=2 hca_object=2000"},
		{configs.RdmaEntry{HcaObjects: ptr[uint32](7)}, "mlx4_0 hca_object=7"},
	} {
		if got := rdmaLine("mlx4_0", tc.e); got != tc.want {
			t.Errorf("rdmaLine = %q, want %q", got, tc.want)
		}
	}
}
