package cgroups

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// writeV2Files fills dir with fake cgroup v2 interface files.
func writeV2Files(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStatV2Files reads a directory of fake interface files, in the
// kernel's formats, and checks runc's conversions.
func TestStatV2Files(t *testing.T) {
	dir := t.TempDir()
	writeV2Files(t, dir, map[string]string{
		"cgroup.procs":             "12\n13\n",
		"pids.current":             "3\n",
		"pids.max":                 "max\n",
		"cpu.stat":                 "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 7\nnr_throttled 2\nthrottled_usec 30\nnr_bursts 0\nburst_usec 0\n",
		"cpu.pressure":             "some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=6\n",
		"memory.stat":              "anon 4096\nfile 8192\nkernel 100\n",
		"memory.current":           "12288\n",
		"memory.max":               "1048576\n",
		"memory.peak":              "20000\n",
		"memory.events":            "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n",
		"memory.swap.current":      "100\n",
		"memory.swap.max":          "max\n",
		"memory.swap.events":       "high 0\nmax 2\nfail 0\n",
		"memory.pressure":          "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=2\n",
		"io.stat":                  "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n7:1 rbytes=10 wbytes=0 rios=3 wios=0 dbytes=0 dios=0\n",
		"cpuset.cpus.effective":    "0-2,5\n",
		"cpuset.mems.effective":    "0\n",
		"hugetlb.2MB.current":      "4194304\n",
		"hugetlb.2MB.max":          "max\n",
		"hugetlb.2MB.events":       "max 3\n",
		"hugetlb.2MB.rsvd.current": "0\n",
		"hugetlb.1GB.current":      "0\n",
		"rdma.current":             "mlx4_0 hca_handle=1 hca_object=20\n",
		"rdma.max":                 "mlx4_0 hca_handle=2 hca_object=max\n",
		"misc.current":             "sev 1\nsev_es 0\n",
		"misc.events":              "sev.max 5\nsev_es.max 0\n",
	})
	st, err := statV2(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := &Stats{
		CPUStats: CPUStats{
			CPUUsage:       CPUUsage{TotalUsage: 1500000, UsageInUsermode: 1000000, UsageInKernelmode: 500000},
			ThrottlingData: ThrottlingData{Periods: 7, ThrottledPeriods: 2, ThrottledTime: 30000},
			PSI:            &PSIStats{Some: PSIData{Avg10: 1.5, Avg60: 0.25, Total: 12345}, Full: PSIData{Total: 6}},
		},
		CPUSetStats: CPUSetStats{CPUs: []uint16{0, 1, 2, 5}, Mems: []uint16{0}},
		MemoryStats: MemoryStats{
			Cache:         8192,
			Usage:         MemoryData{Usage: 12288, MaxUsage: 20000, Failcnt: 4, Limit: 1048576},
			SwapOnlyUsage: MemoryData{Usage: 100, Failcnt: 2, Limit: math.MaxUint64},
			SwapUsage:     MemoryData{Usage: 12388, Failcnt: 2, Limit: math.MaxUint64},
			Stats:         map[string]uint64{"anon": 4096, "file": 8192, "kernel": 100},
			UseHierarchy:  true,
			PSI:           &PSIStats{Some: PSIData{Total: 1}, Full: PSIData{Total: 2}},
		},
		PidsStats: PidsStats{Current: 3},
		BlkioStats: BlkioStats{
			IoServiceBytesRecursive: []BlkioStatEntry{
				{Major: 8, Op: "Read", Value: 4096},
				{Major: 8, Op: "Write", Value: 8192},
				{Major: 7, Minor: 1, Op: "Read", Value: 10},
				{Major: 7, Minor: 1, Op: "Write"},
			},
			IoServicedRecursive: []BlkioStatEntry{
				{Major: 8, Op: "Read", Value: 1},
				{Major: 8, Op: "Write", Value: 2},
				{Major: 7, Minor: 1, Op: "Read", Value: 3},
				{Major: 7, Minor: 1, Op: "Write"},
			},
		},
		HugetlbStats: map[string]HugetlbStats{"2MB": {Usage: 4194304, Failcnt: 3}, "1GB": {}},
		RdmaStats: RdmaStats{
			RdmaCurrent: []RdmaEntry{{Device: "mlx4_0", HcaHandles: 1, HcaObjects: 20}},
			RdmaLimit:   []RdmaEntry{{Device: "mlx4_0", HcaHandles: 2, HcaObjects: math.MaxUint32}},
		},
		MiscStats: map[string]MiscStats{"sev": {Usage: 1, Events: 5}, "sev_es": {}},
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("got  %+v\nwant %+v", st, want)
	}
}

// TestStatV2Sparse checks a cgroup without controllers: only the core
// files, as cgroup2 shows them.
func TestStatV2Sparse(t *testing.T) {
	dir := t.TempDir()
	writeV2Files(t, dir, map[string]string{
		"cgroup.procs": "1\n2\n",
		"cpu.stat":     "usage_usec 10\nuser_usec 4\nsystem_usec 6\n",
	})
	st, err := statV2(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := &Stats{
		CPUStats:  CPUStats{CPUUsage: CPUUsage{TotalUsage: 10000, UsageInUsermode: 4000, UsageInKernelmode: 6000}},
		PidsStats: PidsStats{Current: 2},
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("got  %+v\nwant %+v", st, want)
	}
	if _, err := statV2(filepath.Join(dir, "gone")); !os.IsNotExist(err) {
		t.Errorf("a missing cgroup: err = %v, want ErrNotExist", err)
	}
}

func TestStatV2Errors(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"cpu.stat":   {"cpu.stat": "usage_usec x\n"},
		"io.stat":    {"io.stat": "8:0 rbytes\n"},
		"pressure":   {"cpu.stat": "", "cpu.pressure": "some avg10=x\n"},
		"memory.max": {"memory.stat": "", "memory.current": "1", "memory.max": "lots"},
		"cpuset":     {"cpuset.cpus.effective": "3-1"},
		"rdma":       {"rdma.max": "mlx4_0 hca_handle=-1"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			files["cgroup.procs"] = ""
			writeV2Files(t, dir, files)
			st, err := statV2(dir)
			if err == nil {
				t.Fatalf("no error; stats %+v", st)
			}
			if st == nil {
				t.Error("no stats with the error")
			}
		})
	}
}

func TestCombineSwapV2(t *testing.T) {
	mem := MemoryData{Usage: 10, MaxUsage: 20, Limit: 100}
	for _, tt := range []struct {
		swap, want MemoryData
	}{
		{MemoryData{Usage: 1, MaxUsage: 5, Limit: 50}, MemoryData{Usage: 11, Limit: 150}},
		{MemoryData{Usage: 1, Limit: math.MaxUint64}, MemoryData{Usage: 11, Limit: math.MaxUint64}},
		{MemoryData{Limit: math.MaxUint64 - 50}, MemoryData{Usage: 10, Limit: math.MaxUint64}},
	} {
		if got := combineSwapV2(mem, tt.swap); got != tt.want {
			t.Errorf("combineSwapV2(%+v) = %+v, want %+v", tt.swap, got, tt.want)
		}
	}
}

// TestWatchOOMV2Files runs the OOM watch on a plain directory, where the
// test plays the kernel: it rewrites memory.events and removes the
// directory.
func TestWatchOOMV2Files(t *testing.T) {
	// Each step waits for the watch; a broken watch fails by timeout.
	const wait = 10 * time.Second
	dir := filepath.Join(t.TempDir(), "cg")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	events := func(oom, kill int) {
		t.Helper()
		data := "low 0\nhigh 0\nmax 9\noom " + strconv.Itoa(oom) + "\noom_kill " + strconv.Itoa(kill) + "\n"
		writeV2Files(t, dir, map[string]string{"memory.events": data})
	}
	events(1, 1)
	ch, err := watchOOMV2(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// A change without a new kill sends nothing; the kill after it sends
	// one value.
	events(2, 1)
	events(2, 2)
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatal("closed instead of an OOM event")
		}
	case <-time.After(wait):
		t.Fatal("no OOM event")
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("an OOM event instead of the close at the removal")
		}
	case <-time.After(wait):
		t.Fatal("not closed after the directory's removal")
	}
}

func TestWatchOOMV2Cancel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cg")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeV2Files(t, dir, map[string]string{"memory.events": "oom 0\noom_kill 0\n"})
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := watchOOMV2(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("an OOM event after the cancel")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not closed after the context's end")
	}
	if _, err := watchOOMV2(context.Background(), filepath.Join(dir, "gone")); err == nil {
		t.Error("watching a missing cgroup: no error")
	}
}
