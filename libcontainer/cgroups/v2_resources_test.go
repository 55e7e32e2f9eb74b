package cgroups

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/berthrt/berth/libcontainer/configs"
)

func v2Ptr[T any](v T) *T { return &v }

// v2Planned is a v2write reduced to what a test compares; alt writes are
// shown after a "|".
func v2Planned(ws []v2write) []string {
	var out []string
	for _, w := range ws {
		s := w.file + "=" + w.value
		if w.cond == condOptional {
			s += " (optional)"
		}
		if w.keepQuota {
			s += " (keep quota)"
		}
		if w.alt != nil {
			s += " | " + w.alt.file + "=" + w.alt.value
		}
		out = append(out, s)
	}
	return out
}

func TestPlanV2(t *testing.T) {
	tests := []struct {
		name string
		r    configs.Resources
		want []string
	}{
		{name: "nothing", r: configs.Resources{}, want: nil},
		{
			name: "memory",
			r:    configs.Resources{Memory: 100 << 20, MemoryReservation: 50 << 20, MemorySwap: 300 << 20},
			want: []string{"memory.swap.max=209715200", "memory.max=104857600", "memory.low=52428800"},
		},
		{
			name: "memory and swap equal: no swap",
			r:    configs.Resources{Memory: 100, MemorySwap: 100},
			want: []string{"memory.swap.max=0 (optional)", "memory.max=100"},
		},
		{
			name: "memory unlimited makes swap unlimited",
			r:    configs.Resources{Memory: -1},
			want: []string{"memory.swap.max=max (optional)", "memory.max=max"},
		},
		{
			name: "swappiness and OOM killer are ignored, as runc does",
			r:    configs.Resources{MemorySwappiness: v2Ptr[uint64](60), OomKillDisable: true},
			want: nil,
		},
		{
			name: "pids 0 is a limit, written as 1",
			r:    configs.Resources{PidsLimit: v2Ptr[int64](0)},
			want: []string{"pids.max=1"},
		},
		{
			name: "pids unlimited",
			r:    configs.Resources{PidsLimit: v2Ptr[int64](-1)},
			want: []string{"pids.max=max"},
		},
		{
			name: "cpu",
			r: configs.Resources{
				CPUShares: 1024, CPUQuota: 50000, CPUPeriod: 100000,
				CPUBurst: v2Ptr[uint64](10000), CPUIdle: v2Ptr[int64](1),
			},
			want: []string{"cpu.idle=1", "cpu.weight=100", "cpu.max.burst=10000", "cpu.max=50000 100000"},
		},
		{
			name: "cpu quota alone keeps the period",
			r:    configs.Resources{CPUQuota: 20000},
			want: []string{"cpu.max=20000"},
		},
		{
			name: "cpu unlimited quota",
			r:    configs.Resources{CPUQuota: -1, CPUPeriod: 50000},
			want: []string{"cpu.max=max 50000"},
		},
		{
			name: "cpu period alone keeps the quota",
			r:    configs.Resources{CPUPeriod: 50000},
			want: []string{"cpu.max=50000 (keep quota)"},
		},
		{
			name: "cpuset",
			r:    configs.Resources{CpusetCpus: "0-1", CpusetMems: "0"},
			want: []string{"cpuset.cpus=0-1", "cpuset.mems=0"},
		},
		{
			name: "io",
			r: configs.Resources{
				BlkioWeight:     500,
				BlkioLeafWeight: 300,
				BlkioWeightDevice: []*configs.WeightDevice{
					{Major: 8, Minor: 0, Weight: 1000},
					{Major: 8, Minor: 16, LeafWeight: 100},
				},
				BlkioThrottleReadBpsDevice:   []*configs.ThrottleDevice{{Major: 8, Minor: 0, Rate: 1 << 20}},
				BlkioThrottleWriteBpsDevice:  []*configs.ThrottleDevice{{Major: 8, Minor: 0, Rate: 0}},
				BlkioThrottleReadIOPSDevice:  []*configs.ThrottleDevice{{Major: 7, Minor: 1, Rate: 100}},
				BlkioThrottleWriteIOPSDevice: []*configs.ThrottleDevice{{Major: 7, Minor: 1, Rate: 200}},
			},
			want: []string{
				"io.bfq.weight=500 | io.weight=4950",
				"io.bfq.weight=8:0 1000 | io.weight=8:0 10000",
				"io.max=8:0 rbps=1048576",
				"io.max=8:0 wbps=max",
				"io.max=7:1 riops=100",
				"io.max=7:1 wiops=200",
			},
		},
		{
			name: "hugetlb",
			r:    configs.Resources{HugetlbLimit: []*configs.HugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}},
			want: []string{"hugetlb.2MB.max=4194304", "hugetlb.2MB.rsvd.max=4194304 (optional)"},
		},
		{
			name: "rdma",
			r: configs.Resources{Rdma: map[string]configs.RdmaEntry{
				"mlx5_1": {HcaObjects: v2Ptr[uint32](7)},
				"mlx4_0": {HcaHandles: v2Ptr[uint32](2), HcaObjects: v2Ptr[uint32](2000)},
				"none":   {},
			}},
			want: []string{"rdma.max=mlx4_0 hca_handle=2 hca_object=2000", "rdma.max=mlx5_1 hca_object=7", "rdma.max=none"},
		},
		{
			name: "unified last, by key, a line at a time",
			r: configs.Resources{
				PidsLimit: v2Ptr[int64](10),
				Unified: map[string]string{
					"pids.max":         "20",
					"memory.high":      "1G",
					"io.max":           "8:0 rbps=1\n8:16 wbps=2\n",
					"cgroup.max.depth": "3",
				},
			},
			want: []string{
				"pids.max=10",
				"cgroup.max.depth=3", "io.max=8:0 rbps=1", "io.max=8:16 wbps=2", "memory.high=1G", "pids.max=20",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, err := planV2(&tt.r)
			if err != nil {
				t.Fatal(err)
			}
			got := v2Planned(ws)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			for _, w := range ws {
				if w.field == "" {
					t.Errorf("%s: no field", w.file)
				}
			}
		})
	}
}

