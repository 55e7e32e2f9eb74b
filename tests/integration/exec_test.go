package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// berth exec: a process executed into a created or running container
// joins its namespaces and cgroup, with the container's capabilities,
// rlimits and no_new_privs unless overridden, and every flag of runc's
// exec.

// allNS are the /proc/<pid>/ns names exec must join, in a fixed order.
var allNS = []string{"user", "mnt", "uts", "ipc", "pid", "net", "cgroup", "time"}

// nsScript prints "<name>=<link>" for each of allNS.
const nsScript = `for n in user mnt uts ipc pid net cgroup time; do echo "$n=$(readlink /proc/self/ns/$n)"; done`

// startSleeper runs the bundle's container detached with `sleep 1000` (the
// config's args are replaced) and returns the init's pid.
func (b *bundle) startSleeper() int {
	b.t.Helper()
	b.Spec.Process.Args = []string{"sleep", "1000"}
	b.berth("run", "-d", b.id)
	return b.containerPid()
}

// exec runs `berth exec <args...>` in the bundle's directory and returns
// stdout, stderr and the exit status.
func (b *bundle) exec(args ...string) (string, string, int) {
	b.t.Helper()
	return suite.runIn(b.dir, nil, append([]string{"exec"}, args...)...)
}

// execOK is exec that fails the test unless berth exits 0; it returns the
// trimmed stdout.
func (b *bundle) execOK(args ...string) string {
	b.t.Helper()
	out, errOut, code := b.exec(args...)
	if code != 0 {
		b.t.Fatalf("berth exec %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return strings.TrimSpace(out)
}

// onlyInit fails the test if the container's cgroup holds any live
// process but its init: a failed exec must leave nothing behind. Zombies
// are not counted: the host's init reaps a detached exec's process, in
// its own time.
func onlyInit(t *testing.T, b *bundle, initPid int) {
	t.Helper()
	var live []int
	for range 100 {
		live = slices.DeleteFunc(processesInCgroup(cgroupParent+"/"+b.id), func(pid int) bool {
			stat, err := readFile(fmt.Sprintf("/proc/%d/stat", pid))
			return err != nil || strings.Contains(stat, ") Z ")
		})
		if slices.Equal(live, []int{initPid}) {
			return
		}
		sleep()
	}
	t.Errorf("processes in the container's cgroup: %v, want only the init %d", live, initPid)
}

// containerNS is the container's namespace link of kind name, from its
// init: the time namespace is the one the init's children get, which not
// every kernel moves the init itself into at execve (Linux 6.1 does not).
func containerNS(t *testing.T, initPid int, name string) string {
	t.Helper()
	if name == "time" {
		return nsOf(t, initPid, "time_for_children")
	}
	return nsOf(t, initPid, name)
}

// procLine is the value of field name in /proc/<pid>/status.
func procLine(t *testing.T, pid int, name string) string {
	t.Helper()
	return statusField(readProc(t, pid, "status"), name)
}

// waitGone waits until process pid has exited (it may stay a zombie
// until its new parent reaps it).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 200 {
		stat, err := readFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(stat, ") Z ") {
			return
		}
		sleep()
	}
	t.Errorf("process %d outlived the container", pid)
}

// waitPidFile waits for a pid file and returns its pid.
func waitPidFile(t *testing.T, path string) int {
	t.Helper()
	pid, err := strconv.Atoi(waitFile(t, path))
	if err != nil {
		t.Fatalf("pid file %s: %v", path, err)
	}
	return pid
}

