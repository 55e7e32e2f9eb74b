package specconv

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

func ptr[T any](v T) *T { return &v }

// bundle makes a bundle directory with an empty rootfs and chdirs into it,
// as the CLI does before CreateConfig. It returns the bundle path.
func bundle(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	return dir
}

// minimalSpec returns a spec with only a root.
func minimalSpec() *specs.Spec {
	return &specs.Spec{Version: specs.Version, Root: &specs.Root{Path: "rootfs"}}
}

// wantFieldError checks that err is a *configs.FieldError for field whose
// message contains msg.
func wantFieldError(t *testing.T, err error, field, msg string) {
	t.Helper()
	var fe *configs.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T), want a *configs.FieldError for %s", err, err, field)
	}
	if fe.Field != field {
		t.Errorf("field = %q, want %q (error %v)", fe.Field, field, err)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q does not contain %q", err, msg)
	}
}

func TestCreateConfigBadInput(t *testing.T) {
	bundle(t)
	tests := []struct {
		name   string
		opts   *CreateOpts
		field  string // "" means no error
		msg    string
		nofail bool
	}{
		{name: "nil opts", opts: nil, msg: "no spec"},
		{name: "nil spec", opts: &CreateOpts{}, msg: "no spec"},
		{name: "nil root", opts: &CreateOpts{CgroupName: "c", Spec: &specs.Spec{}}, field: "root", msg: "missing"},
		{name: "empty root path", opts: &CreateOpts{CgroupName: "c", Spec: &specs.Spec{Root: &specs.Root{}}}, field: "root.path", msg: "missing"},
		{name: "nil linux and process", opts: &CreateOpts{CgroupName: "c", Spec: minimalSpec()}, nofail: true},
		{name: "no id and no cgroupsPath", opts: &CreateOpts{Spec: minimalSpec()}, field: "linux.cgroupsPath", msg: "cannot name a cgroup"},
		{name: "id with slash", opts: &CreateOpts{CgroupName: "../x", Spec: minimalSpec()}, field: "linux.cgroupsPath", msg: "cannot name a cgroup"},
		{name: "unknown namespace", opts: &CreateOpts{CgroupName: "c", Spec: func() *specs.Spec {
			s := minimalSpec()
			s.Linux = &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "pid"}, {Type: "foo"}}}
			return s
		}()}, field: "linux.namespaces[1].type", msg: `unknown namespace "foo"`},
		{name: "duplicate namespace", opts: &CreateOpts{CgroupName: "c", Spec: func() *specs.Spec {
			s := minimalSpec()
			s.Linux = &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "pid"}, {Type: "mount"}, {Type: "pid", Path: "/proc/self/ns/pid"}}}
			return s
		}()}, field: "linux.namespaces[2].type", msg: `duplicate namespace "pid"`},
		{name: "unknown rlimit", opts: &CreateOpts{CgroupName: "c", Spec: func() *specs.Spec {
			s := minimalSpec()
			s.Process = &specs.Process{Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE"}, {Type: "RLIMIT_FOO"}}}
			return s
		}()}, field: "process.rlimits[1].type", msg: `unknown rlimit type "RLIMIT_FOO"`},
		{name: "unknown rootfs propagation", opts: &CreateOpts{CgroupName: "c", Spec: func() *specs.Spec {
			s := minimalSpec()
			s.Linux = &specs.Linux{RootfsPropagation: "rfoo"}
			return s
		}()}, field: "linux.rootfsPropagation", msg: `unknown propagation "rfoo"`},
		{name: "private propagation without pivot_root", opts: &CreateOpts{CgroupName: "c", NoPivotRoot: true, Spec: func() *specs.Spec {
			s := minimalSpec()
			s.Linux = &specs.Linux{RootfsPropagation: "private"}
			return s
		}()}, field: "linux.rootfsPropagation", msg: "not safe without pivot_root"},
		{name: "bad device type", opts: &CreateOpts{CgroupName: "c", Spec: func() *specs.Spec {
			s := minimalSpec()
			s.Linux = &specs.Linux{Devices: []specs.LinuxDevice{{Path: "/dev/a", Type: "c"}, {Path: "/dev/b", Type: "x"}}}
			return s
		}()}, field: "linux.devices[1].type", msg: `unknown device type "x"`},
		{name: "relative device path", opts: &CreateOpts{CgroupName: "c", Spec: func() *specs.Spec {
			s := minimalSpec()
			s.Linux = &specs.Linux{Devices: []specs.LinuxDevice{{Path: "dev/a", Type: "c"}}}
			return s
		}()}, field: "linux.devices[0].path", msg: "not an absolute path"},
		{name: "empty device path", opts: &CreateOpts{CgroupName: "c", Spec: func() *specs.Spec {
			s := minimalSpec()
			s.Linux = &specs.Linux{Devices: []specs.LinuxDevice{{Type: "c"}}}
			return s
		}()}, field: "linux.devices[0].path", msg: "missing"},
		{name: "negative device number", opts: &CreateOpts{CgroupName: "c", Spec: func() *specs.Spec {
			s := minimalSpec()
			s.Linux = &specs.Linux{Devices: []specs.LinuxDevice{{Path: "/dev/a", Type: "c", Major: -1}}}
			return s
		}()}, field: "linux.devices[0]", msg: "negative"},
		{name: "bad cgroup device rule type", opts: &CreateOpts{CgroupName: "c", Spec: func() *specs.Spec {
			s := minimalSpec()
			s.Linux = &specs.Linux{Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Access: "rwm"}, {Type: "p", Access: "r"}}}}
			return s
		}()}, field: "linux.resources.devices[1].type", msg: "invalid cgroup device type"},
		{name: "empty cgroup device access", opts: &CreateOpts{CgroupName: "c", Spec: func() *specs.Spec {
			s := minimalSpec()
			s.Linux = &specs.Linux{Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true}}}}
			return s
		}()}, field: "linux.resources.devices[0].access", msg: "cannot be empty"},
		{name: "bad systemd cgroupsPath", opts: &CreateOpts{CgroupName: "c", UseSystemdCgroup: true, Spec: func() *specs.Spec {
			s := minimalSpec()
			s.Linux = &specs.Linux{CgroupsPath: "/a/b"}
			return s
		}()}, field: "linux.cgroupsPath", msg: "slice:prefix:name"},
		{name: "cgroupsPath NUL", opts: &CreateOpts{CgroupName: "c", Spec: func() *specs.Spec {
			s := minimalSpec()
			s.Linux = &specs.Linux{CgroupsPath: "/a\x00"}
			return s
		}()}, field: "linux.cgroupsPath", msg: "NUL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := CreateConfig(tc.opts)
			if tc.nofail {
				if err != nil || c == nil {
					t.Fatalf("CreateConfig: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CreateConfig succeeded, want an error containing %q", tc.msg)
			}
			if c != nil {
				t.Errorf("CreateConfig returned a config with error %v", err)
			}
			if tc.field == "" {
				if !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("error %q does not contain %q", err, tc.msg)
				}
				return
			}
			wantFieldError(t, err, tc.field, tc.msg)
		})
	}
}

