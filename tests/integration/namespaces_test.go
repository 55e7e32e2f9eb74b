package integration

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// userMapping is the user namespace mapping of the user namespace tests.
var userMapping = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}

// TestNamespaces checks each namespace type: in the config, the container
// has its own (its /proc/self/ns link differs from the host's); left out,
// it shares the host's.
func TestNamespaces(t *testing.T) {
	for _, tc := range []struct {
		typ    specs.LinuxNamespaceType
		link   string // name under /proc/self/ns
		config func(b *bundle)
		check  string // extra shell check run in a new namespace, must print ok
	}{
		{typ: "mount", link: "mnt", check: `awk '{print $5}' /proc/self/mountinfo | grep -q berth-it || echo ok`},
		{typ: "uts", link: "uts", check: `[ "$(hostname)" = runc ] && echo ok`},
		{typ: "ipc", link: "ipc", check: `[ "$(ipcs -q | grep -c '^0x')" = 0 ] && echo ok`},
		{typ: "pid", link: "pid", check: `[ $$ = 1 ] && echo ok`},
		{typ: "network", link: "net", check: `[ "$(ls /sys/class/net)" = lo ] && echo ok`},
		{typ: "cgroup", link: "cgroup", check: `grep -qv ':/$' /proc/self/cgroup || echo ok`},
		{typ: "user", link: "user", config: func(b *bundle) {
			b.Spec.Linux.UIDMappings = userMapping
			b.Spec.Linux.GIDMappings = userMapping
		}, check: `[ "$(id -u):$(id -g)" = 0:0 ] && echo ok`},
		{typ: "time", link: "time", config: func(b *bundle) {
			b.Spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 1000000}}
		}, check: `grep -q '^boottime *1000000 ' /proc/self/timens_offsets && echo ok`},
	} {
		for _, own := range []bool{true, false} {
			name := string(tc.typ) + "/shared"
			if own {
				name = string(tc.typ) + "/own"
			}
			t.Run(name, func(t *testing.T) {
				b := newBundle(t)
				if own {
					b.addNamespace(tc.typ, "")
					if tc.config != nil {
						tc.config(b)
					}
				} else {
					b.removeNamespace(tc.typ)
					switch tc.typ {
					case "uts":
						b.Spec.Hostname = ""
					case "mount":
						// Read-only root, masked and read-only paths
						// need the container's own mount namespace.
						b.Spec.Root.Readonly = false
						b.Spec.Linux.MaskedPaths = nil
						b.Spec.Linux.ReadonlyPaths = nil
					}
				}
				script := "readlink /proc/self/ns/" + tc.link
				if own && tc.check != "" {
					script += "; " + tc.check
				}
				out := strings.Fields(b.shOutput(script))
				host := hostNS(t, tc.link)
				if len(out) == 0 || !strings.HasPrefix(out[0], tc.link+":[") {
					t.Fatalf("container printed %q, want a %s namespace link", out, tc.link)
				}
				if own {
					if out[0] == host {
						t.Errorf("container's %s namespace %s is the host's", tc.link, out[0])
					}
					if len(out) != 2 || out[1] != "ok" {
						t.Errorf("check %q in the container failed: %q", tc.check, out)
					}
				} else if out[0] != host {
					t.Errorf("container's %s namespace %s, want the host's %s", tc.link, out[0], host)
				}
				checkGone(t, b.id, b.dir)
			})
		}
	}
}

// TestUserNamespaceMapping checks the ID maps and that the container's
// root is an unprivileged host user.
func TestUserNamespaceMapping(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.addNamespace("user", "")
	b.Spec.Linux.UIDMappings = userMapping
	b.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 1000}}
	b.berth("run", "-d", b.id)
	pid := b.containerPid()
	for _, tc := range []struct{ file, want string }{
		{"uid_map", "0 100000 65536"},
		{"gid_map", "0 200000 1000"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := readProc(t, pid, tc.file)
			if got := strings.Join(strings.Fields(data), " "); got != tc.want {
				t.Errorf("%s = %q, want %q", tc.file, got, tc.want)
			}
		})
	}
	t.Run("host credentials", func(t *testing.T) {
		st := readProc(t, pid, "status")
		if f := strings.Fields(statusField(st, "Uid")); len(f) == 0 || f[0] != "100000" {
			t.Errorf("host Uid of the container's root = %v, want 100000", f)
		}
		if f := strings.Fields(statusField(st, "Gid")); len(f) == 0 || f[0] != "200000" {
			t.Errorf("host Gid of the container's root = %v, want 200000", f)
		}
	})
	b.berth("delete", "--force", b.id)
	checkGone(t, b.id, b.dir)
}