// TestExecFlags runs one exec per flag in a running container and checks
// what the process saw.
func TestExecFlags(t *testing.T) {
	b := newBundle(t)
	b.Spec.Process.NoNewPrivileges = false
	b.Spec.Process.Env = []string{"PATH=/usr/bin:/bin", "TERM=xterm", "KEEP=1"}
	b.Spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1000}}
	b.startSleeper()
	processJSON := func(p specs.Process) string {
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(b.dir, "process.json")
		writeFile(t, path, string(data))
		return path
	}
	for _, tc := range []struct {
		name string
		args func() []string // berth exec flags, then the command
		want string
	}{
		{"args", func() []string { return []string{b.id, "echo", "hello", "-n"} }, "hello -n"},
		{"double dash", func() []string { return []string{b.id, "--", "echo", "--env"} }, "--env"},
		{"default cwd", func() []string { return []string{b.id, "pwd"} }, "/"},
		{"--cwd", func() []string { return []string{"--cwd", "/tmp", b.id, "pwd"} }, "/tmp"},
		{"config env", func() []string { return []string{b.id, "sh", "-c", "echo $KEEP $TERM"} }, "1 xterm"},
		{
			// -e overrides the config's variable, without a duplicate.
			"--env", func() []string {
				return []string{"-e", "TERM=vt100", "--env", "NEW=2,3", b.id, "sh", "-c", "env | grep -c '^TERM='; echo $TERM $NEW $KEEP"}
			}, "1\nvt100 2,3 1",
		},
		{"--user uid:gid", func() []string { return []string{"-u", "1:1", b.id, "id"} }, "uid=1(daemon) gid=1(daemon)"},
		{"--user uid", func() []string { return []string{"--user", "65534", b.id, "sh", "-c", "id -u; id -g"} }, "65534\n0"},
		{"--user name", func() []string { return []string{"-u", "daemon", b.id, "id", "-u"} }, "1"},
		{"--additional-gids", func() []string { return []string{"-u", "1:1", "-g", "5", "--additional-gids", "7", b.id, "id", "-G"} }, "1 5 7"},
		{"no_new_privs of the config", func() []string { return []string{b.id, "grep", "NoNewPrivs", "/proc/self/status"} }, "NoNewPrivs:\t0"},
		{"--no-new-privs", func() []string { return []string{"--no-new-privs", b.id, "grep", "NoNewPrivs", "/proc/self/status"} }, "NoNewPrivs:\t1"},
		{
			"capabilities of the config", func() []string { return []string{b.id, "sh", "-c", "grep CapEff /proc/self/status"} },
			"CapEff:\t" + capMask(t, capsOf(b.Spec.Process.Capabilities.Effective)...),
		},
		{
			"--cap", func() []string {
				return []string{"--cap", "CAP_SYS_ADMIN", "-c", "CAP_NET_ADMIN", b.id, "sh", "-c", "grep CapEff /proc/self/status"}
			},
			"CapEff:\t" + capMask(t, append(capsOf(b.Spec.Process.Capabilities.Effective), unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN)...),
		},
		{"rlimits of the config", func() []string { return []string{b.id, "sh", "-c", "ulimit -n; ulimit -Hn"} }, "1000\n1024"},
		{
			"--process", func() []string {
				return []string{"-p", processJSON(specs.Process{
					Args: []string{"sh", "-c", "echo $X; pwd; id -u; ulimit -n; grep NoNewPrivs /proc/self/status"},
					Env:  []string{"X=from-json"}, Cwd: "/tmp", User: specs.User{UID: 1, GID: 1},
					Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 64, Soft: 64}},
					NoNewPrivileges: true,
				}), b.id}
			}, "from-json\n/tmp\n1\n64\nNoNewPrivs:\t1",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := b.execOK(tc.args()...); got != tc.want {
				t.Errorf("the process printed %q, want %q", got, tc.want)
			}
		})
	}
	b.berth("delete", "--force", b.id)
	checkGone(t, b.id, b.dir)
}

// capsOf maps the capability names the tests use to their numbers.
func capsOf(names []string) []int {
	numbers := map[string]int{
		"CAP_AUDIT_WRITE": unix.CAP_AUDIT_WRITE, "CAP_KILL": unix.CAP_KILL,
		"CAP_NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE, "CAP_SYS_ADMIN": unix.CAP_SYS_ADMIN,
		"CAP_NET_ADMIN": unix.CAP_NET_ADMIN, "CAP_CHOWN": unix.CAP_CHOWN, "CAP_SETUID": unix.CAP_SETUID,
	}
	var out []int
	for _, n := range names {
		out = append(out, numbers[n])
	}
	return out
}