func TestCreateConfigFields(t *testing.T) {
	dir := bundle(t)
	spec := &specs.Spec{
		Version:     "1.3.0",
		Root:        &specs.Root{Path: "rootfs", Readonly: true},
		Hostname:    "host",
		Domainname:  "example.org",
		Annotations: map[string]string{"a": "b", "bundle": "evil"},
		Process: &specs.Process{
			User:            specs.User{UID: 1, GID: 2, Umask: ptr(uint32(0o077))},
			NoNewPrivileges: true,
			OOMScoreAdj:     ptr(-500),
			Capabilities:    &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Ambient: []string{"CAP_CHOWN"}},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 10, Soft: 5}, {Type: "RLIMIT_CORE", Hard: 1, Soft: 1}},
		},
		Hooks: &specs.Hooks{
			Prestart:        []specs.Hook{{Path: "/bin/pre", Args: []string{"pre", "x"}, Env: []string{"A=1"}, Timeout: ptr(5)}}, //nolint:staticcheck // SA1019: prestart is still converted.
			CreateRuntime:   []specs.Hook{{Path: "/bin/cr"}},
			CreateContainer: []specs.Hook{{Path: "/bin/cc"}},
			StartContainer:  []specs.Hook{{Path: "/bin/sc"}},
			Poststart:       []specs.Hook{{Path: "/bin/ps"}},
			Poststop:        []specs.Hook{{Path: "/bin/stop1"}, {Path: "/bin/stop2"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: "pid"},
				{Type: "network", Path: "/proc/self/ns/net"},
				{Type: "mount"},
				{Type: "ipc"},
				{Type: "uts"},
				{Type: "user"},
				{Type: "cgroup"},
				{Type: "time"},
			},
			UIDMappings:       []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
			GIDMappings:       []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}},
			TimeOffsets:       map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 7, Nanosecs: 9}},
			Sysctl:            map[string]string{"net.ipv4.ip_forward": "1"},
			MaskedPaths:       []string{"/proc/kcore"},
			ReadonlyPaths:     []string{"/proc/sys"},
			RootfsPropagation: "slave",
			CgroupsPath:       "/mine/c1",
		},
	}
	c, err := CreateConfig(&CreateOpts{CgroupName: "c1", Spec: spec, NoPivotRoot: true, NoNewKeyring: true, RootlessEUID: true, RootlessCgroups: true})
	if err != nil {
		t.Fatalf("CreateConfig: %v", err)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	check("Rootfs", c.Rootfs, filepath.Join(dir, "rootfs"))
	check("Readonlyfs", c.Readonlyfs, true)
	check("NoPivotRoot", c.NoPivotRoot, true)
	check("NoNewKeyring", c.NoNewKeyring, true)
	check("RootlessEUID", c.RootlessEUID, true)
	check("RootlessCgroups", c.RootlessCgroups, true)
	check("Cgroups.Rootless", c.Cgroups.Rootless, true)
	check("Hostname", c.Hostname, "host")
	check("Domainname", c.Domainname, "example.org")
	check("Labels", c.Labels, []string{"bundle=" + dir})
	check("Label(bundle)", c.Label("bundle"), dir)
	check("Version", c.Version, "1.3.0")
	check("Annotations", c.Annotations, map[string]string{"a": "b", "bundle": "evil"})
	check("Namespaces", c.Namespaces, configs.Namespaces{
		{Type: configs.NEWPID},
		{Type: configs.NEWNET, Path: "/proc/self/ns/net"},
		{Type: configs.NEWNS},
		{Type: configs.NEWIPC},
		{Type: configs.NEWUTS},
		{Type: configs.NEWUSER},
		{Type: configs.NEWCGROUP},
		{Type: configs.NEWTIME},
	})
	check("UIDMappings", c.UIDMappings, []configs.IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}})
	check("GIDMappings", c.GIDMappings, []configs.IDMap{{ContainerID: 0, HostID: 200000, Size: 65536}})
	check("TimeOffsets", c.TimeOffsets, map[string]configs.TimeOffset{"monotonic": {Secs: 7, Nanosecs: 9}})
	check("Sysctl", c.Sysctl, map[string]string{"net.ipv4.ip_forward": "1"})
	check("MaskPaths", c.MaskPaths, []string{"/proc/kcore"})
	check("ReadonlyPaths", c.ReadonlyPaths, []string{"/proc/sys"})
	check("RootPropagation", c.RootPropagation, unix.MS_SLAVE|unix.MS_REC)
	check("NoNewPrivileges", c.NoNewPrivileges, true)
	check("OomScoreAdj", c.OomScoreAdj, ptr(-500))
	check("Umask", c.Umask, ptr(uint32(0o077)))
	check("Capabilities", c.Capabilities, &configs.Capabilities{Bounding: []string{"CAP_KILL"}, Ambient: []string{"CAP_CHOWN"}})
	check("Rlimits", c.Rlimits, []configs.Rlimit{{Type: unix.RLIMIT_NOFILE, Hard: 10, Soft: 5}, {Type: unix.RLIMIT_CORE, Hard: 1, Soft: 1}})
	five := 5 * time.Second
	check("Hooks", c.Hooks, configs.Hooks{
		configs.Prestart:        {{Path: "/bin/pre", Args: []string{"pre", "x"}, Env: []string{"A=1"}, Timeout: &five}},
		configs.CreateRuntime:   {{Path: "/bin/cr"}},
		configs.CreateContainer: {{Path: "/bin/cc"}},
		configs.StartContainer:  {{Path: "/bin/sc"}},
		configs.Poststart:       {{Path: "/bin/ps"}},
		configs.Poststop:        {{Path: "/bin/stop1"}, {Path: "/bin/stop2"}},
	})
	check("Cgroups.Path", c.Cgroups.Path, "/mine/c1")

	// The config must not share memory with the spec.
	spec.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	spec.Linux.Sysctl["net.ipv4.ip_forward"] = "0"
	*spec.Process.OOMScoreAdj = 1
	spec.Annotations["a"] = "c"
	if c.Capabilities.Bounding[0] != "CAP_KILL" || c.Sysctl["net.ipv4.ip_forward"] != "1" || *c.OomScoreAdj != -500 || c.Annotations["a"] != "b" {
		t.Error("the config shares memory with the spec")
	}
}

