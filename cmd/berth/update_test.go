package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berthrt/berth/libcontainer/configs"
)

func TestParseRAMInBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "0", want: 0},
		{in: "4096", want: 4096},
		{in: "512b", want: 512},
		{in: "100k", want: 100 << 10},
		{in: "50M", want: 50 << 20},
		{in: "50MB", want: 50 << 20},
		{in: "50MiB", want: 50 << 20},
		{in: "50 mib", want: 50 << 20},
		{in: "1.5g", want: 3 << 29},
		{in: "2T", want: 2 << 40},
		{in: "1P", want: 1 << 50},
		{in: "", bad: true},
		{in: "-1", bad: true}, // -1 is handled before, as runc does
		{in: "-5M", bad: true},
		{in: "M", bad: true},
		{in: ".5M", bad: true},
		{in: "1.2.3", bad: true},
		{in: "12x", bad: true},
		{in: "10MBs", bad: true},
		{in: "10  M", bad: true},
		{in: "1e3", bad: true},
		{in: "8192P", bad: true}, // 2^63 bytes
	} {
		got, err := parseRAMInBytes(tc.in)
		switch {
		case tc.bad && err == nil:
			t.Errorf("parseRAMInBytes(%q) = %d, want an error", tc.in, got)
		case !tc.bad && err != nil:
			t.Errorf("parseRAMInBytes(%q): %v", tc.in, err)
		case !tc.bad && got != tc.want:
			t.Errorf("parseRAMInBytes(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func decodeResources(t *testing.T, s string) *specs.LinuxResources {
	t.Helper()
	r, err := readResources("-", strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMergeResources(t *testing.T) {
	cur := configs.Resources{
		Memory: 64 << 20, MemorySwap: 128 << 20, MemoryReservation: 32 << 20,
		CPUShares: 100, CPUQuota: 50000, CPUPeriod: 100000, CpusetCpus: "0",
		PidsLimit:                  ptr[int64](20),
		BlkioWeight:                300,
		BlkioWeightDevice:          []*configs.WeightDevice{{Major: 8, Minor: 0, Weight: 100, LeafWeight: 50}},
		BlkioThrottleReadBpsDevice: []*configs.ThrottleDevice{{Major: 8, Minor: 0, Rate: 1000}},
		Unified:                    map[string]string{"memory.high": "1G"},
		Devices:                    []*configs.DeviceRule{{Type: configs.CharDevice, Major: 1, Minor: 3, Permissions: "rwm", Allow: true}},
	}
	snapshot := func(r configs.Resources) string {
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	before := snapshot(cur)
	log := slog.New(slog.DiscardHandler)

	for _, tc := range []struct {
		name   string
		in     string
		change func(r *configs.Resources)
	}{
		{name: "nothing", in: `{}`, change: func(*configs.Resources) {}},
		{
			// Docker's update sends every limit, zero for those it does not change.
			name: "docker zeros", in: `{"memory":{"limit":0,"reservation":0,"swap":0},"cpu":{"shares":0,"quota":0,"period":0,"cpus":"","mems":""},"blockIO":{"weight":0}}`,
			change: func(*configs.Resources) {},
		},
		{
			name: "every cpu limit", in: `{"cpu":{"shares":200,"quota":-1,"period":900000,"burst":0,"realtimeRuntime":500,"realtimePeriod":1000,"cpus":"1","mems":"0","idle":1}}`,
			change: func(r *configs.Resources) {
				r.CPUShares, r.CPUQuota, r.CPUPeriod, r.CPUBurst = 200, -1, 900000, ptr[uint64](0)
				r.CPURtRuntime, r.CPURtPeriod, r.CpusetCpus, r.CpusetMems, r.CPUIdle = 500, 1000, "1", "0", ptr[int64](1)
			},
		},
		{
			name: "memory unlimited clears swap", in: `{"memory":{"limit":-1}}`,
			change: func(r *configs.Resources) { r.Memory, r.MemorySwap = -1, 0 },
		},
		{
			name: "memory and swap", in: `{"memory":{"limit":-1,"swap":-1,"reservation":1024,"checkBeforeUpdate":true}}`,
			change: func(r *configs.Resources) {
				r.Memory, r.MemorySwap, r.MemoryReservation, r.MemoryCheckBeforeUpdate = -1, -1, 1024, true
			},
		},
		{
			name: "pids zero is a limit", in: `{"pids":{"limit":0}}`,
			change: func(r *configs.Resources) { r.PidsLimit = ptr[int64](0) },
		},
		{
			name: "block io devices", in: `{"blockIO":{"weight":500,"leafWeight":200,
				"weightDevice":[{"major":8,"minor":0,"weight":700},{"major":8,"minor":16,"leafWeight":20}],
				"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":5000}],
				"throttleWriteIOPSDevice":[{"major":8,"minor":0,"rate":10}]}}`,
			change: func(r *configs.Resources) {
				r.BlkioWeight, r.BlkioLeafWeight = 500, 200
				r.BlkioWeightDevice = []*configs.WeightDevice{{Major: 8, Minor: 0, Weight: 700, LeafWeight: 50}, {Major: 8, Minor: 16, LeafWeight: 20}}
				r.BlkioThrottleReadBpsDevice = []*configs.ThrottleDevice{{Major: 8, Minor: 0, Rate: 5000}}
				r.BlkioThrottleWriteIOPSDevice = []*configs.ThrottleDevice{{Major: 8, Minor: 0, Rate: 10}}
			},
		},
		{
			name: "unified keys merge", in: `{"unified":{"pids.max":"10"}}`,
			change: func(r *configs.Resources) { r.Unified = map[string]string{"memory.high": "1G", "pids.max": "10"} },
		},
		{
			name: "ignored parts", in: `{"devices":[{"allow":true,"access":"rwm"}],"memory":{"swappiness":10,"kernel":1},"hugepageLimits":[{"pageSize":"2MB","limit":0}],"network":{"classID":1}}`,
			change: func(*configs.Resources) {},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want configs.Resources
			if err := json.Unmarshal([]byte(before), &want); err != nil {
				t.Fatal(err)
			}
			tc.change(&want)
			got := mergeResources(cur, decodeResources(t, tc.in), log)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("mergeResources =\n%s\nwant\n%s", snapshot(got), snapshot(want))
			}
			if after := snapshot(cur); after != before {
				t.Errorf("mergeResources modified its input:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

func TestMergeResourcesCheckBeforeUpdateIsPerUpdate(t *testing.T) {
	cur := configs.Resources{Memory: 1 << 20, MemoryCheckBeforeUpdate: true}
	got := mergeResources(cur, decodeResources(t, `{"pids":{"limit":3}}`), slog.New(slog.DiscardHandler))
	if got.MemoryCheckBeforeUpdate {
		t.Error("a saved checkBeforeUpdate applied to a later update")
	}
}

func TestReadResourcesBadInput(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"memory":{"limit":`, "unexpected EOF"},
		{`{"cpu":{"shares":-1}}`, "shares"},
		{`{"pids":{"limit":"ten"}}`, "limit"},
		{`[]`, "cannot unmarshal array"},
	} {
		_, err := readResources("-", bytes.NewBufferString(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "--resources: ") {
			t.Errorf("readResources(%s): %v, want an error about %q", tc.in, err, tc.want)
		}
	}
}