// TestExecExitStatus: berth exec exits with the process's status, 128+n
// when signal n killed it.
func TestExecExitStatus(t *testing.T) {
	b := newBundle(t)
	b.startSleeper()
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"exit 255", 255},
		{"kill -KILL $$", 128 + int(syscall.SIGKILL)},
		{"kill -TERM $$", 128 + int(syscall.SIGTERM)},
	} {
		t.Run(tc.script, func(t *testing.T) {
			if _, errOut, code := b.exec(b.id, "sh", "-c", tc.script); code != tc.want {
				t.Errorf("berth exec sh -c %q: exit %d, want %d (stderr %q)", tc.script, code, tc.want, errOut)
			}
		})
	}
	b.berth("delete", "--force", b.id)
	checkGone(t, b.id, b.dir)
}

// TestExecSignals: a foreground berth exec forwards the signals it gets to
// the process, which handles them; its exit status is berth's.
func TestExecSignals(t *testing.T) {
	b := newBundle(t)
	b.startSleeper()
	stdout := hostFile(t, b, "stdout", "")
	cmd := berthCmd(b, "exec", b.id, "sh", "-c", `for s in TERM USR1 HUP INT; do trap "echo $s" $s; done
trap 'echo USR2; exit 5' USR2
echo ready
while :; do sleep 0.05; done`)
	cmd.Stdout, cmd.Stderr = stdout, stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitLine := func(want string) {
		t.Helper()
		for range 400 {
			if slices.Contains(strings.Split(contentOf(t, stdout), "\n"), want) {
				return
			}
			sleep()
		}
		_ = cmd.Process.Kill()
		t.Fatalf("the process never printed %s; output %q", want, contentOf(t, stdout))
	}
	waitLine("ready")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGHUP, syscall.SIGINT} {
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		waitLine(strings.TrimPrefix(unix.SignalName(sig), "SIG"))
	}
	if err := cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd, 60*time.Second); code != 5 {
		t.Errorf("berth exec: exit %d, want 5; output %q", code, contentOf(t, stdout))
	}
	b.berth("delete", "--force", b.id)
	checkGone(t, b.id, b.dir)
}

// TestExecDetached: -d returns once the process runs, --pid-file names it
// (as the host sees it), and the process is in the container's namespaces
// and cgroups; --pidfd-socket receives a pidfd of it.
func TestExecDetached(t *testing.T) {
	b := newBundle(t)
	initPid := b.startSleeper()
	pidFile := filepath.Join(b.dir, "exec.pid")
	sock, got := pidfdReceiver(t, b)
	b.execOK("-d", "--pid-file", pidFile, "--pidfd-socket", sock, b.id, "sleep", "999")
	pid := waitPidFile(t, pidFile)
	var fd int
	select {
	case fd = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("nothing arrived on the pidfd socket")
	}
	if fd < 0 {
		t.Fatal("the pidfd socket got no message with exactly one descriptor")
	}
	defer unix.Close(fd)
	if p := fdinfoPid(t, fd); p != strconv.Itoa(pid) {
		t.Errorf("the pidfd's Pid: %s, want the exec'd process %d", p, pid)
	}
	if cmdline := readProc(t, pid, "cmdline"); cmdline != "sleep\x00999\x00" {
		t.Errorf("pid file names %q, want the exec'd sleep 999", cmdline)
	}
	for _, n := range allNS {
		if n == "user" || n == "time" {
			continue // the container shares the host's
		}
		if got, want := nsOf(t, pid, n), nsOf(t, initPid, n); got != want {
			t.Errorf("%s namespace %s, want the init's %s", n, got, want)
		}
	}
	if got, want := readProc(t, pid, "cgroup"), readProc(t, initPid, "cgroup"); got != want {
		t.Errorf("cgroups:\n%s\nwant the init's:\n%s", got, want)
	}
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
		t.Fatalf("pidfd_send_signal: %v", err)
	}
	onlyInit(t, b, initPid)
	b.berth("delete", "--force", b.id)
	checkGone(t, b.id, b.dir)
}