func TestCreateConfigRootfs(t *testing.T) {
	dir := bundle(t)
	for _, tc := range []struct{ path, want string }{
		{"rootfs", filepath.Join(dir, "rootfs")},
		{"./a/../rootfs", filepath.Join(dir, "rootfs")},
		{"/abs/root", "/abs/root"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			s := minimalSpec()
			s.Root.Path = tc.path
			c, err := CreateConfig(&CreateOpts{CgroupName: "c", Spec: s})
			if err != nil {
				t.Fatal(err)
			}
			if c.Rootfs != tc.want {
				t.Errorf("Rootfs = %q, want %q", c.Rootfs, tc.want)
			}
		})
	}
}

func TestNamespaceTypes(t *testing.T) {
	bundle(t)
	want := map[string]configs.NamespaceType{
		"pid": configs.NEWPID, "network": configs.NEWNET, "mount": configs.NEWNS, "ipc": configs.NEWIPC,
		"uts": configs.NEWUTS, "user": configs.NEWUSER, "cgroup": configs.NEWCGROUP, "time": configs.NEWTIME,
	}
	if len(KnownNamespaces()) != len(want) {
		t.Errorf("KnownNamespaces() = %v, want the %d of the spec", KnownNamespaces(), len(want))
	}
	for _, name := range KnownNamespaces() {
		t.Run(name, func(t *testing.T) {
			s := minimalSpec()
			s.Linux = &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.LinuxNamespaceType(name), Path: "/ns/" + name}}}
			c, err := CreateConfig(&CreateOpts{CgroupName: "c", Spec: s})
			if err != nil {
				t.Fatal(err)
			}
			if w, ok := want[name]; !ok || !reflect.DeepEqual(c.Namespaces, configs.Namespaces{{Type: w, Path: "/ns/" + name}}) {
				t.Errorf("Namespaces = %v, want [{%s /ns/%s}]", c.Namespaces, w, name)
			}
		})
	}
}

