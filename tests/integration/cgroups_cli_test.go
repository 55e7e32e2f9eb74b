package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The tests of the cgroup commands: pause, resume, update, events and ps.
// Cgroup manager features that are not implemented yet report
// errors.ErrUnsupported ("unsupported operation"); the tests that need them
// skip, saying so, and run once the managers have them.

// errUnsupported is errors.ErrUnsupported's text, the only trace it leaves
// in berth's output.
const errUnsupported = "unsupported operation"

// cgFile is one cgroup interface file, by its controller and its names on
// cgroup v1 and v2. The pseudo-file cpuMax reads as v2's cpu.max ("$QUOTA
// $PERIOD") on both.
type cgFile struct{ ctrl, v1, v2 string }

var (
	memLimit   = cgFile{"memory", "memory.limit_in_bytes", "memory.max"}
	memLow     = cgFile{"memory", "memory.soft_limit_in_bytes", "memory.low"}
	memSwap    = cgFile{"memory", "memory.memsw.limit_in_bytes", "memory.swap.max"}
	pidsMax    = cgFile{"pids", "pids.max", "pids.max"}
	cpuWeight  = cgFile{"cpu", "cpu.shares", "cpu.weight"}
	cpuMax     = cgFile{"cpu", "cpu.cfs_quota_us cpu.cfs_period_us", "cpu.max"}
	cpusetCpus = cgFile{"cpuset", "cpuset.cpus", "cpuset.cpus"}
	freezer    = cgFile{"freezer", "freezer.state", "cgroup.events"}
)

// v1Unlimited is what a v1 memory limit of -1 reads back as: the largest
// page-aligned value.
const v1Unlimited = "9223372036854771712"

// containerCgroup reads the cgroup files of one test container.
type containerCgroup struct {
	t  *testing.T
	id string
	v2 bool
	// v1 maps a v1 controller to its hierarchy's mount point.
	v1 map[string]string
}

func newContainerCgroup(t *testing.T, id string) *containerCgroup {
	t.Helper()
	c := &containerCgroup{t: t, id: id, v1: map[string]string{}}
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		c.v2 = true
		return c
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		pre, post, ok := strings.Cut(s.Text(), " - ")
		f, p := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(p) < 3 || p[0] != "cgroup" {
			continue
		}
		for opt := range strings.SplitSeq(p[2], ",") {
			if _, seen := c.v1[opt]; !seen {
				c.v1[opt] = f[4]
			}
		}
	}
	return c
}

// path returns the path of f's file (its first v1 file for cpuMax).
func (c *containerCgroup) path(f cgFile) string {
	if c.v2 {
		return filepath.Join("/sys/fs/cgroup", cgroupParent, c.id, f.v2)
	}
	mnt, ok := c.v1[f.ctrl]
	if !ok {
		c.t.Skipf("the %s cgroup controller is not mounted", f.ctrl)
	}
	return filepath.Join(mnt, cgroupParent, c.id, strings.Fields(f.v1)[0])
}

// read returns f's value, trimmed.
func (c *containerCgroup) read(f cgFile) string {
	c.t.Helper()
	if f == cpuMax && !c.v2 {
		dir := filepath.Dir(c.path(f))
		q, p := c.readPath(filepath.Join(dir, "cpu.cfs_quota_us")), c.readPath(filepath.Join(dir, "cpu.cfs_period_us"))
		if q == "-1" {
			q = "max"
		}
		return q + " " + p
	}
	return c.readPath(c.path(f))
}

func (c *containerCgroup) readPath(p string) string {
	c.t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		c.t.Fatalf("read cgroup file: %v", err)
	}
	return strings.TrimSpace(string(data))
}

// has reports whether f's file exists (memory.memsw.* needs swap
// accounting).
func (c *containerCgroup) has(f cgFile) bool {
	_, err := os.Stat(c.path(f))
	return err == nil
}

// want is an expected cgroup value on v1 and on v2; "" is not checked.
type want struct {
	f      cgFile
	v1, v2 string
}

func (c *containerCgroup) check(wants ...want) {
	c.t.Helper()
	for _, w := range wants {
		exp := w.v1
		if c.v2 {
			exp = w.v2
		}
		if exp == "" {
			continue
		}
		if got := c.read(w.f); got != exp {
			c.t.Errorf("%s = %q, want %q", c.path(w.f), got, exp)
		}
	}
}

