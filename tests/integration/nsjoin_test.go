package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Joining namespaces by path on create (linux.namespaces[].path): every
// kind, including a user namespace (with its own mappings) and a pid or
// time namespace, which only a single-threaded process can join or which
// need a fork (libcontainer/nsenter).

// nsHelper starts `unshare <flags> sleep 1000` (with --fork when
// children) in a process group of its own, and returns the pid of unshare
// once its namespace link of kind name (for its children, with --fork)
// differs from the test's own: the new namespace is then in place. A host
// whose unshare(1) or kernel cannot make the namespace skips the test,
// saying why.
func nsHelper(t *testing.T, name string, children bool, flags ...string) int {
	t.Helper()
	args := flags
	link := name
	if children {
		args = append(args, "--fork")
		link += "_for_children"
	}
	errOut, err := os.CreateTemp(suite.tmp, "unshare-")
	if err != nil {
		t.Fatal(err)
	}
	defer errOut.Close()
	cmd := exec.Command("unshare", append(args, "sleep", "1000")...)
	cmd.Stderr = errOut
	// The group takes the forked sleep along when the test ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Skipf("no unshare(1) to make the namespace: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	pid := cmd.Process.Pid
	host := hostNS(t, name)
	for range 200 {
		select {
		case <-exited:
			t.Skipf("unshare %v cannot make a %s namespace here: %s", flags, name, strings.TrimSpace(readBack(errOut)))
		default:
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, link)); err == nil && l != host {
			return pid
		}
		sleep()
	}
	t.Fatalf("unshare %v never made a %s namespace", flags, name)
	return 0
}

// TestNsJoinByPath joins each kind of namespace by path and checks that
// the container's process is in it.
func TestNsJoinByPath(t *testing.T) {
	if suite == nil {
		t.Skip("integration environment unavailable (see TestMain output)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare(1) for the helper processes (apt install util-linux)")
	}
	for _, tc := range []struct {
		typ   specs.LinuxNamespaceType
		link  string
		setup func(t *testing.T) string // the path to join
		check string                    // shell check run in the container, must print ok
	}{
		{"ipc", "ipc", func(t *testing.T) string {
			return fmt.Sprintf("/proc/%d/ns/ipc", nsHelper(t, "ipc", false, "--ipc"))
		}, ""},
		{"uts", "uts", func(t *testing.T) string {
			h := startHelper(t, "sleep", "unshare", "--uts", "sh", "-c", "hostname joined; exec sleep 1000")
			return fmt.Sprintf("/proc/%d/ns/uts", h)
		}, `[ "$(hostname)" = joined ] && echo ok`},
		{"network", "net", func(t *testing.T) string {
			return fmt.Sprintf("/proc/%d/ns/net", nsHelper(t, "net", false, "--net"))
		}, `[ "$(ls /sys/class/net)" = lo ] && echo ok`},
		{"mount", "mnt", func(t *testing.T) string {
			return fmt.Sprintf("/proc/%d/ns/mnt", nsHelper(t, "mnt", false, "--mount"))
		}, ""},
		{"cgroup", "cgroup", func(t *testing.T) string {
			return fmt.Sprintf("/proc/%d/ns/cgroup", nsHelper(t, "cgroup", false, "--cgroup"))
		}, ""},
		{"pid", "pid", func(t *testing.T) string {
			return fmt.Sprintf("/proc/%d/ns/pid_for_children", nsHelper(t, "pid", true, "--pid", "--mount-proc"))
		}, `[ $$ != 1 ] && echo ok`},
		{"time", "time", func(t *testing.T) string {
			return fmt.Sprintf("/proc/%d/ns/time_for_children", nsHelper(t, "time", true, "--time", "--boottime", "5000000"))
		}, `[ "$(cut -d. -f1 /proc/uptime)" -ge 5000000 ] && echo ok`},
	} {
		t.Run(string(tc.typ), func(t *testing.T) {
			path := tc.setup(t)
			target, err := os.Readlink(path)
			if err != nil {
				t.Fatal(err)
			}
			if target == hostNS(t, tc.link) {
				t.Fatalf("the helper's %s namespace is the host's: the test proves nothing", tc.link)
			}
			b := newBundle(t)
			if tc.typ == "uts" {
				b.Spec.Hostname = ""
			}
			b.addNamespace(tc.typ, path)
			script := "readlink /proc/self/ns/" + tc.link
			if tc.check != "" {
				script += "; " + tc.check
			}
			out := strings.Fields(b.shOutput(script))
			if len(out) == 0 || out[0] != target {
				t.Errorf("the container's %s namespace: %q, want the joined %s", tc.link, out, target)
			}
			if tc.check != "" && (len(out) != 2 || out[1] != "ok") {
				t.Errorf("check %q in the container failed: %q", tc.check, out)
			}
			checkGone(t, b.id, b.dir)
		})
	}
}