func TestRlimitTypes(t *testing.T) {
	bundle(t)
	want := map[string]int{
		"RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4, "RLIMIT_RSS": 5,
		"RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10,
		"RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
	}
	for name, num := range want {
		t.Run(name, func(t *testing.T) {
			s := minimalSpec()
			s.Process = &specs.Process{Rlimits: []specs.POSIXRlimit{{Type: name, Hard: 3, Soft: 2}}}
			c, err := CreateConfig(&CreateOpts{CgroupName: "c", Spec: s})
			if err != nil {
				t.Fatal(err)
			}
			if w := []configs.Rlimit{{Type: num, Hard: 3, Soft: 2}}; !reflect.DeepEqual(c.Rlimits, w) {
				t.Errorf("Rlimits = %v, want %v", c.Rlimits, w)
			}
		})
	}
	for _, bad := range []string{"", "NOFILE", "rlimit_nofile", "RLIMIT_"} {
		t.Run("bad "+bad, func(t *testing.T) {
			s := minimalSpec()
			s.Process = &specs.Process{Rlimits: []specs.POSIXRlimit{{Type: bad}}}
			_, err := CreateConfig(&CreateOpts{CgroupName: "c", Spec: s})
			wantFieldError(t, err, "process.rlimits[0].type", "unknown rlimit type")
		})
	}
}