// snapshot reads the files that the update tests change.
func (c *containerCgroup) snapshot() map[cgFile]string {
	c.t.Helper()
	m := map[cgFile]string{}
	for _, f := range []cgFile{memLimit, memLow, memSwap, pidsMax, cpuWeight, cpuMax, cpusetCpus} {
		if c.has(f) {
			m[f] = c.read(f)
		}
	}
	return m
}

// withLimits gives the bundle runc's update.bats starting limits.
func withLimits(b *bundle) {
	b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptr[int64](33554432), Reservation: ptr[int64](25165824)}
	b.Spec.Linux.Resources.CPU = &specs.LinuxCPU{Shares: ptr[uint64](100), Quota: ptr[int64](500000), Period: ptr[uint64](1000000)}
	b.Spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: ptr[int64](20)}
}

// berthIn runs berth with stdin and returns stdout, the log message of its
// error (stderr) and the exit status.
func berthIn(stdin string, args ...string) (string, string, int) {
	var in []byte
	if stdin != "" {
		in = []byte(stdin)
	}
	out, errOut, code := suite.runIn("", in, args...)
	return out, logMsg(strings.TrimSpace(errOut)), code
}

func TestPauseResume(t *testing.T) {
	b := newBundle(t)
	b.Spec.Root.Readonly = false
	// A counter the host can watch: it only moves while the shell runs.
	b.sh("i=0; while :; do i=$((i+1)); echo $i >/tmp/count; sleep 0.01; done")
	b.berth("run", "-d", b.id)
	cg := newContainerCgroup(t, b.id)
	count := filepath.Join(b.rootfs(), "tmp", "count")
	waitFile(t, count)

	b.berth("pause", b.id)
	if st := b.state()["status"]; st != "paused" {
		t.Fatalf("status after pause = %v, want paused", st)
	}
	if cg.v2 {
		if ev := cg.read(freezer); !strings.Contains(ev, "frozen 1") {
			t.Errorf("cgroup.events after pause: %q, want frozen 1", ev)
		}
	} else {
		cg.check(want{freezer, "FROZEN", ""})
	}
	// Frozen: the counter cannot move, however long we look.
	before, _ := readFile(count)
	for range 5 {
		sleep()
	}
	if after, _ := readFile(count); after != before {
		t.Errorf("counter moved while paused: %q, then %q", before, after)
	}

	if _, msg, code := berthIn("", "pause", b.id); code != 1 || !strings.Contains(msg, "container not running") {
		t.Errorf("pause of a paused container: exit %d, %q; want 1 and \"container not running\"", code, msg)
	}

	b.berth("resume", b.id)
	if st := b.state()["status"]; st != "running" {
		t.Fatalf("status after resume = %v, want running", st)
	}
	if _, msg, code := berthIn("", "resume", b.id); code != 1 || !strings.Contains(msg, "container not paused") {
		t.Errorf("resume of a running container: exit %d, %q; want 1 and \"container not paused\"", code, msg)
	}
	// Thawed: the counter moves again (a test-only wait).
	before, _ = readFile(count)
	for i := 0; ; i++ {
		if now, _ := readFile(count); now != before {
			break
		}
		if i == 200 {
			t.Fatal("counter did not move after resume")
		}
		sleep()
	}
}

func TestPauseResumeBadState(t *testing.T) {
	b := newBundle(t)
	b.sh("exit 0")
	b.berth("run", "--keep", b.id)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"pause", b.id}, "container not running"},
		{[]string{"resume", b.id}, "container not paused"},
		{[]string{"pause", "no-such-container"}, "container does not exist"},
		{[]string{"resume", "no-such-container"}, "container does not exist"},
		{[]string{"pause"}, "container id cannot be empty"},
		{[]string{"pause", b.id, "extra"}, "requires exactly 1 argument"},
	} {
		_, msg, code := berthIn("", tc.args...)
		if code != 1 || !strings.Contains(msg, tc.want) {
			t.Errorf("berth %s: exit %d, %q; want 1 and %q", strings.Join(tc.args, " "), code, msg, tc.want)
		}
	}
}