// TestNsJoinUserNamespace joins another container's user namespace: the
// container gets that namespace's mappings (none are in its config), with
// new namespaces of its own that belong to it, or with that container's
// pid and time namespaces as well.
func TestNsJoinUserNamespace(t *testing.T) {
	a := newBundle(t)
	a.addNamespace("user", "")
	a.addNamespace("time", "")
	a.Spec.Linux.UIDMappings = userMapping
	a.Spec.Linux.GIDMappings = userMapping
	a.Spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 6000000}}
	apid := a.startSleeper()
	const script = `id -u; awk '{print $1, $2, $3}' /proc/self/uid_map; for n in user pid net mnt time; do echo "$n=$(readlink /proc/self/ns/$n)"; done; echo self=$$; echo pid1=$(tr '\0' ' ' </proc/1/cmdline)`
	for _, tc := range []struct {
		name   string
		joined []specs.LinuxNamespaceType // of container a, besides user
	}{
		{"new namespaces", nil},
		{"with pid and time", []specs.LinuxNamespaceType{"pid", "time"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			b.rename("b")
			b.addNamespace("user", fmt.Sprintf("/proc/%d/ns/user", apid))
			for _, typ := range tc.joined {
				link := nsLink(typ)
				if typ == "time" {
					link = "time_for_children" // see containerNS
				}
				b.addNamespace(typ, fmt.Sprintf("/proc/%d/ns/%s", apid, link))
			}
			b.Spec.Linux.UIDMappings, b.Spec.Linux.GIDMappings = nil, nil
			out := b.shOutput(script)
			f := fields(out)
			lines := strings.Split(out, "\n")
			if len(lines) < 2 || lines[0] != "0" || lines[1] != "0 100000 65536" {
				t.Errorf("uid and uid_map %q, want 0 and the joined namespace's 0 100000 65536", lines)
			}
			if f["user"] != nsOf(t, apid, "user") {
				t.Errorf("user namespace %s, want container a's %s", f["user"], nsOf(t, apid, "user"))
			}
			if f["net"] == nsOf(t, apid, "net") || f["mnt"] == nsOf(t, apid, "mnt") {
				t.Errorf("the container shares a's net or mount namespace: %q", out)
			}
			joinedPid := len(tc.joined) > 0
			if got, want := f["pid"] == nsOf(t, apid, "pid"), joinedPid; got != want {
				t.Errorf("pid namespace %s, a's %s: joined %v, want %v", f["pid"], nsOf(t, apid, "pid"), got, want)
			}
			if joinedPid && (f["self"] == "1" || strings.TrimSpace(f["pid1"]) != "sleep 1000") {
				t.Errorf("in a's pid namespace, the process is %s and pid 1 runs %q; want a's sleep as pid 1", f["self"], f["pid1"])
			}
			if !joinedPid && f["self"] != "1" {
				t.Errorf("in a pid namespace of its own, the process is pid %s, want 1", f["self"])
			}
			if got, want := f["time"] == containerNS(t, apid, "time"), joinedPid; got != want {
				t.Errorf("time namespace %s, a's %s: joined %v, want %v", f["time"], containerNS(t, apid, "time"), got, want)
			}
			checkGone(t, b.id, b.dir)
		})
	}
	a.berth("delete", "--force", a.id)
	checkGone(t, a.id, a.dir)
}

// TestNsJoinErrors: a namespace path that is not a namespace, or one of
// another kind, or a combination berth cannot join, fails with exit 1, a
// clear error, and nothing left behind.
func TestNsJoinErrors(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare(1) for the helper process (apt install util-linux)")
	}
	helper := startHelper(t, "sleep", "unshare", "--uts", "--mount", "sleep", "1000")
	for _, tc := range []struct {
		name   string
		config func(b *bundle)
		want   string
	}{
		{"not a namespace", func(b *bundle) {
			b.addNamespace("network", filepath.Join(b.dir, "config.json"))
		}, "is not a namespace file"},
		{"wrong type", func(b *bundle) {
			b.addNamespace("network", fmt.Sprintf("/proc/%d/ns/uts", helper))
		}, "is a uts namespace, not a net namespace"},
		{"missing", func(b *bundle) {
			b.addNamespace("ipc", "/proc/0/ns/ipc")
		}, "linux.namespaces"},
		{"mount with a new user namespace", func(b *bundle) {
			b.addNamespace("mount", fmt.Sprintf("/proc/%d/ns/mnt", helper))
			b.addNamespace("user", "")
			b.Spec.Linux.UIDMappings = userMapping
			b.Spec.Linux.GIDMappings = userMapping
		}, "needs the user namespace joined by path too"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			tc.config(b)
			b.expectFailure(b.id, tc.want, "run", b.id)
		})
	}
}