// TestExecNamespaces execs into containers with each kind of namespace of
// their own, user, pid, time and cgroup among them: the process is in
// every one of the init's, and sees what they imply.
func TestExecNamespaces(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config func(b *bundle)
		script string // prints what the namespaces imply
		want   string
	}{
		{"default", nil, `[ $$ != 1 ] && tr '\0' ' ' </proc/1/cmdline; hostname`, "sleep 1000 runc"},
		{"user", func(b *bundle) {
			b.addNamespace("user", "")
			b.Spec.Linux.UIDMappings = userMapping
			b.Spec.Linux.GIDMappings = userMapping
		}, `id -u; awk '{print $1, $2, $3}' /proc/self/uid_map`, "0\n0 100000 65536"},
		{"time", func(b *bundle) {
			b.addNamespace("time", "")
			b.Spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 3000000}}
		}, `grep boottime /proc/self/timens_offsets | tr -s ' '`, "boottime 3000000 0"},
		{"cgroup", func(b *bundle) { b.addNamespace("cgroup", "") }, `grep -v ':/$' /proc/self/cgroup | wc -l`, "0"},
		{"all", func(b *bundle) {
			for _, ns := range []specs.LinuxNamespaceType{"user", "time", "cgroup"} {
				b.addNamespace(ns, "")
			}
			b.Spec.Linux.UIDMappings = userMapping
			b.Spec.Linux.GIDMappings = userMapping
			b.Spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 2000000}}
		}, `id -u; grep monotonic /proc/self/timens_offsets | tr -s ' '; [ $$ != 1 ] && echo notinit`, "0\nmonotonic 2000000 0\nnotinit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			if tc.config != nil {
				tc.config(b)
			}
			initPid := b.startSleeper()
			out := b.execOK(b.id, "sh", "-c", nsScript+"\n"+tc.script)
			lines := strings.Split(out, "\n")
			links := fields(strings.Join(lines[:len(allNS)], "\n"))
			for _, n := range allNS {
				if got, want := links[n], containerNS(t, initPid, n); got != want {
					t.Errorf("%s namespace %s, want the container's %s", n, got, want)
				}
			}
			if got := strings.Join(lines[len(allNS):], "\n"); got != tc.want {
				t.Errorf("the process printed %q, want %q", got, tc.want)
			}
			// The host's view of a detached exec: uids, cgroups.
			pidFile := filepath.Join(b.dir, "exec.pid")
			b.execOK("-d", "--pid-file", pidFile, b.id, "sleep", "999")
			pid := waitPidFile(t, pidFile)
			if got, want := procLine(t, pid, "Uid"), procLine(t, initPid, "Uid"); got != want {
				t.Errorf("host uids %q, want the init's %q", got, want)
			}
			if got, want := readProc(t, pid, "cgroup"), readProc(t, initPid, "cgroup"); got != want {
				t.Errorf("cgroups:\n%s\nwant the init's:\n%s", got, want)
			}
			b.berth("delete", "--force", b.id)
			checkGone(t, b.id, b.dir)
			waitGone(t, pid)
		})
	}
}

// TestExecCreated: a created container (its init waits for berth start)
// takes an exec too, in its time namespace although its init has not
// entered it yet.
func TestExecCreated(t *testing.T) {
	b := newBundle(t, "true")
	b.addNamespace("time", "")
	b.Spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 4000000}}
	b.berth("create", b.id)
	if got := b.execOK(b.id, "sh", "-c", "grep boottime /proc/self/timens_offsets | tr -s ' '"); got != "boottime 4000000 0" {
		t.Errorf("offsets %q in an exec into a created container, want boottime 4000000 0", got)
	}
	if st := b.state()["status"]; st != "created" {
		t.Errorf("status %v after the exec, want created", st)
	}
	b.berth("delete", "--force", b.id)
	checkGone(t, b.id, b.dir)
}