func TestRootPropagation(t *testing.T) {
	for in, want := range map[string]int{
		"":            0,
		"shared":      unix.MS_SHARED | unix.MS_REC,
		"rshared":     unix.MS_SHARED | unix.MS_REC,
		"slave":       unix.MS_SLAVE | unix.MS_REC,
		"rslave":      unix.MS_SLAVE | unix.MS_REC,
		"private":     unix.MS_PRIVATE | unix.MS_REC,
		"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
		"unbindable":  unix.MS_UNBINDABLE | unix.MS_REC,
		"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
	} {
		t.Run(in, func(t *testing.T) {
			got, err := rootPropagation(in)
			if err != nil || got != want {
				t.Errorf("rootPropagation(%q) = %#x, %v; want %#x", in, got, err, want)
			}
		})
	}
	_, err := rootPropagation("Shared")
	wantFieldError(t, err, "linux.rootfsPropagation", "unknown propagation")
}

func TestCgroupPlacement(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		path    string
		systemd bool
		want    configs.Cgroup
	}{
		{name: "empty path", id: "c1", want: configs.Cgroup{Path: "/berth/c1"}},
		{name: "absolute path", id: "c1", path: "/a/b", want: configs.Cgroup{Path: "/a/b"}},
		{name: "absolute path cleaned", id: "c1", path: "/a/../../b//c/", want: configs.Cgroup{Path: "/b/c"}},
		{name: "relative path", id: "c1", path: "a/b", want: configs.Cgroup{Path: "a/b"}},
		{name: "relative path cannot climb", id: "c1", path: "../../a", want: configs.Cgroup{Path: "a"}},
		{name: "relative path to nowhere", id: "c1", path: "..", want: configs.Cgroup{Path: "."}},
		{name: "systemd empty path", id: "c1", systemd: true, want: configs.Cgroup{Systemd: true, ScopePrefix: "berth", Name: "c1"}},
		{name: "systemd path", id: "c1", path: "system.slice:docker:1234", systemd: true, want: configs.Cgroup{Systemd: true, Parent: "system.slice", ScopePrefix: "docker", Name: "1234"}},
		{name: "systemd empty parts", id: "c1", path: "::x", systemd: true, want: configs.Cgroup{Systemd: true, Name: "x"}},
		{name: "colons without systemd are a path", id: "c1", path: "a:b:c", want: configs.Cgroup{Path: "a:b:c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := minimalSpec()
			s.Linux = &specs.Linux{CgroupsPath: tc.path}
			got, err := convertCgroup(&CreateOpts{CgroupName: tc.id, UseSystemdCgroup: tc.systemd, Spec: s}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			got.Resources = nil
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("cgroup = %+v, want %+v", *got, tc.want)
			}
			// Whatever the input, the result must be consistent.
			if err := (&configs.Config{Cgroups: got}).ValidateWith(configs.ValidateOptions{}); err != nil && strings.Contains(err.Error(), "cgroupsPath") {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestResources(t *testing.T) {
	bundle(t)
	s := minimalSpec()
	s.Linux = &specs.Linux{Resources: &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: ptr(int64(10)), Minor: ptr(int64(200)), Access: "rw"},
			{Allow: true, Type: "b", Major: ptr(int64(8)), Access: "r"},
		},
		Memory: &specs.LinuxMemory{
			Limit: ptr(int64(1 << 30)), Reservation: ptr(int64(1 << 29)), Swap: ptr(int64(2 << 30)),
			Swappiness: ptr(uint64(10)), DisableOOMKiller: ptr(true), CheckBeforeUpdate: ptr(true),
		},
		CPU: &specs.LinuxCPU{
			Shares: ptr(uint64(512)), Quota: ptr(int64(50000)), Period: ptr(uint64(100000)), Burst: ptr(uint64(1000)),
			RealtimeRuntime: ptr(int64(950)), RealtimePeriod: ptr(uint64(1000)), Cpus: "0-1", Mems: "0", Idle: ptr(int64(1)),
		},
		Pids: &specs.LinuxPids{Limit: ptr(int64(0))},
		BlockIO: &specs.LinuxBlockIO{
			Weight: ptr(uint16(500)), LeafWeight: ptr(uint16(300)),
			WeightDevice:            []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: ptr(uint16(100))}},
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 1}, Rate: 1}},
			ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 2}, Rate: 2}},
			ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 3}, Rate: 3}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 4}, Rate: 4}},
		},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1 << 21}},
		Network:        &specs.LinuxNetwork{ClassID: ptr(uint32(0x100001)), Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 5}}},
		Rdma:           map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: ptr(uint32(3)), HcaObjects: ptr(uint32(1000))}},
		Unified:        map[string]string{"memory.high": "1G"},
	}}
	c, err := CreateConfig(&CreateOpts{CgroupName: "c", Spec: s})
	if err != nil {
		t.Fatal(err)
	}
	w := configs.Wildcard
	rules := []*configs.DeviceRule{
		{Type: configs.WildcardDevice, Major: w, Minor: w, Permissions: "rwm"},
		{Type: configs.CharDevice, Major: 10, Minor: 200, Permissions: "rw", Allow: true},
		{Type: configs.BlockDevice, Major: 8, Minor: w, Permissions: "r", Allow: true},
	}
	for _, d := range AllowedDevices() {
		rules = append(rules, &d.DeviceRule)
	}
	want := &configs.Resources{
		Devices: rules,
		Memory:  1 << 30, MemoryReservation: 1 << 29, MemorySwap: 2 << 30, MemorySwappiness: ptr(uint64(10)),
		OomKillDisable: true, MemoryCheckBeforeUpdate: true,
		CPUShares: 512, CPUQuota: 50000, CPUPeriod: 100000, CPUBurst: ptr(uint64(1000)), CPURtRuntime: 950, CPURtPeriod: 1000,
		CPUIdle: ptr(int64(1)), CpusetCpus: "0-1", CpusetMems: "0",
		PidsLimit:   ptr(int64(0)),
		BlkioWeight: 500, BlkioLeafWeight: 300,
		BlkioWeightDevice:            []*configs.WeightDevice{{Major: 8, Minor: 0, Weight: 100}},
		BlkioThrottleReadBpsDevice:   []*configs.ThrottleDevice{{Major: 8, Minor: 1, Rate: 1}},
		BlkioThrottleWriteBpsDevice:  []*configs.ThrottleDevice{{Major: 8, Minor: 2, Rate: 2}},
		BlkioThrottleReadIOPSDevice:  []*configs.ThrottleDevice{{Major: 8, Minor: 3, Rate: 3}},
		BlkioThrottleWriteIOPSDevice: []*configs.ThrottleDevice{{Major: 8, Minor: 4, Rate: 4}},
		HugetlbLimit:                 []*configs.HugepageLimit{{Pagesize: "2MB", Limit: 1 << 21}},
		NetClsClassid:                0x100001,
		NetPrioIfpriomap:             []*configs.IfPrioMap{{Interface: "eth0", Priority: 5}},
		Rdma:                         map[string]configs.RdmaEntry{"mlx5_0": {HcaHandles: ptr(uint32(3)), HcaObjects: ptr(uint32(1000))}},
		Unified:                      map[string]string{"memory.high": "1G"},
	}
	if !reflect.DeepEqual(c.Cgroups.Resources, want) {
		g, _ := json.MarshalIndent(c.Cgroups.Resources, "", " ")
		wj, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("Resources =\n%s\nwant\n%s", g, wj)
	}

	t.Run("pids unset", func(t *testing.T) {
		s := minimalSpec()
		s.Linux = &specs.Linux{Resources: &specs.LinuxResources{Pids: &specs.LinuxPids{}}}
		c, err := CreateConfig(&CreateOpts{CgroupName: "c", Spec: s})
		if err != nil {
			t.Fatal(err)
		}
		if c.Cgroups.PidsLimit != nil {
			t.Errorf("PidsLimit = %d, want nil", *c.Cgroups.PidsLimit)
		}
	})
}

