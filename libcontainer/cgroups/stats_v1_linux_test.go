package cgroups

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/berthrt/berth/libcontainer/configs"
)

func TestV1Stats(t *testing.T) {
	m := newV1Test(t, "stats")
	pids := int64(20)
	err := m.Set(&configs.Resources{Memory: 64 << 20, PidsLimit: &pids, CPUQuota: 10000, CPUPeriod: 100000})
	if err != nil {
		t.Fatal(err)
	}
	// Work enough for the 10% quota to throttle it, keep 2 MB, then wait.
	g := startGated(t, `i=0; while [ $i -lt 40000 ]; do i=$((i+1)); done; x=$(head -c 2000000 /dev/zero | tr '\0' a); echo ready; read _`)
	if err := m.Apply(g.pid()); err != nil {
		t.Fatal(err)
	}
	g.release(t)
	g.waitLine(t, "ready")

	s, err := m.GetStats()
	if err != nil {
		t.Fatal(err)
	}
	if js, err := json.Marshal(s); err == nil {
		t.Logf("stats: %s", js)
	}
	cpu := s.CPUStats.CPUUsage
	if cpu.TotalUsage == 0 || len(cpu.PercpuUsage) == 0 {
		t.Errorf("cpu usage: %+v; want some", cpu)
	}
	var sum uint64
	for _, u := range cpu.PercpuUsage {
		sum += u
	}
	if sum != cpu.TotalUsage {
		t.Errorf("per-CPU usage adds up to %d, total %d", sum, cpu.TotalUsage)
	}
	if hasFile(m.Path("cpuacct"), "cpuacct.usage_all") &&
		(len(cpu.PercpuUsageInUsermode) != len(cpu.PercpuUsage) || len(cpu.PercpuUsageInKernelmode) != len(cpu.PercpuUsage)) {
		t.Errorf("per-CPU user %v and kernel %v times, want one per CPU (%d)", cpu.PercpuUsageInUsermode, cpu.PercpuUsageInKernelmode, len(cpu.PercpuUsage))
	}
	if th := s.CPUStats.ThrottlingData; th.Periods == 0 || th.ThrottledPeriods == 0 || th.ThrottledTime == 0 {
		t.Errorf("throttling %+v: want the 10%% quota to have throttled", th)
	}
	mem := s.MemoryStats
	if mem.Usage.Usage < 2<<20 || mem.Usage.Limit != 64<<20 || mem.Usage.MaxUsage < mem.Usage.Usage {
		t.Errorf("memory usage %+v: want at least 2 MB used, a 64 MB limit and a peak at or above the usage", mem.Usage)
	}
	if _, ok := mem.Stats["rss"]; !ok || mem.Stats["cache"] != mem.Cache {
		t.Errorf("memory.stat %v (cache %d): want rss and cache", mem.Stats, mem.Cache)
	}
	if hasFile(m.Path("memory"), "memory.memsw.usage_in_bytes") && mem.SwapUsage.Usage < mem.Usage.Usage {
		t.Errorf("memory+swap usage %d below the memory usage %d", mem.SwapUsage.Usage, mem.Usage.Usage)
	}
	if p := s.PidsStats; p.Current < 1 || p.Limit != 20 {
		t.Errorf("pids %+v: want the shell counted and a limit of 20", p)
	}
	parent, _ := parentCpuset(m.Path("cpuset"), "cpuset.cpus")
	want, _ := parseCpusetList(parent)
	if !slices.Equal(s.CPUSetStats.CPUs, want) || len(s.CPUSetStats.Mems) == 0 {
		t.Errorf("cpuset %+v: want the parent's CPUs %v and some memory node", s.CPUSetStats, want)
	}
	if u := m.Path(""); u != "" && hasFile(u, "cpu.pressure") && (s.CPUStats.PSI == nil || s.MemoryStats.PSI == nil) {
		t.Errorf("PSI: cpu %v memory %v; want both from %s", s.CPUStats.PSI, s.MemoryStats.PSI, u)
	}

	t.Run("missing cgroup", func(t *testing.T) {
		gone, err := New(&configs.Cgroup{Path: testParent + "/no-such-cgroup"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gone.GetStats(); err == nil {
			t.Error("stats of a missing cgroup: no error")
		}
	})
}

// TestV1FrozenDoesNotRun checks the freezer's effect: a busy process uses
// no CPU while its cgroup is frozen, and runs again once thawed.
func TestV1FrozenDoesNotRun(t *testing.T) {
	m := newV1Test(t, "frozen")
	g := startGated(t, "while :; do :; done")
	// A killed task stays frozen: thaw before the kill of startGated.
	t.Cleanup(func() { _ = m.Freeze(Thawed) })
	if err := m.Apply(g.pid()); err != nil {
		t.Fatal(err)
	}
	g.release(t)
	usage := func() uint64 {
		t.Helper()
		v, err := readCgroupUint(m.Path("cpuacct"), "cpuacct.usage")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// waitGrowth waits for the usage to pass from; the bound only keeps a
	// broken test from hanging.
	waitGrowth := func(from uint64) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); usage() <= from; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("cpuacct.usage stuck at %d", from)
			}
		}
	}
	waitGrowth(0)
	if err := m.Freeze(Frozen); err != nil {
		t.Fatal(err)
	}
	before := usage()
	time.Sleep(50 * time.Millisecond)
	if after := usage(); after != before {
		t.Errorf("frozen cgroup used CPU: cpuacct.usage %d -> %d", before, after)
	}
	if err := m.Freeze(Thawed); err != nil {
		t.Fatal(err)
	}
	waitGrowth(before)
}

