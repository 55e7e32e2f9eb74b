package configs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// validConfig returns a config that passes Validate: a new mount, pid, ipc,
// uts and network namespace, as `runc spec` asks for.
func validConfig(t *testing.T) *Config {
	t.Helper()
	return &Config{
		Rootfs: t.TempDir(),
		Namespaces: Namespaces{
			{Type: NEWPID}, {Type: NEWNET}, {Type: NEWIPC}, {Type: NEWUTS}, {Type: NEWNS},
		},
		Hostname: "berth",
		Mounts: []*Mount{
			{Source: "proc", Destination: "/proc", Device: "proc"},
		},
		MaskPaths:     []string{"/proc/kcore"},
		ReadonlyPaths: []string{"/proc/sys"},
		Rlimits:       []Rlimit{{Type: 7, Hard: 1024, Soft: 1024}},
		Cgroups:       &Cgroup{Path: "/berth/test", Resources: &Resources{}},
	}
}

// fakeHost answers every host question without asking the host.
type fakeHost struct {
	cgroupV2   bool
	noNS       NamespaceType
	hostNetNS  bool
	hostNetErr error
}

func (h fakeHost) opts() ValidateOptions {
	return ValidateOptions{
		CgroupV2:           func() bool { return h.cgroupV2 },
		NamespaceSupported: func(t NamespaceType) bool { return t != h.noNS },
		IsHostNetNS:        func(string) (bool, error) { return h.hostNetNS, h.hostNetErr },
	}
}

func withoutNS(c *Config, t NamespaceType) {
	var out Namespaces
	for _, ns := range c.Namespaces {
		if ns.Type != t {
			out = append(out, ns)
		}
	}
	c.Namespaces = out
}

func setNSPath(c *Config, t NamespaceType, path string) {
	for i := range c.Namespaces {
		if c.Namespaces[i].Type == t {
			c.Namespaces[i].Path = path
			return
		}
	}
	c.Namespaces = append(c.Namespaces, Namespace{Type: t, Path: path})
}

func dur(d time.Duration) *time.Duration { return &d }