// TestExecPreserveFds: --preserve-fds N passes berth's fds 3..3+N-1 to the
// process.
func TestExecPreserveFds(t *testing.T) {
	b := newBundle(t)
	b.startSleeper()
	stdout := hostFile(t, b, "stdout", "")
	cmd := berthCmd(b, "exec", "--preserve-fds", "2", b.id, "sh", "-c", fdScript)
	cmd.Stdout, cmd.Stderr = stdout, stdout
	cmd.ExtraFiles = extraFiles(t, b, 3)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd, 60*time.Second); code != 0 {
		t.Fatalf("berth exec: exit %d; output %q", code, contentOf(t, stdout))
	}
	f := fields(contentOf(t, stdout))
	got := fmt.Sprintf("fd3=%s fd4=%s fd5=%s fds=%s", f["fd3"], f["fd4"], f["fd5"], strings.TrimSpace(f["fds"]))
	if want := "fd3=three fd4=four fd5=closed fds=0 1 2 3 4"; got != want {
		t.Errorf("the process saw %s, want %s", got, want)
	}
	b.berth("delete", "--force", b.id)
	checkGone(t, b.id, b.dir)
}

// TestExecTerminal: -t gives the process a pty of the container: to the
// console socket when detached, proxied to berth's terminal otherwise.
func TestExecTerminal(t *testing.T) {
	t.Run("detached", func(t *testing.T) {
		b := newBundle(t)
		b.startSleeper()
		r := listenConsole(t, b)
		b.execOK("-d", "-t", "--console-socket", r.path, b.id, "sh", "-c", "echo tty=$(tty); stty size; exit 0")
		name, master := r.master(t)
		if name != "/dev/pts/ptmx" {
			t.Errorf("console socket message %q, want /dev/pts/ptmx", name)
		}
		out := readTTY(master)
		if tty := out.wait(t, "tty="); !ptsName.MatchString(tty) {
			t.Errorf("tty %q, want a pty slave of the container", tty)
		}
		b.berth("delete", "--force", b.id)
		checkGone(t, b.id, b.dir)
	})
	t.Run("foreground", func(t *testing.T) {
		b := newBundle(t)
		b.startSleeper()
		master, slave := openPty(t)
		if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 90}); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(suite.berth, "--root", suite.root, "exec", "-t", b.id, "sh", "-c", `echo "tty=$(tty)"; echo "size=$(stty size)"; exit 6`)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		out := readTTY(master)
		if tty := out.wait(t, "tty="); !ptsName.MatchString(tty) {
			t.Errorf("tty %q, want a pty slave of the container", tty)
		}
		if size := out.wait(t, "size="); size != "24 90" {
			t.Errorf("size %q, want the outer terminal's 24 90", size)
		}
		if code := exitCode(t, cmd, 60*time.Second); code != 6 {
			t.Errorf("berth exec -t: exit %d, want 6", code)
		}
		b.berth("delete", "--force", b.id)
		checkGone(t, b.id, b.dir)
	})
}