func TestPlanV2Controllers(t *testing.T) {
	ws, err := planV2(&configs.Resources{
		Memory: 1, CPUShares: 2, CpusetCpus: "0", PidsLimit: v2Ptr[int64](1), BlkioWeight: 10,
		HugetlbLimit: []*configs.HugepageLimit{{Pagesize: "1GB"}},
		Unified:      map[string]string{"cgroup.freeze": "0", "misc.max": "res 1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"memory.max": "memory", "cpu.weight": "cpu", "cpuset.cpus": "cpuset", "pids.max": "pids",
		"io.bfq.weight": "io", "hugetlb.1GB.max": "hugetlb", "hugetlb.1GB.rsvd.max": "hugetlb",
		"cgroup.freeze": "", "misc.max": "misc",
	}
	for _, w := range ws {
		if c, ok := want[w.file]; !ok || c != w.ctrl {
			t.Errorf("%s: controller %q, want %q", w.file, w.ctrl, c)
		}
	}
}

func TestPlanV2Errors(t *testing.T) {
	tests := []struct {
		name        string
		r           configs.Resources
		field, want string
		unsupported bool
	}{
		{name: "memory below -1", r: configs.Resources{Memory: -2}, field: "memory.limit", want: "-2 is invalid"},
		{name: "reservation below -1", r: configs.Resources{MemoryReservation: -5}, field: "memory.reservation", want: "invalid"},
		{name: "swap below memory", r: configs.Resources{Memory: 200, MemorySwap: 100}, field: "memory.swap", want: "below the memory limit"},
		{name: "swap without memory", r: configs.Resources{MemorySwap: 100}, field: "memory.swap", want: "needs a memory limit"},
		{name: "swap below -1", r: configs.Resources{Memory: 100, MemorySwap: -3}, field: "memory.swap", want: "invalid"},
		{name: "swappiness above 100", r: configs.Resources{MemorySwappiness: v2Ptr[uint64](101)}, field: "memory.swappiness", want: "want 0 to 100"},
		{name: "pids below -1", r: configs.Resources{PidsLimit: v2Ptr[int64](-7)}, field: "pids.limit", want: "invalid"},
		{name: "quota too small", r: configs.Resources{CPUQuota: 999}, field: "cpu.quota", want: "at least 1000"},
		{name: "quota below -1", r: configs.Resources{CPUQuota: -2}, field: "cpu.quota", want: "invalid"},
		{name: "period too small", r: configs.Resources{CPUPeriod: 10}, field: "cpu.period", want: "1000 to 1000000"},
		{name: "period too big", r: configs.Resources{CPUPeriod: 2000000}, field: "cpu.period", want: "1000 to 1000000"},
		{name: "idle 2", r: configs.Resources{CPUIdle: v2Ptr[int64](2)}, field: "cpu.idle", want: "want 0 or 1"},
		{name: "realtime runtime", r: configs.Resources{CPURtRuntime: 1000}, field: "cpu.realtimeRuntime", unsupported: true},
		{name: "realtime period", r: configs.Resources{CPURtPeriod: 1000}, field: "cpu.realtimePeriod", unsupported: true},
		{name: "net_cls", r: configs.Resources{NetClsClassid: 1}, field: "network.classID", unsupported: true},
		{name: "net_prio", r: configs.Resources{NetPrioIfpriomap: []*configs.IfPrioMap{{Interface: "lo", Priority: 1}}}, field: "network.priorities", unsupported: true},
		{name: "weight too small", r: configs.Resources{BlkioWeight: 9}, field: "blockIO.weight", want: "out of range"},
		{name: "weight too big", r: configs.Resources{BlkioWeight: 1001}, field: "blockIO.weight", want: "out of range"},
		{name: "nil weight device", r: configs.Resources{BlkioWeightDevice: []*configs.WeightDevice{nil}}, field: "blockIO.weightDevice[0]", want: "missing"},
		{name: "device weight too big", r: configs.Resources{BlkioWeightDevice: []*configs.WeightDevice{{Major: 8, Weight: 2000}}}, field: "blockIO.weightDevice[0].weight", want: "out of range"},
		{name: "negative major", r: configs.Resources{BlkioThrottleReadBpsDevice: []*configs.ThrottleDevice{{Major: -1, Rate: 2}}}, field: "blockIO.throttleReadBpsDevice[0]", want: "device -1:0"},
		{name: "minor too big", r: configs.Resources{BlkioThrottleWriteIOPSDevice: []*configs.ThrottleDevice{{}, {Minor: 1 << 32, Rate: 2}}}, field: "blockIO.throttleWriteIOPSDevice[1]", want: "device 0:4294967296"},
		{name: "rate 1", r: configs.Resources{BlkioThrottleReadIOPSDevice: []*configs.ThrottleDevice{{Major: 8, Rate: 1}}}, field: "blockIO.throttleReadIOPSDevice[0].rate", want: "at least 2"},
		{name: "page size with a slash", r: configs.Resources{HugetlbLimit: []*configs.HugepageLimit{{Pagesize: "../2MB"}}}, field: "hugepageLimits[0].pageSize", want: "not a huge page size"},
		{name: "page size with a dot", r: configs.Resources{HugetlbLimit: []*configs.HugepageLimit{{Pagesize: "2MB.rsvd"}}}, field: "hugepageLimits[0].pageSize", want: "not a huge page size"},
		{name: "empty page size", r: configs.Resources{HugetlbLimit: []*configs.HugepageLimit{{}}}, field: "hugepageLimits[0].pageSize", want: "not a huge page size"},
		{name: "rdma device with a blank", r: configs.Resources{Rdma: map[string]configs.RdmaEntry{"a b": {}}}, field: "rdma.a b", want: "not an RDMA device"},
		{name: "unified with a slash", r: configs.Resources{Unified: map[string]string{"../memory.max": "1"}}, field: `unified["../memory.max"]`, want: "not the name"},
		{name: "unified dot dot", r: configs.Resources{Unified: map[string]string{"..": "1"}}, field: `unified[".."]`, want: "not the name"},
		{name: "unified without a dot", r: configs.Resources{Unified: map[string]string{"memory": "1"}}, field: `unified["memory"]`, want: "CONTROLLER.PARAMETER"},
		{name: "unified empty", r: configs.Resources{Unified: map[string]string{"": "1"}}, field: `unified[""]`, want: "not the name"},
		{name: "unified leading dot", r: configs.Resources{Unified: map[string]string{".max": "1"}}, field: `unified[".max"]`, want: "not the name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := planV2(&tt.r)
			var ferr *configs.FieldError
			if !errors.As(err, &ferr) {
				t.Fatalf("err = %v, want a *configs.FieldError", err)
			}
			if want := "linux.resources." + tt.field; ferr.Field != want {
				t.Errorf("field %q, want %q (%v)", ferr.Field, want, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
			if errors.Is(err, errors.ErrUnsupported) != tt.unsupported {
				t.Errorf("err = %v: ErrUnsupported %v, want %v", err, !tt.unsupported, tt.unsupported)
			}
		})
	}
}

func TestBlkioWeightToIOWeight(t *testing.T) {
	for w, want := range map[uint16]uint64{0: 0, 10: 1, 500: 4950, 1000: 10000} {
		if got := blkioWeightToIOWeight(w); got != want {
			t.Errorf("blkioWeightToIOWeight(%d) = %d, want %d", w, got, want)
		}
	}
}

func TestPreviousLine(t *testing.T) {
	ioMax := "8:0 rbps=100 wbps=max riops=max wiops=max\n8:16 rbps=max wbps=5 riops=max wiops=max"
	tests := []struct {
		file, key, old, want string
	}{
		{"io.max", "8:16", ioMax, "8:16 rbps=max wbps=5 riops=max wiops=max"},
		{"io.max", "7:0", ioMax, "7:0 rbps=max wbps=max riops=max wiops=max"},
		{"io.max", "7:0", "", "7:0 rbps=max wbps=max riops=max wiops=max"},
		{"io.weight", "default", "default 100\n8:0 200", "default 100"},
		{"io.weight", "8:0", "default 100\n8:0 200", "8:0 200"},
		{"io.weight", "8:16", "default 100\n8:0 200", "8:16 default"},
		{"io.bfq.weight", "default", "100", "100"},
		{"rdma.max", "mlx4_0", "mlx4_0 hca_handle=1 hca_object=max", "mlx4_0 hca_handle=1 hca_object=max"},
		{"rdma.max", "mlx5_0", "", "mlx5_0 hca_handle=max hca_object=max"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s", tt.file, tt.key), func(t *testing.T) {
			if got := previousLine(tt.file, tt.key, tt.old); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzPlanV2 checks that planning never panics and that every planned
// write is one line of a plain file name.
func FuzzPlanV2(f *testing.F) {
	f.Add(int64(100), int64(200), int64(10), "2MB", "memory.high", "1G\n2G", "mlx4_0", uint16(500))
	f.Add(int64(-1), int64(0), int64(-1), "", "cgroup.max.depth", "", "", uint16(0))
	f.Fuzz(func(t *testing.T, mem, swap, pids int64, page, key, value, rdma string, weight uint16) {
		r := &configs.Resources{
			Memory: mem, MemorySwap: swap, PidsLimit: &pids, BlkioWeight: weight,
			HugetlbLimit: []*configs.HugepageLimit{{Pagesize: page}},
			Rdma:         map[string]configs.RdmaEntry{rdma: {HcaHandles: v2Ptr[uint32](1)}},
			Unified:      map[string]string{key: value},
		}
		ws, err := planV2(r)
		if err != nil {
			return
		}
		for _, w := range ws {
			if strings.ContainsAny(w.file, "/\n\x00") || w.file == "." || w.file == ".." {
				t.Fatalf("file %q", w.file)
			}
			if strings.Contains(w.value, "\n") {
				t.Fatalf("value %q of %s has a newline", w.value, w.file)
			}
		}
	})
}