// TestTimeNamespaceOffsets checks that the offsets shift the clocks the
// container reads.
func TestTimeNamespaceOffsets(t *testing.T) {
	b := newBundle(t)
	b.addNamespace("time", "")
	b.Spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{
		"monotonic": {Secs: 2000000, Nanosecs: 5},
		"boottime":  {Secs: 3000000},
	}
	out := b.shOutput("cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime")
	lines := strings.Split(out, "\n")
	offsets := map[string]string{}
	for _, l := range lines {
		if f := strings.Fields(l); len(f) == 3 {
			offsets[f[0]] = f[1] + " " + f[2]
		}
	}
	if offsets["monotonic"] != "2000000 5" || offsets["boottime"] != "3000000 0" {
		t.Errorf("timens_offsets %q, want monotonic 2000000 5 and boottime 3000000 0", out)
	}
	up, err := strconv.Atoi(lines[len(lines)-1])
	if err != nil || up < 3000000 {
		t.Errorf("uptime in the container %q, want at least the 3000000 s boottime offset", lines[len(lines)-1])
	}
}

// TestJoinNamespace joins namespaces by path: those of a host helper
// process and those of another container.
func TestJoinNamespace(t *testing.T) {
	if suite == nil {
		t.Skip("integration environment unavailable (see TestMain output)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare(1) for the helper process (apt install util-linux)")
	}
	helper := startHelper(t, "sleep", "unshare", "--net", "--uts", "--ipc", "sh", "-c", "hostname joined-host; exec sleep 1000")
	t.Run("helper", func(t *testing.T) {
		b := newBundle(t)
		b.Spec.Hostname = ""
		for _, ns := range []specs.LinuxNamespaceType{"network", "uts", "ipc"} {
			b.addNamespace(ns, fmt.Sprintf("/proc/%d/ns/%s", helper, nsLink(ns)))
		}
		out := strings.Fields(b.shOutput("for n in net uts ipc; do readlink /proc/self/ns/$n; done; hostname"))
		want := []string{nsOf(t, helper, "net"), nsOf(t, helper, "uts"), nsOf(t, helper, "ipc"), "joined-host"}
		if strings.Join(out, " ") != strings.Join(want, " ") {
			t.Errorf("container saw %q, want %q", out, want)
		}
		if want[0] == hostNS(t, "net") {
			t.Fatal("the helper shares the host's network namespace: the test proves nothing")
		}
	})
	t.Run("container", func(t *testing.T) {
		a := newBundle(t, "sleep", "100")
		a.berth("run", "-d", a.id)
		apid := a.containerPid()
		b := newBundle(t)
		b.rename("b")
		b.addNamespace("network", fmt.Sprintf("/proc/%d/ns/net", apid))
		out := b.shOutput("readlink /proc/self/ns/net")
		if want := nsOf(t, apid, "net"); out != want {
			t.Errorf("container joined %q, want the other container's %q", out, want)
		}
		a.berth("delete", "--force", a.id)
		checkGone(t, a.id, a.dir)
	})
	// User and time namespaces by path: nsjoin_test.go.
}

// nsLink is the /proc/<pid>/ns name of a namespace type.
func nsLink(t specs.LinuxNamespaceType) string {
	switch t {
	case "network":
		return "net"
	case "mount":
		return "mnt"
	}
	return string(t)
}

func readProc(t *testing.T, pid int, name string) string {
	t.Helper()
	data, err := readFile(fmt.Sprintf("/proc/%d/%s", pid, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