// cgroupDirs returns the container's cgroup directories by controller,
// from its state ("" is the cgroup v2 or unified hierarchy).
func cgroupDirs(t *testing.T, b *bundle) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(suite.root, b.id, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Paths map[string]string `json:"cgroup_paths"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	return st.Paths
}

// cgroupsOf is /proc/<pid>/cgroup as hierarchy (controller list) -> path.
func cgroupsOf(t *testing.T, pid int) map[string]string {
	t.Helper()
	out := map[string]string{}
	for l := range strings.SplitSeq(strings.TrimSpace(readProc(t, pid, "cgroup")), "\n") {
		if f := strings.SplitN(l, ":", 3); len(f) == 3 {
			out[f[1]] = f[2]
		}
	}
	return out
}

// TestExecSubCgroup: --cgroup puts the process in an existing sub-cgroup
// of the container's, for every hierarchy or one controller; bad paths are
// refused.
func TestExecSubCgroup(t *testing.T) {
	b := newBundle(t)
	initPid := b.startSleeper()
	dirs := cgroupDirs(t, b)
	if len(dirs) == 0 {
		t.Skip("the container has no cgroup directory")
	}
	base := cgroupParent + "/" + b.id
	for _, d := range dirs {
		if !strings.HasSuffix(d, base) {
			t.Fatalf("cgroup %s is not the test's", d)
		}
		for _, sub := range []string{"sub", "sub2"} {
			if err := os.Mkdir(filepath.Join(d, sub), 0o755); err != nil && !os.IsExist(err) {
				t.Fatal(err)
			}
			// A v1 cpuset cgroup takes no task before it has cpus and
			// mems: those of its parent.
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				v, err := os.ReadFile(filepath.Join(d, f))
				if _, serr := os.Stat(filepath.Join(d, sub, f)); err == nil && serr == nil && strings.TrimSpace(string(v)) != "" {
					writeFile(t, filepath.Join(d, sub, f), string(v))
				}
			}
		}
	}
	initCgroups := cgroupsOf(t, initPid)
	// run execs sleep detached with args and returns its cgroups, for the
	// hierarchies where the init is in the container's cgroup.
	run := func(t *testing.T, args ...string) map[string]string {
		t.Helper()
		pidFile := filepath.Join(b.dir, "exec.pid")
		os.Remove(pidFile)
		b.execOK(append([]string{"-d", "--pid-file", pidFile}, append(args, b.id, "sleep", "999")...)...)
		pid := waitPidFile(t, pidFile)
		defer func() {
			_ = unix.Kill(pid, unix.SIGKILL)
			onlyInit(t, b, initPid)
		}()
		got := map[string]string{}
		for h, path := range cgroupsOf(t, pid) {
			if initCgroups[h] == base {
				got[h] = path
			}
		}
		if len(got) == 0 {
			t.Fatal("the init is in none of the container's cgroups")
		}
		return got
	}
	t.Run("every hierarchy", func(t *testing.T) {
		for h, path := range run(t, "--cgroup", "sub") {
			if path != base+"/sub" {
				t.Errorf("cgroup %q: %s, want %s", h, path, base+"/sub")
			}
		}
	})
	t.Run("per controller", func(t *testing.T) {
		if _, ok := dirs["memory"]; !ok {
			t.Skip("no cgroup v1 memory hierarchy: a controller prefix is cgroup v1 only")
		}
		got := run(t, "--cgroup", "memory:sub2", "--cgroup", "pids,freezer:sub")
		for h, path := range got {
			want := base
			switch h {
			case "memory":
				want = base + "/sub2"
			case "pids", "freezer":
				want = base + "/sub"
			}
			if path != want {
				t.Errorf("cgroup %q: %s, want %s", h, path, want)
			}
		}
	})
	t.Run("controller prefix on cgroup v2", func(t *testing.T) {
		if len(dirs) != 1 || dirs[""] == "" {
			t.Skip("not a cgroup v2 host")
		}
		_, errOut, code := b.exec("--cgroup", "memory:sub", b.id, "true")
		if code != 1 || !strings.Contains(errOut, "without a controller") {
			t.Errorf("exit %d, stderr %q; want exit 1 and an error about the controller", code, errOut)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing", []string{"--cgroup", "nosuch"}, "sub-cgroup nosuch"},
		{"escape", []string{"--cgroup", "../../escape"}, "not below the container's cgroup"},
		{"two paths", []string{"--cgroup", "sub", "--cgroup", "sub2"}, "must be the only --cgroup"},
		{"empty controller", []string{"--cgroup", ":sub"}, "empty controller"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := b.exec(append(tc.args, b.id, "true")...)
			if code != 1 || !strings.Contains(logMsg(strings.TrimSpace(errOut)), tc.want) {
				t.Errorf("berth exec %v: exit %d, stderr %q; want exit 1 and %q (stdout %q)", tc.args, code, errOut, tc.want, out)
			}
			onlyInit(t, b, initPid)
		})
	}
	b.berth("delete", "--force", b.id)
	checkGone(t, b.id, b.dir)
}

// TestExecPaused: exec refuses a paused container, unless --ignore-paused:
// then the process waits, frozen with the container, until it is resumed.
func TestExecPaused(t *testing.T) {
	b := newBundle(t)
	initPid := b.startSleeper()
	freezer := cgroupDirs(t, b)["freezer"]
	b.berth("pause", b.id)
	_, errOut, code := b.exec(b.id, "echo", "ok")
	if code != 1 || !strings.Contains(errOut, "paused") {
		t.Errorf("exec into a paused container: exit %d, stderr %q; want exit 1 and an error about the pause", code, errOut)
	}
	onlyInit(t, b, initPid)

	stdout := hostFile(t, b, "stdout", "")
	cmd := berthCmd(b, "exec", "--ignore-paused", b.id, "echo", "ok")
	cmd.Stdout, cmd.Stderr = stdout, stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if freezer != "" {
		// On cgroup v1, the thread that forks the process joins the
		// frozen cgroup first, and freezes there.
		for i := 0; ; i++ {
			tasks, _ := readFile(filepath.Join(freezer, "tasks"))
			if len(strings.Fields(tasks)) > 1 {
				break
			}
			if i == 400 {
				t.Fatalf("berth exec never entered the frozen cgroup; output %q", contentOf(t, stdout))
			}
			sleep()
		}
	}
	b.berth("resume", b.id)
	if code := exitCode(t, cmd, 60*time.Second); code != 0 || strings.TrimSpace(contentOf(t, stdout)) != "ok" {
		t.Errorf("berth exec --ignore-paused: exit %d, output %q; want 0 and ok", code, contentOf(t, stdout))
	}
	b.berth("delete", "--force", b.id)
	checkGone(t, b.id, b.dir)
}

// TestExecBadInput: exec that cannot run fails with exit 1 and a one-line
// error, and leaves no process in the container.
func TestExecBadInput(t *testing.T) {
	b := newBundle(t)
	initPid := b.startSleeper()
	bad := filepath.Join(b.dir, "bad.json")
	writeFile(t, bad, `{"args": ["true"`)
	noArgs := filepath.Join(b.dir, "noargs.json")
	writeFile(t, noArgs, `{"cwd": "/"}`)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", []string{b.id}, "a command is required"},
		{"malformed process.json", []string{"-p", bad, b.id}, "bad.json"},
		{"process.json without args", []string{"-p", noArgs, b.id}, "args: must not be empty"},
		{"missing process.json", []string{"-p", filepath.Join(b.dir, "none.json"), b.id}, "none.json"},
		{"cwd that does not exist", []string{"--cwd", "/nonexistent", b.id, "true"}, "/nonexistent"},
		{"relative cwd", []string{"--cwd", "tmp", b.id, "true"}, "not an absolute path"},
		{"user that does not exist", []string{"-u", "nosuchuser", b.id, "true"}, "nosuchuser"},
		{"malformed user", []string{"-u", "1:", b.id, "true"}, "--user"},
		{"negative gid", []string{"-g", "-1", b.id, "true"}, "--additional-gids"},
		{"program that does not exist", []string{b.id, "/nonexistent"}, "/nonexistent"},
		{"console socket without tty", []string{"-d", "--console-socket", filepath.Join(b.dir, "c.sock"), b.id, "true"}, "console socket"},
		{"tty detached without console socket", []string{"-d", "-t", b.id, "true"}, "console-socket"},
		{"preserve-fds negative", []string{"--preserve-fds", "-1", b.id, "true"}, "--preserve-fds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := b.exec(tc.args...)
			msg := strings.TrimSpace(errOut)
			if code != 1 {
				t.Errorf("berth exec %v: exit %d, want 1\nstdout: %s\nstderr: %s", tc.args, code, out, errOut)
			}
			if strings.Count(msg, "\n") != 0 || !strings.Contains(logMsg(msg), tc.want) {
				t.Errorf("berth exec %v: error %q, want one line mentioning %q", tc.args, msg, tc.want)
			}
			onlyInit(t, b, initPid)
		})
	}
	t.Run("security labels", func(t *testing.T) {
		if v, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil && strings.HasPrefix(string(v), "Y") {
			t.Skip("AppArmor is enabled here: the error case needs a host without it")
		}
		if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
			t.Skip("SELinux is enabled here: the error case needs a host without it")
		}
		for _, args := range [][]string{{"--apparmor", "some-profile"}, {"--process-label", "system_u:system_r:container_t:s0"}} {
			_, errOut, code := b.exec(append(args, b.id, "true")...)
			if code != 1 || !strings.Contains(errOut, "not supported") {
				t.Errorf("berth exec %v: exit %d, stderr %q; want exit 1 and an error that the module is not enabled", args, code, errOut)
			}
		}
		onlyInit(t, b, initPid)
	})
	b.berth("delete", "--force", b.id)
	checkGone(t, b.id, b.dir)
}

// TestExecStoppedOrMissing: exec into a container whose process has
// exited, or that does not exist, fails with exit 1.
func TestExecStoppedOrMissing(t *testing.T) {
	b := newBundle(t, "true")
	b.berth("run", "-d", b.id)
	waitStatus(t, b, "stopped")
	_, errOut, code := b.exec(b.id, "echo", "ok")
	if code != 1 || !strings.Contains(errOut, "stopped") {
		t.Errorf("exec into a stopped container: exit %d, stderr %q; want exit 1 and an error about it", code, errOut)
	}
	b.berth("delete", b.id)
	_, errOut, code = b.exec(b.id, "echo", "ok")
	if code != 1 || !strings.Contains(errOut, "does not exist") {
		t.Errorf("exec into a deleted container: exit %d, stderr %q; want exit 1 and does not exist", code, errOut)
	}
	checkGone(t, b.id, b.dir)
}

// startTimeOf is field 22 of /proc/<pid>/stat, the process's start time
// in clock ticks since boot.
func startTimeOf(t *testing.T, pid int) uint64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// After the command's ") " come fields 3 and up.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	v, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestExecPidReuse: when the init's pid names another process (the pid
// was recycled), exec refuses the container as not running and never
// enters that process's namespaces. The state records the init's start
// time and namespaces; the test points the state's pid at a host process
// to play the newcomer, with the newcomer's start time, as if it had
// started in the init's clock tick.
func TestExecPidReuse(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare(1) for the helper process (apt install util-linux)")
	}
	b := newBundle(t)
	initPid := b.startSleeper()
	helper := startHelper(t, "sleep", "unshare", "--uts", "sh", "-c", "hostname newcomer; exec sleep 1000")
	statePath := filepath.Join(suite.root, b.id, "state.json")
	orig, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(orig, &st); err != nil {
		t.Fatal(err)
	}
	st["init_process_pid"] = helper
	// The worst case: the newcomer started in the init's clock tick, so
	// that its start time is the init's. Its namespaces tell it apart.
	st["init_process_start"] = startTimeOf(t, helper)
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, statePath, string(data))
	out, errOut, code := b.exec(b.id, "hostname")
	writeFile(t, statePath, string(orig))
	if code != 1 || !strings.Contains(errOut, "not running") {
		t.Errorf("exec with a recycled init pid: exit %d, stdout %q, stderr %q; want exit 1, the container not running", code, out, errOut)
	}
	if strings.Contains(out, "newcomer") {
		t.Error("exec entered the namespaces of the process that took the init's pid")
	}
	onlyInit(t, b, initPid)
	b.berth("delete", "--force", b.id)
	checkGone(t, b.id, b.dir)
}

// TestExecRoot: the exec'd process sees the container's root also where
// the container's root is not its mount namespace's root: without
// pivot_root (--no-pivot), and without a mount namespace of its own.
func TestExecRoot(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config func(b *bundle)
		create []string
	}{
		{"no-pivot", nil, []string{"--no-pivot"}},
		{"no mount namespace", func(b *bundle) {
			b.removeNamespace("mount")
			b.Spec.Root.Readonly = false
			b.Spec.Linux.MaskedPaths = nil
			b.Spec.Linux.ReadonlyPaths = nil
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "sleep", "1000")
			if tc.config != nil {
				tc.config(b)
			}
			writeFile(t, filepath.Join(b.rootfs(), "marker"), "the container's root\n")
			b.berth(append(append([]string{"run", "-d"}, tc.create...), b.id)...)
			if got := b.execOK(b.id, "sh", "-c", "cat /marker; cd /tmp && pwd"); got != "the container's root\n/tmp" {
				t.Errorf("the process printed %q, want the container's /marker and /tmp", got)
			}
			if got := b.execOK("--cwd", "/bin", b.id, "pwd"); got != "/bin" {
				t.Errorf("--cwd /bin: pwd %q", got)
			}
			b.berth("delete", "--force", b.id)
			checkGone(t, b.id, b.dir)
		})
	}
}