func TestAllowedDevices(t *testing.T) {
	a, b := AllowedDevices(), AllowedDevices()
	if &a[0] == &b[0] || a[2] == b[2] {
		t.Fatal("AllowedDevices returns shared memory")
	}
	a[2].Path = "/dev/changed"
	if AllowedDevices()[2].Path == "/dev/changed" {
		t.Fatal("changing a result changes the defaults")
	}
	nodes := map[string][2]int64{}
	var ruleOnly []configs.DeviceRule
	for _, d := range AllowedDevices() {
		if !d.Allow {
			t.Errorf("%+v is not an allow rule", d)
		}
		if d.Path == "" {
			ruleOnly = append(ruleOnly, d.DeviceRule)
			continue
		}
		if d.FileMode != 0o666 || d.UID != 0 || d.GID != 0 || d.Type != configs.CharDevice || d.Permissions != "rwm" {
			t.Errorf("node %+v, want a root-owned 0666 char device with rwm", d)
		}
		nodes[d.Path] = [2]int64{d.Major, d.Minor}
	}
	wantNodes := map[string][2]int64{
		"/dev/null": {1, 3}, "/dev/zero": {1, 5}, "/dev/full": {1, 7},
		"/dev/random": {1, 8}, "/dev/urandom": {1, 9}, "/dev/tty": {5, 0},
	}
	if !reflect.DeepEqual(nodes, wantNodes) {
		t.Errorf("nodes = %v, want %v", nodes, wantNodes)
	}
	w := configs.Wildcard
	wantRules := []configs.DeviceRule{
		{Type: configs.CharDevice, Major: w, Minor: w, Permissions: "m", Allow: true},
		{Type: configs.BlockDevice, Major: w, Minor: w, Permissions: "m", Allow: true},
		{Type: configs.CharDevice, Major: 136, Minor: w, Permissions: "rwm", Allow: true},
		{Type: configs.CharDevice, Major: 5, Minor: 2, Permissions: "rwm", Allow: true},
	}
	if !reflect.DeepEqual(ruleOnly, wantRules) {
		t.Errorf("rules = %+v, want %+v", ruleOnly, wantRules)
	}
}

