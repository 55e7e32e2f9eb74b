package cgroups

import (
	"math"
	"reflect"
	"testing"
)

func TestParseCgroupUint(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		bad  bool
	}{
		{in: "42\n", want: 42},
		{in: "max", want: math.MaxUint64},
		{in: "-1", want: 0},
		{in: "9223372036854771712", want: 9223372036854771712},
		{in: "", bad: true},
		{in: "12k", bad: true},
	} {
		got, err := parseCgroupUint(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseCgroupUint(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestParseFlatKeyed(t *testing.T) {
	got, err := parseFlatKeyed("cache 512\nrss 1024\n\nhierarchical_memory_limit 9223372036854771712\n")
	want := map[string]uint64{"cache": 512, "rss": 1024, "hierarchical_memory_limit": 9223372036854771712}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"rss rss", "a 1 2", "lonely"} {
		if _, err := parseFlatKeyed(bad); err == nil {
			t.Errorf("parseFlatKeyed(%q): no error", bad)
		}
	}
}

func TestParseCpuacct(t *testing.T) {
	k, u, err := parseCpuacctUsageAll("cpu user system\n0 100 20\n1 300 40\n")
	if err != nil || !reflect.DeepEqual(k, []uint64{20, 40}) || !reflect.DeepEqual(u, []uint64{100, 300}) {
		t.Errorf("usage_all: kernel %v user %v, %v", k, u, err)
	}
	if _, _, err := parseCpuacctUsageAll("cpu user system\n0 x 1\n"); err == nil {
		t.Error("usage_all with a bad number: no error")
	}
	user, sys, err := parseCpuacctStat("user 3\nsystem 5\n")
	if err != nil || user != 30_000_000 || sys != 50_000_000 {
		t.Errorf("cpuacct.stat: %d %d %v; want 30ms and 50ms in ns", user, sys, err)
	}
	if _, _, err := parseCpuacctStat("user 3\n"); err == nil {
		t.Error("cpuacct.stat without system: no error")
	}
	l, err := parseUintList("1 2 3 \n")
	if err != nil || !reflect.DeepEqual(l, []uint64{1, 2, 3}) {
		t.Errorf("usage_percpu: %v %v", l, err)
	}
}

func TestParseCpusetList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []uint16
		bad  bool
	}{
		{in: "", want: nil},
		{in: "0-3,7\n", want: []uint16{0, 1, 2, 3, 7}},
		{in: "5,1-2,2", want: []uint16{1, 2, 5}},
		{in: "3-1", bad: true},
		{in: "a", bad: true},
		{in: "0-", bad: true},
		{in: "70000", bad: true},
		{in: "65535", want: []uint16{65535}},
		{in: "0-65535,1", bad: true}, // more members than a list can name
	} {
		got, err := parseCpusetList(tc.in)
		if (err != nil) != tc.bad || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseCpusetList(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestParseBlkioStat(t *testing.T) {
	got, err := parseBlkioStat("8:0 Read 100\n8:0 Write 2\n254:16 7\nTotal 102\n")
	want := []BlkioStatEntry{
		{Major: 8, Minor: 0, Op: "Read", Value: 100},
		{Major: 8, Minor: 0, Op: "Write", Value: 2},
		{Major: 254, Minor: 16, Value: 7},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	if got, err := parseBlkioStat("Total 0\n"); err != nil || got != nil {
		t.Errorf("empty: %v %v", got, err)
	}
	for _, bad := range []string{"8-0 Read 1", "8:0 Read x", "8:0 a b c"} {
		if _, err := parseBlkioStat(bad); err == nil {
			t.Errorf("parseBlkioStat(%q): no error", bad)
		}
	}
}

func TestParseRdma(t *testing.T) {
	got, err := parseRdma("mlx4_0 hca_handle=2 hca_object=max\nrxe3 hca_object=10\n")
	want := []RdmaEntry{
		{Device: "mlx4_0", HcaHandles: 2, HcaObjects: math.MaxUint32},
		{Device: "rxe3", HcaObjects: 10},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	if _, err := parseRdma("mlx hca_handle"); err == nil {
		t.Error("no error for a key without value")
	}
}

func TestParsePressure(t *testing.T) {
	got, err := parsePressure("some avg10=1.50 avg60=0.20 avg300=0.00 total=1234\nfull avg10=0.10 avg60=0.00 avg300=0.00 total=56\n")
	want := &PSIStats{
		Some: PSIData{Avg10: 1.5, Avg60: 0.2, Total: 1234},
		Full: PSIData{Avg10: 0.1, Total: 56},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, %v; want %+v", got, err, want)
	}
	if _, err := parsePressure("some avg10=x"); err == nil {
		t.Error("no error for a bad number")
	}
}

func TestHugePageSizeName(t *testing.T) {
	for in, want := range map[string]string{
		"hugepages-2048kB":    "2MB",
		"hugepages-1048576kB": "1GB",
		"hugepages-64kB":      "64KB",
		"hugepages-32768kB":   "32MB",
		"hugepages-1536kB":    "1536KB",
	} {
		if got, err := hugePageSizeName(in); err != nil || got != want {
			t.Errorf("hugePageSizeName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"hugepages-", "hugepages-2MB", "other-2048kB", "hugepages-0kB"} {
		if _, err := hugePageSizeName(bad); err == nil {
			t.Errorf("hugePageSizeName(%q): no error", bad)
		}
	}
}