// TestUpdate follows runc's update.bats: each step changes some limits of a
// running container and checks the cgroup files; the steps run in order on
// one container.
func TestUpdate(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	withLimits(b)
	b.berth("run", "-d", b.id)
	cg := newContainerCgroup(t, b.id)
	unlimited := func(f cgFile) want { return want{f, v1Unlimited, "max"} }
	swapFile := cg.has(memSwap)
	jsonFile := filepath.Join(b.dir, "resources.json")
	initial := `{"memory":{"limit":33554432,"reservation":25165824},"cpu":{"shares":100,"quota":500000,"period":1000000,"cpus":"0"},"pids":{"limit":20}}`
	if err := os.WriteFile(jsonFile, []byte(initial), 0o644); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		args  []string
		stdin string
		swap  bool // needs swap accounting
		smp   bool // needs two CPUs
		wants []want
	}{
		{name: "initial", wants: []want{
			{memLimit, "33554432", "33554432"},
			{memLow, "25165824", "25165824"},
			{pidsMax, "20", "20"},
			{cpuMax, "500000 1000000", "500000 1000000"},
			{cpuWeight, "100", ""},
		}},
		{name: "cpuset", args: []string{"--cpuset-cpus", "1"}, smp: true, wants: []want{{cpusetCpus, "1", "1"}}},
		{name: "memory bytes", args: []string{"--memory", "67108864"}, wants: []want{{memLimit, "67108864", "67108864"}}},
		{name: "memory units", args: []string{"--memory", "50M"}, wants: []want{{memLimit, "52428800", "52428800"}}},
		{name: "reservation", args: []string{"--memory-reservation", "33554432"}, wants: []want{{memLow, "33554432", "33554432"}}},
		{name: "swap unlimited", args: []string{"--memory-swap", "-1"}, swap: true, wants: []want{unlimited(memSwap)}},
		{name: "memory and swap", args: []string{"--memory", "52428800", "--memory-swap", "96468992"}, swap: true, wants: []want{
			{memLimit, "52428800", "52428800"}, {memSwap, "96468992", strconv.Itoa(96468992 - 52428800)},
		}},
		{name: "memory unlimited", args: []string{"--memory", "-1"}, wants: []want{unlimited(memLimit), unlimited(memSwap)}},
		{name: "pids", args: []string{"--pids-limit", "10"}, wants: []want{{pidsMax, "10", "10"}}},
		{name: "pids unlimited", args: []string{"--pids-limit", "-1"}, wants: []want{{pidsMax, "max", "max"}}},
		// 0 is a real limit, written as 1 as runc does (systemd cannot set 0).
		{name: "pids zero", args: []string{"--pids-limit", "0"}, wants: []want{{pidsMax, "1", "1"}}},
		{name: "json on stdin", args: []string{"-r", "-"}, stdin: initial, wants: []want{
			{cpusetCpus, "0", "0"},
			{memLimit, "33554432", "33554432"},
			{memLow, "25165824", "25165824"},
			{pidsMax, "20", "20"},
			{cpuMax, "500000 1000000", "500000 1000000"},
			{cpuWeight, "100", ""},
		}},
		{name: "all at once", args: []string{
			"--cpu-period", "900000", "--cpu-quota", "600000", "--cpu-share", "200",
			"--memory", "67108864", "--memory-reservation", "33554432", "--pids-limit", "10",
		}, wants: []want{
			{cpuMax, "600000 900000", "600000 900000"},
			{cpuWeight, "200", ""},
			{memLimit, "67108864", "67108864"},
			{memLow, "33554432", "33554432"},
			{pidsMax, "10", "10"},
		}},
		{name: "json file", args: []string{"--resources", jsonFile}, wants: []want{
			{memLimit, "33554432", "33554432"},
			{memLow, "25165824", "25165824"},
			{pidsMax, "20", "20"},
			{cpuMax, "500000 1000000", "500000 1000000"},
			{cpuWeight, "100", ""},
		}},
		{name: "smaller memory and swap", args: []string{"--memory", "30M", "--memory-swap", "50M"}, swap: true, wants: []want{
			{memLimit, "31457280", "31457280"}, {memSwap, "52428800", "20971520"},
		}},
		{name: "memory above the old swap", args: []string{"--memory", "60M", "--memory-swap", "80M"}, swap: true, wants: []want{
			{memLimit, "62914560", "62914560"}, {memSwap, "83886080", "20971520"},
		}},
		{name: "quota unlimited", args: []string{"--cpu-quota", "-1"}, wants: []want{{cpuMax, "max 1000000", "max 1000000"}}},
		{name: "period alone", args: []string{"--cpu-period", "50000"}, wants: []want{{cpuMax, "max 50000", "max 50000"}}},
		{name: "shares", args: []string{"--cpu-share", "1024"}, wants: []want{{cpuWeight, "1024", "100"}}},
		{
			// Docker's update sends zero for the limits it does not change.
			name: "docker zeros", args: []string{"-r", "-"},
			stdin: `{"memory":{"limit":0,"reservation":0,"swap":0},"cpu":{"shares":0,"quota":0,"period":0,"cpus":"","mems":""},"blockIO":{"weight":0}}`,
			wants: []want{{cpuWeight, "1024", "100"}, {cpuMax, "max 50000", "max 50000"}, {pidsMax, "20", "20"}},
		},
	}
	for _, s := range steps {
		if t.Failed() {
			break // the steps build on each other
		}
		t.Run(s.name, func(t *testing.T) {
			cg := newContainerCgroup(t, b.id)
			if s.swap && !swapFile {
				t.Skip("no swap accounting (memory.memsw.limit_in_bytes)")
			}
			if s.smp && runtime.NumCPU() < 2 {
				t.Skip("needs two CPUs")
			}
			if s.args != nil {
				out, msg, code := berthIn(s.stdin, append(append([]string{"update"}, s.args...), b.id)...)
				if code != 0 {
					t.Fatalf("berth update %s: exit %d\nstdout: %s\nerror: %s", strings.Join(s.args, " "), code, out, msg)
				}
			}
			cg.check(s.wants...)
		})
	}
	if st := b.state()["status"]; st != "running" {
		t.Errorf("status after the updates = %v, want running", st)
	}
	// The last limits are saved: a later command loads them.
	res := savedResources(t, b.id)
	if res["cpu_shares"] != 1024.0 || res["pids_limit"] != 20.0 || res["cpu_period"] != 50000.0 {
		t.Errorf("saved resources %v, want cpu_shares 1024, pids_limit 20, cpu_period 50000", res)
	}
}