func TestDevices(t *testing.T) {
	bundle(t)
	s := minimalSpec()
	s.Linux = &specs.Linux{Devices: []specs.LinuxDevice{
		{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229},
		{Path: "/dev/null", Type: "c", Major: 1, Minor: 3, FileMode: ptr(os.FileMode(0o20600)), UID: ptr(uint32(5)), GID: ptr(uint32(6))},
		{Path: "/dev/sda", Type: "b", Major: 8, Minor: 0, FileMode: ptr(os.FileMode(0o640))},
		{Path: "/dev/ttyX", Type: "u", Major: 4, Minor: 64},
		{Path: "/dev/fifo", Type: "p"},
	}}
	c, err := CreateConfig(&CreateOpts{CgroupName: "c", Spec: s})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]configs.Device{}
	var order []string
	for _, d := range c.Devices {
		got[d.Path] = *d
		order = append(order, d.Path)
	}
	wantOrder := []string{"/dev/random", "/dev/full", "/dev/tty", "/dev/zero", "/dev/urandom", "/dev/fuse", "/dev/null", "/dev/sda", "/dev/ttyX", "/dev/fifo"}
	if !reflect.DeepEqual(order, wantOrder) {
		t.Errorf("device order = %v, want %v (defaults first, the spec's /dev/null replacing the default)", order, wantOrder)
	}
	for path, want := range map[string]configs.Device{
		"/dev/fuse": {DeviceRule: configs.DeviceRule{Type: configs.CharDevice, Major: 10, Minor: 229}, Path: "/dev/fuse", FileMode: 0o666},
		"/dev/null": {DeviceRule: configs.DeviceRule{Type: configs.CharDevice, Major: 1, Minor: 3}, Path: "/dev/null", FileMode: 0o600, UID: 5, GID: 6},
		"/dev/sda":  {DeviceRule: configs.DeviceRule{Type: configs.BlockDevice, Major: 8}, Path: "/dev/sda", FileMode: 0o640},
		"/dev/ttyX": {DeviceRule: configs.DeviceRule{Type: configs.CharDevice, Major: 4, Minor: 64}, Path: "/dev/ttyX", FileMode: 0o666},
		"/dev/fifo": {DeviceRule: configs.DeviceRule{Type: configs.FifoDevice}, Path: "/dev/fifo", FileMode: 0o666},
	} {
		if !reflect.DeepEqual(got[path], want) {
			t.Errorf("%s = %+v, want %+v", path, got[path], want)
		}
	}
	// The default /dev/null rule went with its node; the spec devices add
	// no rules of their own.
	for _, r := range c.Cgroups.Devices {
		if r.Type == configs.CharDevice && r.Major == 1 && r.Minor == 3 {
			t.Errorf("the default /dev/null rule is still there: %+v", r)
		}
		if r.Major == 10 && r.Minor == 229 {
			t.Errorf("linux.devices entry got a cgroup rule: %+v", r)
		}
	}
	if n := len(c.Cgroups.Devices); n != len(AllowedDevices())-1 {
		t.Errorf("%d cgroup rules, want the %d defaults less /dev/null", n, len(AllowedDevices()))
	}
}