func TestValidate(t *testing.T) {
	userns := func(c *Config) {
		c.Namespaces = append(c.Namespaces, Namespace{Type: NEWUSER})
		c.UIDMappings = []IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
		c.GIDMappings = []IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	}
	tests := []struct {
		name   string
		host   fakeHost
		modify func(t *testing.T, c *Config)
		field  string // "" means valid
		msg    string // substring of the error
	}{
		{name: "valid", modify: func(*testing.T, *Config) {}},

		// root.path
		{name: "rootfs empty", modify: func(_ *testing.T, c *Config) { c.Rootfs = "" }, field: "root.path", msg: "missing"},
		{name: "rootfs relative", modify: func(_ *testing.T, c *Config) { c.Rootfs = "rootfs" }, field: "root.path", msg: "not an absolute path"},
		{name: "rootfs missing", modify: func(_ *testing.T, c *Config) { c.Rootfs = filepath.Join(c.Rootfs, "nope") }, field: "root.path", msg: "no such file"},
		{name: "rootfs is a file", modify: func(t *testing.T, c *Config) {
			f := filepath.Join(c.Rootfs, "file")
			if err := os.WriteFile(f, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			c.Rootfs = f
		}, field: "root.path", msg: "not a directory"},
		{name: "rootfs through symlink", modify: func(t *testing.T, c *Config) {
			dir := t.TempDir()
			link := filepath.Join(dir, "link")
			if err := os.Symlink(c.Rootfs, link); err != nil {
				t.Fatal(err)
			}
			c.Rootfs = link
		}, field: "root.path", msg: "symlink"},
		{name: "rootfs trailing slash", modify: func(_ *testing.T, c *Config) { c.Rootfs += "/" }},

		// namespaces
		{name: "unknown namespace", modify: func(_ *testing.T, c *Config) { c.Namespaces = append(c.Namespaces, Namespace{Type: "NEWFOO"}) }, field: "linux.namespaces[5].type", msg: `unknown namespace type "NEWFOO"`},
		{name: "duplicate namespace", modify: func(_ *testing.T, c *Config) { c.Namespaces = append(c.Namespaces, Namespace{Type: NEWPID}) }, field: "linux.namespaces[5].type", msg: "duplicate"},
		{name: "namespace path missing", modify: func(_ *testing.T, c *Config) { c.Namespaces[0].Path = "/proc/0/ns/pid" }, field: "linux.namespaces[0].path", msg: "no such file"},
		{name: "namespace path relative", modify: func(_ *testing.T, c *Config) { c.Namespaces[0].Path = "ns/pid" }, field: "linux.namespaces[0].path", msg: "not an absolute"},
		{name: "namespace path exists", modify: func(_ *testing.T, c *Config) { c.Namespaces[0].Path = "/proc/self/ns/pid" }},
		{name: "kernel lacks time ns", host: fakeHost{noNS: NEWTIME}, modify: func(_ *testing.T, c *Config) { c.Namespaces = append(c.Namespaces, Namespace{Type: NEWTIME}) }, field: "linux.namespaces[5].type", msg: "time namespaces aren't enabled in the kernel"},
		{name: "kernel lacks user ns", host: fakeHost{noNS: NEWUSER}, modify: func(_ *testing.T, c *Config) { userns(c) }, field: "linux.namespaces[5].type", msg: "user namespaces aren't enabled in the kernel"},

		// user namespace
		{name: "userns with mappings", modify: func(_ *testing.T, c *Config) { userns(c) }},
		{name: "userns without uid mappings", modify: func(_ *testing.T, c *Config) { userns(c); c.UIDMappings = nil }, field: "linux.uidMappings", msg: "user namespace enabled, but no uid mappings found"},
		{name: "userns without gid mappings", modify: func(_ *testing.T, c *Config) { userns(c); c.GIDMappings = nil }, field: "linux.gidMappings", msg: "user namespace enabled, but no gid mappings found"},
		{name: "joined userns needs no mappings", modify: func(_ *testing.T, c *Config) {
			c.Namespaces = append(c.Namespaces, Namespace{Type: NEWUSER, Path: "/proc/self/ns/user"})
		}},
		{name: "uid mappings without userns", modify: func(_ *testing.T, c *Config) { c.UIDMappings = []IDMap{{Size: 1}} }, field: "linux.uidMappings", msg: "uid/gid mappings requires user namespace"},
		{name: "gid mappings without userns", modify: func(_ *testing.T, c *Config) { c.GIDMappings = []IDMap{{Size: 1}} }, field: "linux.gidMappings", msg: "uid/gid mappings requires user namespace"},
		{name: "zero-size mapping", modify: func(_ *testing.T, c *Config) { userns(c); c.GIDMappings[0].Size = 0 }, field: "linux.gidMappings[0].size", msg: "greater than zero"},
		{name: "negative mapping", modify: func(_ *testing.T, c *Config) { userns(c); c.UIDMappings[0].HostID = -1 }, field: "linux.uidMappings[0]", msg: "negative"},

		// time namespace
		{name: "time offsets with timens", modify: func(_ *testing.T, c *Config) {
			c.Namespaces = append(c.Namespaces, Namespace{Type: NEWTIME})
			c.TimeOffsets = map[string]TimeOffset{"monotonic": {Secs: 10}, "boottime": {Secs: 86400}}
		}},
		{name: "time offsets without timens", modify: func(_ *testing.T, c *Config) {
			c.TimeOffsets = map[string]TimeOffset{"monotonic": {Secs: 10}}
		}, field: "linux.timeOffsets", msg: "time namespace isn't enabled"},
		{name: "time offsets with joined timens", modify: func(_ *testing.T, c *Config) {
			c.Namespaces = append(c.Namespaces, Namespace{Type: NEWTIME, Path: "/proc/self/ns/time"})
			c.TimeOffsets = map[string]TimeOffset{"monotonic": {Secs: 10}}
		}, field: "linux.timeOffsets", msg: "new time namespace"},
		{name: "time offset unknown clock", modify: func(_ *testing.T, c *Config) {
			c.Namespaces = append(c.Namespaces, Namespace{Type: NEWTIME})
			c.TimeOffsets = map[string]TimeOffset{"realtime": {Secs: 10}}
		}, field: `linux.timeOffsets["realtime"]`, msg: "unknown clock"},
		{name: "time offset nanosecs overflow", modify: func(_ *testing.T, c *Config) {
			c.Namespaces = append(c.Namespaces, Namespace{Type: NEWTIME})
			c.TimeOffsets = map[string]TimeOffset{"boottime": {Nanosecs: 1e9}}
		}, field: `linux.timeOffsets["boottime"].nanosecs`, msg: "below"},

		// uts
		{name: "hostname without uts", modify: func(_ *testing.T, c *Config) { withoutNS(c, NEWUTS) }, field: "hostname", msg: "unable to set hostname without a private UTS namespace"},
		{name: "domainname without uts", modify: func(_ *testing.T, c *Config) { withoutNS(c, NEWUTS); c.Hostname = ""; c.Domainname = "example.org" }, field: "domainname", msg: "unable to set domainname without a private UTS namespace"},
		{name: "no names without uts", modify: func(_ *testing.T, c *Config) { withoutNS(c, NEWUTS); c.Hostname = "" }},
		{name: "hostname in joined uts", modify: func(_ *testing.T, c *Config) { setNSPath(c, NEWUTS, "/proc/self/ns/uts") }},

		// masked and read-only paths
		{name: "masked path relative", modify: func(_ *testing.T, c *Config) { c.MaskPaths = append(c.MaskPaths, "proc/keys") }, field: "linux.maskedPaths[1]", msg: "not an absolute path"},
		{name: "readonly path relative", modify: func(_ *testing.T, c *Config) { c.ReadonlyPaths = []string{"/proc/bus", "proc/sys"} }, field: "linux.readonlyPaths[1]", msg: "not an absolute path"},
		{name: "masked paths without mntns", modify: func(_ *testing.T, c *Config) { withoutNS(c, NEWNS) }, field: "linux.maskedPaths", msg: "without a private MNT namespace"},
		{name: "readonly paths without mntns", modify: func(_ *testing.T, c *Config) { withoutNS(c, NEWNS); c.MaskPaths = nil }, field: "linux.readonlyPaths", msg: "without a private MNT namespace"},

		// mounts
		{name: "mount destination relative", modify: func(_ *testing.T, c *Config) { c.Mounts[0].Destination = "proc" }, field: "mounts[0].destination", msg: "not an absolute path"},
		{name: "mount destination empty", modify: func(_ *testing.T, c *Config) { c.Mounts[0].Destination = "" }, field: "mounts[0].destination", msg: "not an absolute path"},
		{name: "mount nil", modify: func(_ *testing.T, c *Config) { c.Mounts = append(c.Mounts, nil) }, field: "mounts[1]", msg: "missing"},
		{name: "mount source NUL", modify: func(_ *testing.T, c *Config) { c.Mounts[0].Source = "pr\x00oc" }, field: "mounts[0].source", msg: "NUL"},
		{name: "mount data NUL", modify: func(_ *testing.T, c *Config) { c.Mounts[0].Data = "a\x00" }, field: "mounts[0].options", msg: "NUL"},
		{name: "idmapped bind mount", modify: func(_ *testing.T, c *Config) {
			c.Mounts = append(c.Mounts, &Mount{Source: "/src", Destination: "/dst", Device: "bind", Flags: msBind, IDMapping: &MountIDMapping{
				UIDMappings: []IDMap{{HostID: 1000, Size: 1}}, GIDMappings: []IDMap{{HostID: 1000, Size: 1}},
			}})
		}},
		{name: "idmapped bind mount through userns path", modify: func(_ *testing.T, c *Config) {
			c.Mounts = append(c.Mounts, &Mount{Source: "/src", Destination: "/dst", Device: "bind", Flags: msBind, IDMapping: &MountIDMapping{UserNSPath: "/proc/self/ns/user"}})
		}},
		{name: "idmapped non-bind mount", modify: func(_ *testing.T, c *Config) {
			c.Mounts[0].IDMapping = &MountIDMapping{UIDMappings: []IDMap{{Size: 1}}, GIDMappings: []IDMap{{Size: 1}}}
		}, field: "mounts[0].options", msg: "only supported for bind mounts"},
		{name: "idmapped mount without gid mappings", modify: func(_ *testing.T, c *Config) {
			c.Mounts = append(c.Mounts, &Mount{Source: "/src", Destination: "/dst", Flags: msBind, IDMapping: &MountIDMapping{UIDMappings: []IDMap{{Size: 1}}}})
		}, field: "mounts[1].gidMappings", msg: "needs gid mappings"},
		{name: "idmapped mount without uid mappings", modify: func(_ *testing.T, c *Config) {
			c.Mounts = append(c.Mounts, &Mount{Source: "/src", Destination: "/dst", Flags: msBind, IDMapping: &MountIDMapping{}})
		}, field: "mounts[1].uidMappings", msg: "needs uid mappings"},
		{name: "idmapped mount both path and maps", modify: func(_ *testing.T, c *Config) {
			c.Mounts = append(c.Mounts, &Mount{Source: "/src", Destination: "/dst", Flags: msBind, IDMapping: &MountIDMapping{UserNSPath: "/x", UIDMappings: []IDMap{{Size: 1}}}})
		}, field: "mounts[1]", msg: "both"},
		{name: "idmapped mount rootless", modify: func(_ *testing.T, c *Config) {
			userns(c)
			c.RootlessEUID = true
			c.Mounts = append(c.Mounts, &Mount{Source: "/src", Destination: "/dst", Flags: msBind, IDMapping: &MountIDMapping{UserNSPath: "/x"}})
		}, field: "mounts[1]", msg: "rootless"},

		// devices
		{name: "device ok", modify: func(_ *testing.T, c *Config) {
			c.Devices = []*Device{{DeviceRule: DeviceRule{Type: CharDevice, Major: 1, Minor: 3}, Path: "/dev/null", FileMode: 0o666}}
		}},
		{name: "device relative path", modify: func(_ *testing.T, c *Config) {
			c.Devices = []*Device{{DeviceRule: DeviceRule{Type: CharDevice, Major: 1, Minor: 3}, Path: "dev/null"}}
		}, field: "linux.devices", msg: "not absolute"},
		{name: "device wildcard type", modify: func(_ *testing.T, c *Config) {
			c.Devices = []*Device{{DeviceRule: DeviceRule{Type: WildcardDevice}, Path: "/dev/x"}}
		}, field: "linux.devices", msg: "unknown type"},

		// sysctl
		{name: "sysctl ipc with ipcns", modify: func(_ *testing.T, c *Config) {
			c.Sysctl = map[string]string{"kernel.msgmax": "1", "kernel.msgmnb": "1", "kernel.msgmni": "1", "kernel.sem": "1", "kernel.shmall": "1", "kernel.shmmax": "1", "kernel.shmmni": "1", "kernel.shm_rmid_forced": "1", "fs.mqueue.msg_max": "1"}
		}},
		{name: "sysctl ipc with joined ipcns", modify: func(_ *testing.T, c *Config) {
			setNSPath(c, NEWIPC, "/proc/self/ns/ipc")
			c.Sysctl = map[string]string{"kernel.shmmax": "1"}
		}},
		{name: "sysctl ipc without ipcns", modify: func(_ *testing.T, c *Config) {
			withoutNS(c, NEWIPC)
			c.Sysctl = map[string]string{"kernel.shmmax": "1"}
		}, field: `linux.sysctl["kernel.shmmax"]`, msg: "not allowed in the hosts ipc namespace"},
		{name: "sysctl mqueue without ipcns", modify: func(_ *testing.T, c *Config) {
			withoutNS(c, NEWIPC)
			c.Sysctl = map[string]string{"fs.mqueue.queues_max": "1"}
		}, field: `linux.sysctl["fs.mqueue.queues_max"]`, msg: "ipc namespace"},
		{name: "sysctl net with netns", modify: func(_ *testing.T, c *Config) { c.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"} }},
		{name: "sysctl net slash form", modify: func(_ *testing.T, c *Config) { c.Sysctl = map[string]string{"net/ipv4/conf/eno2.100/rp_filter": "1"} }},
		{name: "sysctl net without netns", modify: func(_ *testing.T, c *Config) {
			withoutNS(c, NEWNET)
			c.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, field: `linux.sysctl["net.ipv4.ip_forward"]`, msg: "not allowed in host network namespace"},
		{name: "sysctl net slash form without netns", modify: func(_ *testing.T, c *Config) {
			withoutNS(c, NEWNET)
			c.Sysctl = map[string]string{"net/ipv4/conf/eno2.100/rp_filter": "1"}
		}, field: `linux.sysctl["net/ipv4/conf/eno2.100/rp_filter"]`, msg: `"net.ipv4.conf.eno2/100.rp_filter"`},
		{name: "sysctl net in joined other netns", host: fakeHost{hostNetNS: false}, modify: func(_ *testing.T, c *Config) {
			setNSPath(c, NEWNET, "/proc/self/ns/net")
			c.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}},
		{name: "sysctl net in joined host netns", host: fakeHost{hostNetNS: true}, modify: func(_ *testing.T, c *Config) {
			setNSPath(c, NEWNET, "/proc/self/ns/net")
			c.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, field: `linux.sysctl["net.ipv4.ip_forward"]`, msg: "host network namespace"},
		{name: "sysctl net bad netns path", host: fakeHost{hostNetErr: errors.New("stat /x: no such file")}, modify: func(_ *testing.T, c *Config) {
			setNSPath(c, NEWNET, "/proc/self/ns/net")
			c.Sysctl = map[string]string{"net.core.somaxconn": "1"}
		}, field: `linux.sysctl["net.core.somaxconn"]`, msg: "invalid netns path"},
		{name: "sysctl domainname with uts", modify: func(_ *testing.T, c *Config) { c.Sysctl = map[string]string{"kernel.domainname": "x"} }},
		{name: "sysctl domainname without uts", modify: func(_ *testing.T, c *Config) {
			withoutNS(c, NEWUTS)
			c.Hostname = ""
			c.Sysctl = map[string]string{"kernel.domainname": "x"}
		}, field: `linux.sysctl["kernel.domainname"]`, msg: "not in a separate kernel namespace"},
		{name: "sysctl hostname conflicts", modify: func(_ *testing.T, c *Config) { c.Sysctl = map[string]string{"kernel.hostname": "x"} }, field: `linux.sysctl["kernel.hostname"]`, msg: "conflicts with the OCI"},
		{name: "sysctl user with userns", modify: func(_ *testing.T, c *Config) {
			userns(c)
			c.Sysctl = map[string]string{"user.max_user_namespaces": "0"}
		}},
		{name: "sysctl user without userns", modify: func(_ *testing.T, c *Config) { c.Sysctl = map[string]string{"user.max_user_namespaces": "0"} }, field: `linux.sysctl["user.max_user_namespaces"]`, msg: "user namespace"},
		{name: "sysctl not namespaced", modify: func(_ *testing.T, c *Config) { c.Sysctl = map[string]string{"vm.swappiness": "1"} }, field: `linux.sysctl["vm.swappiness"]`, msg: "not in a separate kernel namespace"},
		{name: "sysctl first bad key in order", modify: func(_ *testing.T, c *Config) { c.Sysctl = map[string]string{"vm.b": "1", "kernel.a": "1"} }, field: `linux.sysctl["kernel.a"]`},

		// process
		{name: "rlimits distinct", modify: func(_ *testing.T, c *Config) { c.Rlimits = append(c.Rlimits, Rlimit{Type: 6, Hard: 10, Soft: 10}) }},
		{name: "rlimit duplicate", modify: func(_ *testing.T, c *Config) { c.Rlimits = append(c.Rlimits, Rlimit{Type: 7, Hard: 10, Soft: 10}) }, field: "process.rlimits[1].type", msg: "duplicate rlimit RLIMIT_NOFILE"},
		{name: "rlimit soft above hard", modify: func(_ *testing.T, c *Config) { c.Rlimits[0].Soft = 2048 }, field: "process.rlimits[0]", msg: "above hard"},
		{name: "oom score ok", modify: func(_ *testing.T, c *Config) { v := -1000; c.OomScoreAdj = &v }},
		{name: "oom score out of range", modify: func(_ *testing.T, c *Config) { v := 1001; c.OomScoreAdj = &v }, field: "process.oomScoreAdj", msg: "outside"},
		{name: "umask ok", modify: func(_ *testing.T, c *Config) { v := uint32(0o077); c.Umask = &v }},
		{name: "umask too wide", modify: func(_ *testing.T, c *Config) { v := uint32(0o1022); c.Umask = &v }, field: "process.user.umask", msg: "outside 0777"},

		// hooks
		{name: "hooks ok", modify: func(_ *testing.T, c *Config) {
			c.Hooks = Hooks{Prestart: {{Path: "/bin/true", Timeout: dur(time.Second)}}, Poststop: {{Path: "/bin/true"}}}
		}},
		{name: "hook relative path", modify: func(_ *testing.T, c *Config) {
			c.Hooks = Hooks{CreateRuntime: {{Path: "/bin/true"}, {Path: "true"}}}
		}, field: "hooks.createRuntime[1].path", msg: "not an absolute path"},
		{name: "hook zero timeout", modify: func(_ *testing.T, c *Config) {
			c.Hooks = Hooks{Poststart: {{Path: "/bin/true", Timeout: dur(0)}}}
		}, field: "hooks.poststart[0].timeout", msg: "greater than zero"},
		{name: "hook unknown kind", modify: func(_ *testing.T, c *Config) {
			c.Hooks = Hooks{"prestop": {{Path: "/bin/true"}}}
		}, field: "hooks", msg: `unknown hook kind "prestop"`},

		// cgroups
		{name: "no cgroup", modify: func(_ *testing.T, c *Config) { c.Cgroups = nil }},
		{name: "cgroup name and parent", modify: func(_ *testing.T, c *Config) { c.Cgroups = &Cgroup{Name: "x", Parent: "system.slice", Systemd: true} }},
		{name: "cgroup path and name", modify: func(_ *testing.T, c *Config) { c.Cgroups.Name = "x" }, field: "linux.cgroupsPath", msg: "not both"},
		{name: "cgroup path and parent", modify: func(_ *testing.T, c *Config) { c.Cgroups.Parent = "x" }, field: "linux.cgroupsPath", msg: "not both"},
		{name: "systemd with path", modify: func(_ *testing.T, c *Config) { c.Cgroups.Systemd = true }, field: "linux.cgroupsPath", msg: "systemd"},
		{name: "unified on v2", host: fakeHost{cgroupV2: true}, modify: func(_ *testing.T, c *Config) { c.Cgroups.Unified = map[string]string{"memory.high": "1G"} }},
		{name: "unified on v1", modify: func(_ *testing.T, c *Config) { c.Cgroups.Unified = map[string]string{"memory.high": "1G"} }, field: "linux.resources.unified", msg: "cgroup v2 is not enabled on this host, can't use unified resources"},
		{name: "swap above memory", modify: func(_ *testing.T, c *Config) { c.Cgroups.Memory = 100; c.Cgroups.MemorySwap = 200 }},
		{name: "swap unlimited", modify: func(_ *testing.T, c *Config) { c.Cgroups.Memory = 100; c.Cgroups.MemorySwap = -1 }},
		{name: "swap below memory", modify: func(_ *testing.T, c *Config) { c.Cgroups.Memory = 200; c.Cgroups.MemorySwap = 100 }, field: "linux.resources.memory.swap", msg: "should be >="},
		{name: "swap without memory", modify: func(_ *testing.T, c *Config) { c.Cgroups.MemorySwap = 100 }, field: "linux.resources.memory.swap", msg: "without memory limit"},
		{name: "device rules ok", modify: func(_ *testing.T, c *Config) {
			c.Cgroups.Devices = []*DeviceRule{{Type: WildcardDevice, Major: Wildcard, Minor: Wildcard, Permissions: "rwm"}, {Type: CharDevice, Major: 1, Minor: 3, Permissions: "r", Allow: true}}
		}},
		{name: "device rule bad type", modify: func(_ *testing.T, c *Config) {
			c.Cgroups.Devices = []*DeviceRule{{Type: FifoDevice, Permissions: "rwm"}}
		}, field: "linux.resources.devices[0].type", msg: "invalid cgroup device type"},
		{name: "device rule empty access", modify: func(_ *testing.T, c *Config) {
			c.Cgroups.Devices = []*DeviceRule{{Type: CharDevice}}
		}, field: "linux.resources.devices[0].access", msg: "combination"},
		{name: "device rule bad access", modify: func(_ *testing.T, c *Config) {
			c.Cgroups.Devices = []*DeviceRule{{Type: CharDevice, Permissions: "rwx"}}
		}, field: "linux.resources.devices[0].access", msg: "combination"},

		// rootless
		{name: "rootless with userns", modify: func(_ *testing.T, c *Config) { userns(c); c.RootlessEUID = true }},
		{name: "rootless without userns", modify: func(_ *testing.T, c *Config) { c.RootlessEUID = true }, field: "linux.namespaces", msg: "rootless container requires user namespaces"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			tc.modify(t, c)
			err := c.ValidateWith(tc.host.opts())
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate: %v (%T), want a *FieldError for %s", err, err, tc.field)
			}
			if fe.Field != tc.field {
				t.Errorf("field = %q, want %q (error %v)", fe.Field, tc.field, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), tc.field+": ") {
				t.Errorf("error %q does not start with the field", err)
			}
		})
	}
}

func TestValidateUnifiedSentinel(t *testing.T) {
	c := validConfig(t)
	c.Cgroups.Unified = map[string]string{"pids.max": "10"}
	err := c.ValidateWith(fakeHost{}.opts())
	if !errors.Is(err, ErrCgroupV1NoUnified) {
		t.Fatalf("Validate: %v, want ErrCgroupV1NoUnified", err)
	}
}

// TestValidateHost runs Validate with the real host facts: the config uses
// only namespaces every kernel that runs berth has.
func TestValidateHost(t *testing.T) {
	if _, err := os.Stat("/proc/self/ns/pid"); err != nil {
		t.Skipf("no /proc/self/ns: %v", err)
	}
	if err := validConfig(t).Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	c := validConfig(t)
	setNSPath(c, NEWNET, "/proc/self/ns/net")
	c.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "host network namespace") {
		t.Fatalf("Validate with the caller's netns: %v, want a host network namespace error", err)
	}
}

func TestSysctlDots(t *testing.T) {
	for in, want := range map[string]string{
		"":                                 "",
		"kernel.shmmax":                    "kernel.shmmax",
		"kernel/shmmax":                    "kernel.shmmax",
		"net/ipv4/conf/eno2.100/rp_filter": "net.ipv4.conf.eno2/100.rp_filter",
		"net.ipv4.conf.eno2/100.rp_filter": "net.ipv4.conf.eno2/100.rp_filter",
		"noseparator":                      "noseparator",
	} {
		t.Run(in, func(t *testing.T) {
			if got := sysctlDots(in); got != want {
				t.Errorf("sysctlDots(%q) = %q, want %q", in, got, want)
			}
		})
	}
}
