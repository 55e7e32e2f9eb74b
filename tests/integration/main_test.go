package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// env is what every test shares: the binary, a state root and a busybox
// rootfs template.
type env struct {
	berth   string // absolute path of bin/berth
	root    string // --root for every call
	busybox string // host path of a static busybox
	tmp     string // removed at the end
}

var suite *env // set once by TestMain, read-only after

// cgroupParent is the test-only cgroup parent of every test container.
const cgroupParent = "/berth-test"

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	e, skip := setupEnv()
	if skip != "" {
		fmt.Fprintln(os.Stderr, "integration tests skipped:", skip)
		// Run anyway so that every test reports its skip.
		return m.Run()
	}
	suite = e
	code := m.Run()
	if leaks := e.leaks(); len(leaks) > 0 {
		fmt.Fprintln(os.Stderr, "integration tests left things behind:")
		for _, l := range leaks {
			fmt.Fprintln(os.Stderr, "  "+l)
		}
		code = 1
	}
	e.cleanup()
	return code
}

func setupEnv() (*env, string) {
	if os.Geteuid() != 0 {
		return nil, "need root"
	}
	bin := os.Getenv("BERTH_BINARY")
	if bin == "" {
		if wd, err := os.Getwd(); err == nil {
			bin = filepath.Join(wd, "..", "..", "bin", "berth")
		}
	}
	bin, _ = filepath.Abs(bin)
	if _, err := os.Stat(bin); err != nil {
		return nil, "no berth binary (build it with make build, or set BERTH_BINARY): " + err.Error()
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
			if _, err := os.Stat(p); err == nil {
				bb = p
			}
		}
	}
	if bb == "" {
		return nil, "no busybox (apt install busybox-static)"
	}
	tmp, err := os.MkdirTemp("", "berth-it-")
	if err != nil {
		return nil, err.Error()
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err.Error()
	}
	return &env{berth: bin, root: filepath.Join(tmp, "state"), busybox: bb, tmp: tmp}, ""
}

// leaks lists what the tests left behind: containers in the state root,
// mounts under the temp dir, cgroups under the test parent.
func (e *env) leaks() []string {
	var out []string
	if entries, err := os.ReadDir(e.root); err == nil {
		for _, d := range entries {
			out = append(out, "container state: "+d.Name())
		}
	}
	if data, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		s := bufio.NewScanner(bytes.NewReader(data))
		for s.Scan() {
			f := strings.Fields(s.Text())
			if len(f) > 4 && strings.HasPrefix(f[4], e.tmp) {
				out = append(out, "mount: "+f[4])
			}
		}
	}
	for _, h := range cgroupHierarchies() {
		dir := filepath.Join(h, cgroupParent)
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, d := range entries {
			if d.IsDir() {
				out = append(out, "cgroup: "+filepath.Join(dir, d.Name()))
			}
		}
	}
	return out
}

func (e *env) cleanup() {
	for _, h := range cgroupHierarchies() {
		_ = os.Remove(filepath.Join(h, cgroupParent))
	}
	_ = os.RemoveAll(e.tmp)
}

// cgroupHierarchies returns the mount points of every cgroup hierarchy.
func cgroupHierarchies() []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		line := s.Text()
		i := strings.Index(line, " - ")
		if i < 0 {
			continue
		}
		f := strings.Fields(line[:i])
		t := strings.Fields(line[i+3:])
		if len(t) > 0 && (t[0] == "cgroup" || t[0] == "cgroup2") && len(f) > 4 {
			out = append(out, f[4])
		}
	}
	return out
}

// bundle is a busybox bundle for one test.
type bundle struct {
	t    *testing.T
	dir  string
	id   string
	Spec *specs.Spec
}