// savedResources reads the cgroup limits of the container's state.json.
func savedResources(t *testing.T, id string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(suite.root, id, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Config struct {
			Cgroups struct {
				Resources map[string]any `json:"resources"`
			} `json:"cgroups"`
		} `json:"config"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	return st.Config.Cgroups.Resources
}

func TestUpdatePaused(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	withLimits(b)
	b.berth("run", "-d", b.id)
	b.berth("pause", b.id)
	b.berth("update", "--pids-limit", "30", b.id)
	newContainerCgroup(t, b.id).check(want{pidsMax, "30", "30"})
	if st := b.state()["status"]; st != "paused" {
		t.Errorf("status after updating a paused container = %v, want paused", st)
	}
	b.berth("resume", b.id)
}

// TestUpdateBadInput checks that bad input is refused with a clear error,
// exit status 1, and the limits left as they were.
func TestUpdateBadInput(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	withLimits(b)
	b.berth("run", "-d", b.id)
	cg := newContainerCgroup(t, b.id)
	before := cg.snapshot()
	saved := savedResources(t, b.id)
	missing := filepath.Join(b.dir, "missing.json")
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  string
		id    string // b.id when empty
		skip  func() string
	}{
		{name: "negative pids", args: []string{"--pids-limit", "-5"}, want: "linux.resources.pids.limit: -5 is invalid"},
		{name: "malformed pids", args: []string{"--pids-limit", "ten"}, want: `invalid value for --pids-limit: "ten"`},
		{name: "negative memory", args: []string{"--memory", "-5M"}, want: "invalid value for --memory"},
		{name: "malformed memory", args: []string{"--memory", "12x"}, want: "invalid value for --memory"},
		{name: "swap below memory", args: []string{"--memory-swap", "10M"}, want: "linux.resources.memory.swap"},
		{name: "negative reservation", args: []string{"-r", "-"}, stdin: `{"memory":{"reservation":-3}}`, want: "linux.resources.memory.reservation"},
		{name: "negative shares", args: []string{"--cpu-share", "-1"}, want: "invalid value for --cpu-share"},
		{name: "tiny quota", args: []string{"--cpu-quota", "10"}, want: "linux.resources.cpu.quota"},
		{name: "huge period", args: []string{"--cpu-period", "5000000"}, want: "linux.resources.cpu.period"},
		{name: "malformed period", args: []string{"--cpu-period", "1.5"}, want: "invalid value for --cpu-period"},
		{name: "idle", args: []string{"--cpu-idle", "3"}, want: "linux.resources.cpu.idle"},
		{name: "cpuset outside the host", args: []string{"--cpuset-cpus", strconv.Itoa(runtime.NumCPU() + 64)}, want: "linux.resources.cpu.cpus"},
		{name: "malformed cpuset", args: []string{"--cpuset-cpus", "0-"}, want: "linux.resources.cpu.cpus"},
		{name: "mems outside the host", args: []string{"--cpuset-mems", "4000"}, want: "linux.resources.cpu.mems"},
		{name: "blkio weight", args: []string{"--blkio-weight", "5"}, want: "linux.resources.blockIO.weight"},
		{name: "unknown flag", args: []string{"--memroy", "10M"}, want: "flag provided but not defined: -memroy"},
		{name: "l3 cache schema", args: []string{"--l3-cache-schema", "L3:0=f"}, want: "l3 cache schema is not enabled", skip: resctrlHas("L3")},
		{name: "memory bandwidth schema", args: []string{"--mem-bw-schema", "MB:0=50"}, want: "memory bandwidth schema is not enabled", skip: resctrlHas("MB")},
		{name: "malformed json", args: []string{"-r", "-"}, stdin: `{"memory":{"limit":`, want: "--resources: decode linux.resources"},
		{name: "json type", args: []string{"-r", "-"}, stdin: `{"cpu":{"shares":-1}}`, want: "shares"},
		{name: "json negative memory", args: []string{"-r", "-"}, stdin: `{"memory":{"limit":-3}}`, want: "linux.resources.memory.limit"},
		{name: "json file missing", args: []string{"-r", missing}, want: "--resources: open " + missing},
		{name: "unified on v1", args: []string{"-r", "-"}, stdin: `{"unified":{"pids.max":"3"}}`, want: "linux.resources.unified", skip: func() string {
			if cg.v2 {
				return "cgroup v2 takes unified limits"
			}
			return ""
		}},
		{name: "no such container", args: []string{"--pids-limit", "3"}, id: "no-such-container", want: "container does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip != nil {
				if why := tc.skip(); why != "" {
					t.Skip(why)
				}
			}
			id := tc.id
			if id == "" {
				id = b.id
			}
			_, msg, code := berthIn(tc.stdin, append(append([]string{"update"}, tc.args...), id)...)
			if code != 1 {
				t.Errorf("exit %d, want 1 (error %q)", code, msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not mention %q", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if after := cg.snapshot(); !mapsEqual(after, before) {
				t.Errorf("limits changed by a refused update:\n%v\nwere\n%v", after, before)
			}
			if after := savedResources(t, b.id); !jsonEqual(after, saved) {
				t.Errorf("saved limits changed by a refused update:\n%v\nwere\n%v", after, saved)
			}
		})
	}
}

// TestUpdateRefusedByKernel checks that an update the cgroup refuses half
// way leaves the earlier limits of the same update undone, back to the
// limits saved by the previous update.
func TestUpdateRefusedByKernel(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	withLimits(b)
	b.berth("run", "-d", b.id)
	cg := newContainerCgroup(t, b.id)
	b.berth("update", "--cpu-share", "200", b.id)
	before := cg.snapshot()

	cases := []struct {
		name, stdin, want string
		args              []string
		v1Only            string
	}{
		{
			// memory.limit_in_bytes below the usage: the kernel cannot
			// reclaim it all and returns EBUSY, after cpu.shares was
			// written. On v2 the kernel takes any memory.max and
			// OOM-kills instead.
			name: "memory below usage", args: []string{"--cpu-share", "500", "--memory", "1"},
			want: "memory", v1Only: "cgroup v2 accepts any memory.max (and OOM-kills)",
		},
		{
			name: "check before update", args: []string{"-r", "-"},
			stdin: `{"cpu":{"shares":500},"memory":{"limit":4096,"checkBeforeUpdate":true}}`,
			want:  "memory",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.v1Only != "" && cg.v2 {
				t.Skip(tc.v1Only)
			}
			_, msg, code := berthIn(tc.stdin, append(append([]string{"update"}, tc.args...), b.id)...)
			if code != 1 || !strings.Contains(msg, tc.want) {
				t.Errorf("exit %d, error %q; want 1 and an error about %s (the cgroup manager must refuse a memory limit below the usage when asked to check it)", code, msg, tc.want)
			}
			if after := cg.snapshot(); !mapsEqual(after, before) {
				t.Errorf("limits after a refused update:\n%v\nwant the previous\n%v", after, before)
			}
			if st := b.state()["status"]; st != "running" {
				t.Errorf("status after a refused update = %v, want running", st)
			}
		})
	}
}

func TestUpdateStopped(t *testing.T) {
	b := newBundle(t)
	b.sh("exit 0")
	b.berth("run", "--keep", b.id)
	if _, msg, code := berthIn("", "update", "--pids-limit", "3", b.id); code != 1 || !strings.Contains(msg, "container not running") {
		t.Errorf("update of a stopped container: exit %d, %q; want 1 and \"container not running\"", code, msg)
	}
}

func mapsEqual(a, b map[cgFile]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// resctrlHas returns a skip function: it names why a test of a missing
// Intel RDT resource cannot run on a host that has it.
func resctrlHas(resource string) func() string {
	return func() string {
		if _, err := os.Stat("/sys/fs/resctrl/info/" + resource); err == nil {
			return "this host has Intel RDT " + resource
		}
		return ""
	}
}

// skipUnsupported skips a test whose berth command failed because the
// cgroup manager does not implement what it needs yet.
func skipUnsupported(t *testing.T, what, msg string) {
	t.Helper()
	if strings.Contains(msg, errUnsupported) {
		t.Skipf("%s: the cgroup manager does not implement it yet (errors.ErrUnsupported): %s", what, msg)
	}
}

func TestEventsStats(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	withLimits(b)
	b.berth("run", "-d", b.id)
	out, msg, code := berthIn("", "events", "--stats", b.id)
	if code != 0 {
		skipUnsupported(t, "cgroup stats", msg)
		t.Fatalf("events --stats: exit %d: %s", code, msg)
	}
	if n := strings.Count(out, "\n"); n != 1 {
		t.Fatalf("events --stats printed %d lines, want 1:\n%s", n, out)
	}
	if prefix := `{"type":"stats","id":"` + b.id + `","data":{`; !strings.HasPrefix(out, prefix) {
		t.Errorf("events --stats line %q does not start with %q", out, prefix)
	}
	var e struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Data struct {
			CPU struct {
				Usage struct {
					Total uint64 `json:"total"`
				} `json:"usage"`
				Throttling map[string]uint64 `json:"throttling"`
			} `json:"cpu"`
			Memory struct {
				Usage struct {
					Limit uint64  `json:"limit"`
					Usage uint64  `json:"usage"`
					Fail  *uint64 `json:"failcnt"`
				} `json:"usage"`
				Raw map[string]uint64 `json:"raw"`
			} `json:"memory"`
			Pids struct {
				Current uint64 `json:"current"`
				Limit   uint64 `json:"limit"`
			} `json:"pids"`
			Blkio   map[string]any `json:"blkio"`
			Hugetlb map[string]any `json:"hugetlb"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatalf("events --stats output %q: %v", out, err)
	}
	d := &e.Data
	if d.CPU.Usage.Total == 0 {
		t.Errorf("cpu.usage.total = 0: the container has run (%s)", out)
	}
	if d.Memory.Usage.Limit != 33554432 || d.Memory.Usage.Usage == 0 || d.Memory.Usage.Fail == nil {
		t.Errorf("memory.usage = %+v, want limit 33554432, a usage and a failcnt (%s)", d.Memory.Usage, out)
	}
	if len(d.Memory.Raw) == 0 {
		t.Errorf("memory.raw is empty (%s)", out)
	}
	if d.Pids.Current != 1 || d.Pids.Limit != 20 {
		t.Errorf("pids = %+v, want current 1 and limit 20 (%s)", d.Pids, out)
	}
	if d.Blkio == nil || d.Hugetlb == nil || d.CPU.Throttling == nil {
		t.Errorf("blkio, hugetlb or cpu.throttling missing (%s)", out)
	}
}

func TestEventsBadInput(t *testing.T) {
	b := newBundle(t)
	b.sh("exit 0")
	b.berth("run", "--keep", b.id)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"events", "--stats", b.id}, "container with id " + b.id + " is not running"},
		{[]string{"events", "--interval", "0s", b.id}, "--interval: duration interval must be greater than 0"},
		{[]string{"events", "--interval", "soon", b.id}, "soon"},
		{[]string{"events", "no-such-container"}, "container does not exist"},
	} {
		_, msg, code := berthIn("", tc.args...)
		if code != 1 || !strings.Contains(msg, tc.want) {
			t.Errorf("berth %s: exit %d, %q; want 1 and %q", strings.Join(tc.args, " "), code, msg, tc.want)
		}
	}
}

// eventsWatch is a running `berth events`.
type eventsWatch struct {
	cmd            *exec.Cmd
	stdout, stderr *os.File
	done           chan error
}

func startEvents(t *testing.T, args ...string) *eventsWatch {
	t.Helper()
	w := &eventsWatch{stdout: tempFile(), stderr: tempFile(), done: make(chan error, 1)}
	w.cmd = exec.Command(suite.berth, append([]string{"--root", suite.root, "events"}, args...)...)
	w.cmd.Stdout, w.cmd.Stderr = w.stdout, w.stderr
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- w.cmd.Wait() }()
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		<-w.done
		w.stdout.Close()
		w.stderr.Close()
	})
	return w
}

