package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// sh makes the container's process `sh -c script`.
func (b *bundle) sh(script string) {
	b.Spec.Process.Args = []string{"sh", "-c", script}
}

// output runs the container in the foreground, fails the test unless it
// exits 0, and returns its stdout.
func (b *bundle) output() string {
	b.t.Helper()
	out, errOut, code := b.runContainer()
	if code != 0 {
		b.t.Fatalf("berth run: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	return out
}

// shOutput runs `sh -c script` in the container and returns its trimmed
// stdout.
func (b *bundle) shOutput(script string) string {
	b.t.Helper()
	// "exit 0": the script's last command is not exec'd (it would
	// replace the shell as pid 1) and its status does not matter.
	b.sh(script + "\nexit 0")
	return strings.TrimSpace(b.output())
}

// addNamespace adds (or replaces) a namespace of type typ, joined by path
// when path is not empty.
func (b *bundle) addNamespace(typ specs.LinuxNamespaceType, path string) {
	b.removeNamespace(typ)
	b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: typ, Path: path})
}

// addMount appends a mount to the config.
func (b *bundle) addMount(m specs.Mount) {
	b.Spec.Mounts = append(b.Spec.Mounts, m)
}

// addCaps adds capabilities to the bounding, effective and permitted sets.
func (b *bundle) addCaps(caps ...string) {
	c := b.Spec.Process.Capabilities
	for _, set := range []*[]string{&c.Bounding, &c.Effective, &c.Permitted} {
		for _, cp := range caps {
			if !slices.Contains(*set, cp) {
				*set = append(*set, cp)
			}
		}
	}
}

// rootfs is the host path of the bundle's rootfs.
func (b *bundle) rootfs() string { return filepath.Join(b.dir, "rootfs") }

// hostDir makes a directory on the host (under the bundle) for a test to
// bind-mount; it is removed with the bundle.
func (b *bundle) hostDir(name string) string {
	b.t.Helper()
	d := filepath.Join(b.dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		b.t.Fatal(err)
	}
	return d
}