// newBundle makes a bundle whose rootfs has busybox and its applets, a
// minimal /etc, and a config from `berth spec` with terminal off, the given
// args and an absolute cgroupsPath under the test parent. The container
// (if any) and the bundle are removed when the test ends.
func newBundle(t *testing.T, args ...string) *bundle {
	t.Helper()
	if suite == nil {
		t.Skip("integration environment unavailable (see TestMain output)")
	}
	id := containerName(t)
	dir, err := os.MkdirTemp(suite.tmp, id+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	makeRootfs(t, filepath.Join(dir, "rootfs"))
	out, err := exec.Command(suite.berth, "spec", "--bundle", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("berth spec: %v: %s", err, out)
	}
	b := &bundle{t: t, dir: dir, id: id}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	spec.Process.Terminal = false
	if len(args) > 0 {
		spec.Process.Args = args
	}
	spec.Linux.CgroupsPath = cgroupParent + "/" + id
	b.Spec = &spec
	t.Cleanup(func() {
		_, _, _ = suite.run("delete", "--force", b.id)
		_ = os.RemoveAll(dir)
	})
	return b
}

// containerName derives a unique, valid container id from the test name.
func containerName(t *testing.T) string {
	r := strings.NewReplacer("/", "-", " ", "-", "#", "-")
	name := r.Replace(strings.ToLower(t.Name()))
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return strings.TrimLeft(name, "-.") + fmt.Sprintf("-%d", os.Getpid())
}

func makeRootfs(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(suite.busybox, filepath.Join(dir, "bin", "busybox"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(suite.busybox, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		_ = os.Symlink("busybox", filepath.Join(dir, "bin", applet))
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\ndaemon:x:1:\ntty:x:5:\nnogroup:x:65534:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}

// removeNamespace drops a namespace from the config: the container shares
// berth's.
func (b *bundle) removeNamespace(t specs.LinuxNamespaceType) {
	var keep []specs.LinuxNamespace
	for _, ns := range b.Spec.Linux.Namespaces {
		if ns.Type != t {
			keep = append(keep, ns)
		}
	}
	b.Spec.Linux.Namespaces = keep
}

// write saves the bundle's config.json.
func (b *bundle) write() {
	b.t.Helper()
	data, err := json.MarshalIndent(b.Spec, "", "  ")
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "config.json"), data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// run calls berth with the suite's root and returns stdout, stderr and the
// exit status.
func (e *env) run(args ...string) (string, string, int) {
	return e.runIn("", nil, args...)
}

func (e *env) runIn(dir string, stdin []byte, args ...string) (string, string, int) {
	return runBinary(e.berth, e.root, dir, stdin, nil, args...)
}

// runBinary runs `bin --root root args...` in dir with stdin and with
// extra as fds 3 and up, and returns its stdout, stderr and exit status.
func runBinary(bin, root, dir string, stdin []byte, extra []*os.File, args ...string) (string, string, int) {
	cmd := exec.Command(bin, append([]string{"--root", root}, args...)...)
	cmd.Dir = dir
	cmd.ExtraFiles = extra
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	// Files, not pipes: a detached container inherits berth's stdio and
	// would hold a pipe open long after berth exits.
	stdout, stderr := tempFile(), tempFile()
	defer stdout.Close()
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	out, errOut := readBack(stdout), readBack(stderr)
	if err != nil && code == -1 {
		errOut += err.Error()
	}
	return out, errOut, code
}

// tempFile is an unlinked temporary file for a command's output.
func tempFile() *os.File {
	f, err := os.CreateTemp(suite.tmp, "out-")
	if err != nil {
		panic(err)
	}
	_ = os.Remove(f.Name())
	return f
}

func readBack(f *os.File) string {
	data, err := os.ReadFile("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(data)
}

// berth runs a berth command on the bundle (in its directory) and fails the
// test unless it exits 0.
func (b *bundle) berth(args ...string) string {
	b.t.Helper()
	b.write()
	out, errOut, code := suite.runIn(b.dir, nil, args...)
	if code != 0 {
		b.t.Fatalf("berth %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// runContainer runs the bundle's container in the foreground and returns
// its stdout, stderr and exit status.
func (b *bundle) runContainer() (string, string, int) {
	b.t.Helper()
	b.write()
	return suite.runIn(b.dir, nil, "run", b.id)
}

// state returns the container's state as berth state prints it.
func (b *bundle) state() map[string]any {
	b.t.Helper()
	out, errOut, code := suite.run("state", b.id)
	if code != 0 {
		b.t.Fatalf("berth state: exit %d: %s", code, errOut)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		b.t.Fatalf("berth state output %q: %v", out, err)
	}
	return m
}