// waitFor polls (a test-only loop) until ok holds of berth events' stdout
// and stderr, or berth events exits; it reports whether ok held.
func (w *eventsWatch) waitFor(ok func(stdout, stderr string) bool) bool {
	for range 400 {
		if ok(readBack(w.stdout), readBack(w.stderr)) {
			return true
		}
		select {
		case err := <-w.done:
			w.done <- err
			return ok(readBack(w.stdout), readBack(w.stderr))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false
}

// wait waits for berth events to exit and returns its exit status.
func (w *eventsWatch) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-w.done:
		w.done <- err
		if err != nil {
			t.Logf("berth events: %v\nstderr: %s", err, readBack(w.stderr))
			return w.cmd.ProcessState.ExitCode()
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("berth events did not exit once the container was deleted\nstdout: %s\nstderr: %s", readBack(w.stdout), readBack(w.stderr))
		return -1
	}
}

func TestEventsInterval(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	b.berth("run", "-d", b.id)
	w := startEvents(t, "--interval", "100ms", b.id)
	prefix := `{"type":"stats","id":"` + b.id + `","data":{`
	// A failed stats read is logged and the watch goes on.
	got := w.waitFor(func(out, errOut string) bool {
		return strings.HasPrefix(out, prefix) || strings.Contains(errOut, "cgroup stats")
	})
	if !got {
		t.Fatalf("no stats event\nstdout: %s\nstderr: %s", readBack(w.stdout), readBack(w.stderr))
	}
	if out := readBack(w.stdout); !strings.HasPrefix(out, prefix) {
		skipUnsupported(t, "cgroup stats", readBack(w.stderr))
		t.Fatalf("first event %q does not start with %q", out, prefix)
	}
	// Deleting the container ends the watch.
	b.berth("delete", "--force", b.id)
	if code := w.wait(t); code != 0 {
		t.Errorf("berth events exited %d after the container was deleted, want 0", code)
	}
	for l := range strings.SplitSeq(strings.TrimSpace(readBack(w.stdout)), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil || e["type"] != "stats" || e["id"] != b.id {
			t.Errorf("event line %q: want a stats event of %s (%v)", l, b.id, err)
		}
	}
}

func TestEventsOOM(t *testing.T) {
	b := newBundle(t)
	b.Spec.Root.Readonly = false // for the shell's go-ahead
	limit := int64(32 << 20)
	b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptr(limit)}
	cg := newContainerCgroup(t, b.id)
	if !cg.v2 {
		if _, err := os.Stat(filepath.Join(cg.v1["memory"], "memory.memsw.limit_in_bytes")); err == nil {
			// No swapping out of the OOM either.
			b.Spec.Linux.Resources.Memory.Swap = ptr(limit)
		}
	} else {
		b.Spec.Linux.Resources.Memory.Swap = ptr(limit)
	}
	// The shell waits for the go-ahead, then fills a variable with far more
	// than the limit.
	b.sh(`while [ ! -e /tmp/go ]; do sleep 0.05; done; x=$(dd if=/dev/urandom bs=1M count=256 2>/dev/null); sleep 1000`)
	b.berth("run", "-d", b.id)
	w := startEvents(t, "--interval", "100ms", b.id)
	// The watch is ready once it reports anything: it asks for OOM events
	// before its first stats tick.
	if !w.waitFor(func(out, errOut string) bool { return out != "" || strings.Contains(errOut, "level=") }) {
		t.Fatalf("berth events reported nothing\nstderr: %s", readBack(w.stderr))
	}
	if errOut := readBack(w.stderr); strings.Contains(errOut, "OOM events are not reported") {
		skipUnsupported(t, "OOM events", errOut)
		t.Fatalf("berth events: %s", errOut)
	}
	if err := os.WriteFile(filepath.Join(b.rootfs(), "tmp", "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	oom := fmt.Sprintf(`{"type":"oom","id":%q}`, b.id)
	if !w.waitFor(func(out, _ string) bool { return strings.Contains(out, oom+"\n") }) {
		t.Fatalf("no OOM event %s\nstdout: %s\nstderr: %s", oom, readBack(w.stdout), readBack(w.stderr))
	}
	b.berth("delete", "--force", b.id)
	if code := w.wait(t); code != 0 {
		t.Errorf("berth events exited %d after the container was deleted, want 0", code)
	}
}

func TestPs(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	b.berth("run", "-d", b.id)
	pid := b.containerPid()

	out := b.berth("ps", "-f", "json", b.id)
	var pids []int
	if err := json.Unmarshal([]byte(out), &pids); err != nil {
		t.Fatalf("ps -f json output %q: %v", out, err)
	}
	if !slices.Equal(pids, []int{pid}) {
		t.Errorf("ps -f json = %v, want [%d]", pids, pid)
	}

	psPath, err := exec.LookPath("ps")
	if err != nil {
		t.Skip("no ps on the host (procps)")
	}
	// procps takes -ef (the default) and -e -x; busybox's ps ignores
	// -ef and refuses -x.
	version, _ := exec.Command(psPath, "--version").CombinedOutput()
	procps := strings.Contains(string(version), "procps")
	for _, tc := range []struct {
		name   string
		args   []string
		header []string // the header's fields with procps
		cmd    string   // in the container's line
		procps bool     // needs procps
	}{
		{"default", nil, []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}, "sleep 1000", false},
		{"ps args", []string{"-o", "pid,comm"}, []string{"PID", "COMMAND"}, "sleep", false},
		{"ps flags", []string{"-e", "-x"}, []string{"PID", "TTY", "STAT", "TIME", "COMMAND"}, "sleep 1000", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.procps && !procps {
				t.Skipf("ps is not procps's (%s)", psPath)
			}
			out := b.berth(append([]string{"ps", b.id}, tc.args...)...)
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("ps printed %d lines, want the header and the container's process:\n%s", len(lines), out)
			}
			h := strings.Fields(lines[0])
			if procps && !slices.Equal(h, tc.header) {
				t.Errorf("header %q, want the fields %q", lines[0], tc.header)
			}
			f, col := strings.Fields(lines[1]), slices.Index(h, "PID")
			if col < 0 || len(f) <= col || f[col] != strconv.Itoa(pid) || !strings.Contains(lines[1], tc.cmd) {
				t.Errorf("ps printed\n%s\nwant pid %d in the PID column and %q", out, pid, tc.cmd)
			}
		})
	}

	// Once the container has stopped, ps prints the header alone.
	b.berth("kill", b.id, "KILL")
	waitStatus(t, b, "stopped")
	out = b.berth("ps", b.id)
	if lines := strings.Split(strings.TrimRight(out, "\n"), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "PID") {
		t.Errorf("ps of a stopped container printed %q, want the header alone", out)
	}
	if out := b.berth("ps", "--format", "json", b.id); strings.TrimSpace(out) != "[]" {
		t.Errorf("ps -f json of a stopped container printed %q, want []", out)
	}
}

func TestPsBadInput(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	b.berth("run", "-d", b.id)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ps", "-f", "yaml", b.id}, "--format: invalid format option"},
		{[]string{"ps", "no-such-container"}, "container does not exist"},
		{[]string{"ps"}, "container id cannot be empty"},
		{[]string{"ps", b.id, "-o", "comm"}, "no PID column"},
		{[]string{"ps", b.id, "--no-such-ps-option"}, "ps --no-such-ps-option"},
	} {
		_, msg, code := berthIn("", tc.args...)
		if code != 1 || !strings.Contains(msg, tc.want) {
			t.Errorf("berth %s: exit %d, %q; want 1 and %q", strings.Join(tc.args, " "), code, msg, tc.want)
		}
	}
}