func TestIDMappedMountsShareUserNS(t *testing.T) {
	bundle(t)
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	mk := func(userNSPath string) *specs.Spec {
		s := minimalSpec()
		s.Mounts = []specs.Mount{
			{Destination: "/a", Type: "bind", Source: "/src", Options: []string{"idmap"}},
			{Destination: "/b", Type: "bind", Source: "/src", Options: []string{"ridmap"}, UIDMappings: maps, GIDMappings: maps},
		}
		s.Linux = &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "user", Path: userNSPath}, {Type: "mount"}}}
		if userNSPath == "" {
			s.Linux.UIDMappings, s.Linux.GIDMappings = maps, maps
		}
		return s
	}
	cmaps := []configs.IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}

	c, err := CreateConfig(&CreateOpts{CgroupName: "c", Spec: mk("")})
	if err != nil {
		t.Fatal(err)
	}
	if want := (&configs.MountIDMapping{UIDMappings: cmaps, GIDMappings: cmaps}); !reflect.DeepEqual(c.Mounts[0].IDMapping, want) {
		t.Errorf("idmap mount = %+v, want the container's mappings", c.Mounts[0].IDMapping)
	}
	if want := (&configs.MountIDMapping{Recursive: true, UIDMappings: cmaps, GIDMappings: cmaps}); !reflect.DeepEqual(c.Mounts[1].IDMapping, want) {
		t.Errorf("ridmap mount = %+v, want its own mappings", c.Mounts[1].IDMapping)
	}

	c, err = CreateConfig(&CreateOpts{CgroupName: "c", Spec: mk("/proc/self/ns/user")})
	if err != nil {
		t.Fatal(err)
	}
	if want := (&configs.MountIDMapping{UserNSPath: "/proc/self/ns/user"}); !reflect.DeepEqual(c.Mounts[0].IDMapping, want) {
		t.Errorf("idmap mount in a joined userns = %+v, want the userns path", c.Mounts[0].IDMapping)
	}
}

func TestWarnings(t *testing.T) {
	bundle(t)
	s := minimalSpec()
	s.Linux = &specs.Linux{
		IntelRdt:  &specs.LinuxIntelRdt{ClosID: "c"},
		Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Kernel: ptr(int64(1))}}, //nolint:staticcheck // SA1019: testing the warning.
	}
	s.Mounts = []specs.Mount{{Destination: "tmp", Type: "tmpfs", Source: "tmpfs"}}
	var buf strings.Builder
	log := slogText(&buf)
	if _, err := CreateConfig(&CreateOpts{CgroupName: "c", Spec: s, Logger: log}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"field=linux.intelRdt", "field=linux.resources.memory.kernel", "field=mounts[0].destination"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log %q lacks %q", buf.String(), want)
		}
	}
}
