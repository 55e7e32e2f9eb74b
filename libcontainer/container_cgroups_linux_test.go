package libcontainer

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/berthrt/berth/libcontainer/configs"
)

func TestValidateResources(t *testing.T) {
	v1 := resourceFacts{onlineCPUs: "0-3", onlineMems: "0"}
	for _, tc := range []struct {
		name  string
		r     configs.Resources
		host  *resourceFacts // v1 when nil
		field string         // "" when r is valid
		msg   string
	}{
		{name: "empty"},
		{name: "limits", r: configs.Resources{
			Memory: 1 << 30, MemorySwap: 2 << 30, MemoryReservation: 1 << 29, MemorySwappiness: ptrTo[uint64](60),
			CPUShares: 512, CPUQuota: 50000, CPUPeriod: 100000, CPURtRuntime: 1000, CPURtPeriod: 10000, CPUIdle: ptrTo[int64](1),
			CpusetCpus: "0-1,3", CpusetMems: "0", PidsLimit: ptrTo[int64](0), BlkioWeight: 500,
		}},
		{name: "unlimited", r: configs.Resources{Memory: -1, MemorySwap: -1, MemoryReservation: -1, CPUQuota: -1, CPURtRuntime: -1, PidsLimit: ptrTo[int64](-1)}},
		{name: "memory below -1", r: configs.Resources{Memory: -2}, field: "linux.resources.memory.limit", msg: "-2 is invalid"},
		{name: "reservation below -1", r: configs.Resources{MemoryReservation: -5}, field: "linux.resources.memory.reservation"},
		{name: "swap below -1", r: configs.Resources{Memory: 100, MemorySwap: -3}, field: "linux.resources.memory.swap"},
		{name: "swap below memory", r: configs.Resources{Memory: 200, MemorySwap: 100}, field: "linux.resources.memory.swap", msg: "should be >="},
		{name: "swap without memory", r: configs.Resources{MemorySwap: 100}, field: "linux.resources.memory.swap", msg: "without memory limit"},
		{name: "swappiness", r: configs.Resources{MemorySwappiness: ptrTo[uint64](101)}, field: "linux.resources.memory.swappiness"},
		{name: "quota below -1", r: configs.Resources{CPUQuota: -7}, field: "linux.resources.cpu.quota"},
		{name: "quota under 1ms", r: configs.Resources{CPUQuota: 999}, field: "linux.resources.cpu.quota", msg: "at least 1000"},
		{name: "period under 1ms", r: configs.Resources{CPUPeriod: 999}, field: "linux.resources.cpu.period"},
		{name: "period over 1s", r: configs.Resources{CPUPeriod: 1000001}, field: "linux.resources.cpu.period"},
		{name: "rt runtime below -1", r: configs.Resources{CPURtRuntime: -2}, field: "linux.resources.cpu.realtimeRuntime"},
		{name: "rt runtime above period", r: configs.Resources{CPURtRuntime: 2000, CPURtPeriod: 1000}, field: "linux.resources.cpu.realtimeRuntime", msg: "above"},
		{name: "idle", r: configs.Resources{CPUIdle: ptrTo[int64](2)}, field: "linux.resources.cpu.idle"},
		{name: "cpus malformed", r: configs.Resources{CpusetCpus: "0-"}, field: "linux.resources.cpu.cpus"},
		{name: "cpus reversed", r: configs.Resources{CpusetCpus: "3-1"}, field: "linux.resources.cpu.cpus", msg: "ends before"},
		{name: "cpus words", r: configs.Resources{CpusetCpus: "all"}, field: "linux.resources.cpu.cpus"},
		{name: "cpus offline", r: configs.Resources{CpusetCpus: "2-4"}, field: "linux.resources.cpu.cpus", msg: "CPU 4 is not online (online: 0-3)"},
		{name: "cpus huge", r: configs.Resources{CpusetCpus: "0-4294967295"}, field: "linux.resources.cpu.cpus"},
		{name: "cpus stride", r: configs.Resources{CpusetCpus: "0-3:1/2"}},
		{name: "cpus stride offline", r: configs.Resources{CpusetCpus: "0-7:1/2"}, field: "linux.resources.cpu.cpus", msg: "CPU 4 is not online"},
		{name: "cpus unknown host", r: configs.Resources{CpusetCpus: "63"}, host: &resourceFacts{}},
		{name: "mems offline", r: configs.Resources{CpusetMems: "1"}, field: "linux.resources.cpu.mems", msg: "memory node 1 is not online"},
		{name: "pids below -1", r: configs.Resources{PidsLimit: ptrTo[int64](-5)}, field: "linux.resources.pids.limit", msg: "-5 is invalid"},
		{name: "blkio weight low", r: configs.Resources{BlkioWeight: 5}, field: "linux.resources.blockIO.weight", msg: "out of range [10, 1000]"},
		{name: "blkio weight high", r: configs.Resources{BlkioWeight: 1001}, field: "linux.resources.blockIO.weight"},
		{name: "blkio leaf weight", r: configs.Resources{BlkioLeafWeight: 1}, field: "linux.resources.blockIO.leafWeight"},
		{name: "blkio device weight", r: configs.Resources{BlkioWeightDevice: []*configs.WeightDevice{{Major: 8, Weight: 100}, {Major: 8, Minor: 16, LeafWeight: 2000}}}, field: "linux.resources.blockIO.weightDevice[1].leafWeight"},
		{name: "unified on v1", r: configs.Resources{Unified: map[string]string{"pids.max": "1"}}, field: "linux.resources.unified", msg: "cgroup v2 is not enabled"},
		{name: "unified on v2", r: configs.Resources{Unified: map[string]string{"pids.max": "1"}}, host: &resourceFacts{cgroupV2: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := v1
			if tc.host != nil {
				host = *tc.host
			}
			err := validateResources(&tc.r, host)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("validateResources: %v", err)
				}
				return
			}
			var fe *configs.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("validateResources: %v, want a *configs.FieldError for %s", err, tc.field)
			}
			if fe.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", fe.Field, tc.field, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

func TestRollbackResources(t *testing.T) {
	old := &configs.Resources{
		Memory:    100 << 20,
		CPUShares: 256,
		PidsLimit: ptrTo[int64](20),
		Devices:   []*configs.DeviceRule{{Type: configs.CharDevice, Major: 1, Minor: 3, Permissions: "rwm", Allow: true}},
	}
	failed := &configs.Resources{
		Memory: 50 << 20, MemorySwap: 80 << 20, MemoryCheckBeforeUpdate: true,
		CPUShares: 512, CPUQuota: 20000, CPUPeriod: 50000, CPUBurst: ptrTo[uint64](1000), CPUIdle: ptrTo[int64](1),
		PidsLimit: ptrTo[int64](5), CpusetCpus: "1", SkipDevices: true,
	}
	got := rollbackResources(old, failed)
	want := &configs.Resources{
		Memory:     100 << 20,
		MemorySwap: -1, // kernel default: unlimited
		CPUShares:  256,
		CPUQuota:   -1,
		CPUPeriod:  100000,
		CPUBurst:   ptrTo[uint64](0),
		CPUIdle:    ptrTo[int64](0),
		PidsLimit:  ptrTo[int64](20),
		Devices:    old.Devices,
		// failed did not write the device rules: neither does the rollback.
		SkipDevices: true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rollbackResources =\n%+v\nwant\n%+v", got, want)
	}
	if old.MemorySwap != 0 || old.CPUBurst != nil || *old.PidsLimit != 20 {
		t.Errorf("rollbackResources modified old: %+v", old)
	}

	got = rollbackResources(&configs.Resources{}, &configs.Resources{Memory: 1, PidsLimit: ptrTo[int64](0), CPUShares: 2})
	want = &configs.Resources{Memory: -1, PidsLimit: ptrTo[int64](-1), CPUShares: 1024}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rollbackResources from no limits =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseKernelList(t *testing.T) {
	for _, tc := range []struct {
		in     string
		member []uint64
		not    []uint64
		bad    bool
	}{
		{in: "0", member: []uint64{0}, not: []uint64{1}},
		{in: "0-2,5\n", member: []uint64{0, 1, 2, 5}, not: []uint64{3, 4, 6}},
		{in: "0-9:2/5", member: []uint64{0, 1, 5, 6}, not: []uint64{2, 4, 7, 10}},
		{in: "", bad: true},
		{in: "1,", bad: true},
		{in: "-1", bad: true},
		{in: "a-b", bad: true},
		{in: "5-1", bad: true},
		{in: "3:1/2", bad: true},
		{in: "0-3:3/2", bad: true},
		{in: "0-3:0/2", bad: true},
		{in: "99999999", bad: true},
	} {
		l, err := parseKernelList(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("parseKernelList(%q) = %v, want an error", tc.in, l)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseKernelList(%q): %v", tc.in, err)
			continue
		}
		for _, n := range tc.member {
			if !l.contains(n) {
				t.Errorf("parseKernelList(%q) lacks %d", tc.in, n)
			}
		}
		for _, n := range tc.not {
			if l.contains(n) {
				t.Errorf("parseKernelList(%q) has %d", tc.in, n)
			}
		}
	}
}