// hostNS is the host's (the test process's) namespace link of kind name,
// as "net:[4026531840]".
func hostNS(t *testing.T, name string) string {
	t.Helper()
	l, err := os.Readlink("/proc/self/ns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// nsOf is the namespace link of kind name of process pid.
func nsOf(t *testing.T, pid int, name string) string {
	t.Helper()
	l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, name))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// startHelper starts a host process for a test and kills it when the test
// ends. It waits until the process has exec'd the last program of args
// (whose name is want) so that its namespaces are the final ones.
func startHelper(t *testing.T, want string, args ...string) int {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pid := cmd.Process.Pid
	for range 200 {
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == want {
			return pid
		}
		sleep()
	}
	t.Fatalf("helper %v never ran %s", args, want)
	return 0
}

// containerPid is the pid of the container's init as berth state says.
func (b *bundle) containerPid() int {
	b.t.Helper()
	pid, ok := b.state()["pid"].(float64)
	if !ok || pid <= 0 {
		b.t.Fatalf("no pid in state %v", b.state())
	}
	return int(pid)
}

// expectFailure runs `berth <args...>` in the bundle (after writing its
// config), and checks that it exits 1 with a one-line error containing
// want, then that nothing of the container id is left behind.
func (b *bundle) expectFailure(id, want string, args ...string) {
	b.t.Helper()
	b.write()
	b.expectFailureAsIs(id, want, args...)
}

// expectFailureAsIs is expectFailure without writing the config first.
func (b *bundle) expectFailureAsIs(id, want string, args ...string) {
	b.t.Helper()
	out, errOut, code := suite.runIn(b.dir, nil, args...)
	if code != 1 {
		b.t.Errorf("berth %s: exit %d, want 1\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	msg := strings.TrimSpace(errOut)
	b.t.Logf("berth %s: %s", args[0], msg)
	if strings.Count(msg, "\n") != 0 {
		b.t.Errorf("berth %s: error is not one line:\n%s", strings.Join(args, " "), errOut)
	}
	if !strings.Contains(logMsg(msg), want) {
		b.t.Errorf("berth %s: error %q does not mention %q", strings.Join(args, " "), msg, want)
	}
	checkGone(b.t, id, b.dir)
}

// checkGone fails the test if anything of container id is left: its state
// directory, its listing, a cgroup directory, a process in its cgroup, or
// a mount under dir (the bundle).
func checkGone(t *testing.T, id, dir string) {
	t.Helper()
	if id != "" && !strings.ContainsAny(id, "/") && id != "." && id != ".." {
		if _, err := os.Lstat(filepath.Join(suite.root, id)); err == nil {
			t.Errorf("state directory %s left behind", filepath.Join(suite.root, id))
		}
		out, _, _ := suite.run("list", "-q")
		for _, l := range strings.Fields(out) {
			if l == id {
				t.Errorf("berth list -q still shows %s", id)
			}
		}
	}
	if id != "" {
		for _, h := range cgroupHierarchies() {
			d := filepath.Join(h, cgroupParent, id)
			if _, err := os.Stat(d); err == nil && filepath.Dir(d) == filepath.Join(h, cgroupParent) {
				t.Errorf("cgroup %s left behind", d)
			}
		}
		if pids := processesInCgroup(cgroupParent + "/" + id); len(pids) > 0 {
			t.Errorf("processes left in cgroup %s/%s: %v", cgroupParent, id, pids)
		}
	}
	if pids := strayInits(); len(pids) > 0 {
		t.Errorf("berth init processes of no live container: %v", pids)
	}
	if dir != "" {
		if m := mountsUnder(dir); len(m) > 0 {
			t.Errorf("mounts left under %s: %v", dir, m)
		}
	}
}

// processesInCgroup lists the pids whose cgroup (in any hierarchy) is path
// or below it.
func processesInCgroup(path string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/cgroup")
		if err != nil {
			continue
		}
		for l := range strings.SplitSeq(string(data), "\n") {
			f := strings.SplitN(l, ":", 3)
			if len(f) == 3 && (f[2] == path || strings.HasPrefix(f[2], path+"/")) {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// strayInits lists the processes running `<suite berth> init` in a test
// cgroup whose container berth no longer lists.
func strayInits() []string {
	out, _, _ := suite.run("list", "-q")
	live := strings.Fields(out)
	var stray []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) < 2 || args[0] != suite.berth || args[1] != "init" {
			continue
		}
		data, _ := os.ReadFile("/proc/" + e.Name() + "/cgroup")
		for l := range strings.SplitSeq(string(data), "\n") {
			f := strings.SplitN(l, ":", 3)
			if len(f) != 3 || !strings.HasPrefix(f[2], cgroupParent+"/") {
				continue
			}
			id := strings.SplitN(strings.TrimPrefix(f[2], cgroupParent+"/"), "/", 2)[0]
			if !slices.Contains(live, id) {
				stray = append(stray, e.Name()+" ("+id+")")
			}
			break
		}
	}
	return stray
}

// mountsUnder lists the host's mount points at or below dir.
func mountsUnder(dir string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}

// waitFile waits (polling, a test-only loop) until path exists and returns
// its content.
func waitFile(t *testing.T, path string) string {
	t.Helper()
	for range 200 {
		if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
			return string(data)
		}
		sleep()
	}
	t.Fatalf("%s never appeared", path)
	return ""
}

// capMask is the hex capability mask /proc/<pid>/status shows for caps.
func capMask(t *testing.T, caps ...int) string {
	t.Helper()
	var m uint64
	for _, c := range caps {
		m |= 1 << c
	}
	return fmt.Sprintf("%016x", m)
}

// statusField returns a field of a /proc/<pid>/status text.
func statusField(status, name string) string {
	for l := range strings.SplitSeq(status, "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func ptr[T any](v T) *T { return &v }

func readFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	return string(data), err
}

// rename gives the bundle's container another id (and cgroup), for a test
// that runs two containers.
func (b *bundle) rename(suffix string) {
	b.id += "-" + suffix
	b.Spec.Linux.CgroupsPath = cgroupParent + "/" + b.id
}

// removeMount drops the mounts at dest from the config.
func (b *bundle) removeMount(dest string) {
	b.Spec.Mounts = slices.DeleteFunc(b.Spec.Mounts, func(m specs.Mount) bool { return m.Destination == dest })
}

func itoa(n int) string { return strconv.Itoa(n) }

// logMsg returns the message of a berth log line (`time=... level=error
// msg="..."`), unquoted; any other text as it is.
func logMsg(line string) string {
	_, rest, ok := strings.Cut(line, " msg=")
	if !ok {
		return line
	}
	if q, err := strconv.QuotedPrefix(rest); err == nil {
		if m, err := strconv.Unquote(q); err == nil {
			return m
		}
	}
	return strings.Fields(rest)[0]
}
