package main

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/berthrt/berth/libcontainer"
	"github.com/berthrt/berth/libcontainer/cgroups"
)

// TestStatsEventShape checks the JSON keys of a stats event against runc's
// (types/events.go), which containerd and other tools decode.
func TestStatsEventShape(t *testing.T) {
	cg := &cgroups.Stats{
		CPUStats: cgroups.CPUStats{
			CPUUsage: cgroups.CPUUsage{
				TotalUsage: 10, PercpuUsage: []uint64{4, 6},
				PercpuUsageInKernelmode: []uint64{1, 2}, PercpuUsageInUsermode: []uint64{3, 4},
				UsageInKernelmode: 3, UsageInUsermode: 7,
			},
			ThrottlingData: cgroups.ThrottlingData{Periods: 5, ThrottledPeriods: 2, ThrottledTime: 9},
		},
		CPUSetStats: cgroups.CPUSetStats{CPUs: []uint16{0, 1}, Mems: []uint16{0}},
		MemoryStats: cgroups.MemoryStats{
			Cache:          11,
			Usage:          cgroups.MemoryData{Usage: 100, MaxUsage: 200, Failcnt: 1, Limit: 300},
			SwapUsage:      cgroups.MemoryData{Usage: 110, Limit: 400},
			KernelUsage:    cgroups.MemoryData{Usage: 5},
			KernelTCPUsage: cgroups.MemoryData{Usage: 6},
			Stats:          map[string]uint64{"rss": 42},
		},
		PidsStats: cgroups.PidsStats{Current: 2, Limit: 20},
		BlkioStats: cgroups.BlkioStats{
			IoServiceBytesRecursive: []cgroups.BlkioStatEntry{{Major: 8, Minor: 0, Op: "Read", Value: 4096}},
		},
		HugetlbStats: map[string]cgroups.HugetlbStats{"2MB": {Usage: 1, MaxUsage: 2, Failcnt: 3}},
	}
	data, err := json.Marshal(statsEvent("c1", &libcontainer.Stats{CgroupStats: cg}))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type": "stats",
		"id":   "c1",
		"data": map[string]any{
			"cpu": map[string]any{
				"usage": map[string]any{
					"total": 10.0, "percpu": []any{4.0, 6.0}, "percpu_kernel": []any{1.0, 2.0},
					"percpu_user": []any{3.0, 4.0}, "kernel": 3.0, "user": 7.0,
				},
				"throttling": map[string]any{"periods": 5.0, "throttledPeriods": 2.0, "throttledTime": 9.0},
			},
			"cpuset": map[string]any{"cpus": []any{0.0, 1.0}, "mems": []any{0.0}, "cpu_exclusive": 0.0, "mem_exclusive": 0.0},
			"memory": map[string]any{
				"cache":     11.0,
				"usage":     map[string]any{"usage": 100.0, "max": 200.0, "failcnt": 1.0, "limit": 300.0},
				"swap":      map[string]any{"usage": 110.0, "failcnt": 0.0, "limit": 400.0},
				"kernel":    map[string]any{"usage": 5.0, "failcnt": 0.0, "limit": 0.0},
				"kernelTCP": map[string]any{"usage": 6.0, "failcnt": 0.0, "limit": 0.0},
				"raw":       map[string]any{"rss": 42.0},
			},
			"pids": map[string]any{"current": 2.0, "limit": 20.0},
			"blkio": map[string]any{
				"ioServiceBytesRecursive": []any{map[string]any{"major": 8.0, "op": "Read", "value": 4096.0}},
			},
			"hugetlb": map[string]any{"2MB": map[string]any{"usage": 1.0, "max": 2.0, "failcnt": 3.0}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stats event:\n%s\nwant the keys of\n%v", data, want)
	}
}

func TestEventShapes(t *testing.T) {
	for _, tc := range []struct {
		e    *event
		want string
	}{
		{&event{Type: "oom", ID: "c1"}, `{"type":"oom","id":"c1"}`},
		// Empty stats still print every controller, and "hugetlb":{}.
		{
			statsEvent("c1", &libcontainer.Stats{CgroupStats: &cgroups.Stats{}}),
			`{"type":"stats","id":"c1","data":{"cpu":{"usage":{"kernel":0,"user":0},"throttling":{}},"cpuset":{"cpu_exclusive":0,"mem_exclusive":0},` +
				`"memory":{"usage":{"limit":0,"failcnt":0},"swap":{"limit":0,"failcnt":0},"kernel":{"limit":0,"failcnt":0},"kernelTCP":{"limit":0,"failcnt":0}},` +
				`"pids":{},"blkio":{},"hugetlb":{}}}`,
		},
	} {
		data, err := json.Marshal(tc.e)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != tc.want {
			t.Errorf("event:\n%s\nwant\n%s", data, tc.want)
		}
	}
}