// TestBlkioStatsOrder checks runc's order of blkio counter groups on files
// in a plain directory: bfq first, and the throttle layer when bfq saw no
// I/O.
func TestBlkioStatsOrder(t *testing.T) {
	write := func(t *testing.T, dir string, files map[string]string) {
		t.Helper()
		for f, c := range files {
			if err := os.WriteFile(filepath.Join(dir, f), []byte(c), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	const throttle = "8:0 Read 7\nTotal 7\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  uint64
	}{
		{"throttle only", map[string]string{
			"blkio.throttle.io_service_bytes_recursive": throttle,
			"blkio.throttle.io_serviced_recursive":      throttle,
		}, 7},
		{"bfq", map[string]string{
			"blkio.bfq.io_service_bytes_recursive":      "8:0 Read 100\nTotal 100\n",
			"blkio.bfq.io_serviced_recursive":           "8:0 Read 1\nTotal 1\n",
			"blkio.throttle.io_service_bytes_recursive": throttle,
		}, 100},
		{"bfq without I/O", map[string]string{
			"blkio.bfq.io_service_bytes_recursive":      "Total 0\n",
			"blkio.bfq.io_serviced_recursive":           "Total 0\n",
			"blkio.throttle.io_service_bytes_recursive": throttle,
			"blkio.throttle.io_serviced_recursive":      throttle,
		}, 7},
		{"CFQ", map[string]string{
			"blkio.sectors_recursive":                   "8:0 3\n",
			"blkio.io_service_bytes_recursive":          "8:0 Read 50\nTotal 50\n",
			"blkio.throttle.io_service_bytes_recursive": throttle,
		}, 50},
		{"throttle, not recursive", map[string]string{
			"blkio.throttle.io_service_bytes": throttle,
			"blkio.throttle.io_serviced":      throttle,
		}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, tc.files)
			var s Stats
			if err := blkioStatsV1(dir, &s); err != nil {
				t.Fatal(err)
			}
			b := s.BlkioStats.IoServiceBytesRecursive
			if len(b) != 1 || b[0].Value != tc.want {
				t.Errorf("io_service_bytes_recursive = %+v, want one entry of %d", b, tc.want)
			}
		})
	}
}
