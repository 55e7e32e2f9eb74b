package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The OCI hooks (runtime-spec v1.3.0, config.md "POSIX-platform Hooks" and
// runtime.md "Lifecycle"). Every hook here is busybox run as `sh -c
// hookScript NAME LOGDIR`: argv[0] is "sh" while the path is busybox, so a
// runtime that replaced argv[0] with the path would run the busybox
// applet dispatcher instead and the hook would fail.
//
// runc 1.1.5 (Debian's /usr/sbin/runc) differs from the spec, and from
// berth, in these places; the tests follow the spec and the issue:
//   - it runs the poststart hooks in `create` (status "created"), so they
//     run before startContainer and a failing one fails create;
//   - it gives createContainer and startContainer hooks pid 1 (the init as
//     its own pid namespace sees it), not the host pid;
//   - a failing startContainer hook kills the init but `start` exits 0;
//   - a failing poststop hook is logged at level error and the poststop
//     hooks after it do not run (delete still exits 0, as the spec asks).

// hookScript records, in LOGDIR/NAME/, what the hook sees: its state on
// stdin, its argv and environment, and its mount and network namespaces;
// then appends NAME to LOGDIR/order. It reads its own pid from
// /proc/self/stat rather than $$: a createContainer hook runs in the
// container's pid namespace while /proc is still the host's.
const hookScript = `set -e
read -r me _ < /proc/self/stat
d="$1/$0"
mkdir "$d"
cat > "$d/state"
cat "/proc/$me/cmdline" > "$d/argv"
cat "/proc/$me/environ" > "$d/env"
readlink "/proc/$me/ns/mnt" > "$d/ns-mnt"
readlink "/proc/$me/ns/net" > "$d/ns-net"
echo "$0" >> "$1/order"
`

// hookEnv is the environment every recording hook gets, plus its name.
var hookEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOOK_TEST=1"}

// recordHook is a hook that records itself as name into logDir. path is
// the busybox that runs it (a host path, or a path in the container for
// startContainer).
func recordHook(path, name, logDir string) specs.Hook {
	return specs.Hook{
		Path: path,
		Args: []string{"sh", "-c", hookScript, name, logDir},
		Env:  append(slices.Clone(hookEnv), "HOOK_NAME="+name),
	}
}

// failingHook exits 1.
func failingHook() specs.Hook {
	return specs.Hook{Path: suite.busybox, Args: []string{"false"}}
}

// hookRecord is what one hook invocation recorded.
type hookRecord struct {
	state map[string]any
	argv  []string
	env   []string
	mnt   string
	net   string
}

// hookLog is a directory the recording hooks write into; the container
// sees it at /hooklog.
type hookLog struct {
	t   *testing.T
	dir string
}

// newHookLog makes the log directory in the bundle and bind-mounts it at
// /hooklog in the container.
func newHookLog(b *bundle) *hookLog {
	dir := b.hostDir("hooklog")
	b.addMount(specs.Mount{Destination: "/hooklog", Type: "bind", Source: dir, Options: []string{"rbind", "rw"}})
	return &hookLog{t: b.t, dir: dir}
}

// order returns the names the hooks (and the container's process) appended
// to the order file, in order.
func (l *hookLog) order() []string {
	data, err := os.ReadFile(filepath.Join(l.dir, "order"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		l.t.Fatal(err)
	}
	return strings.Fields(string(data))
}

// ran reports whether the hook name recorded itself.
func (l *hookLog) ran(name string) bool {
	return slices.Contains(l.order(), name)
}

// record reads what hook name recorded; it fails the test if it did not
// run.
func (l *hookLog) record(name string) *hookRecord {
	l.t.Helper()
	d := filepath.Join(l.dir, name)
	read := func(f string) string {
		data, err := os.ReadFile(filepath.Join(d, f))
		if err != nil {
			l.t.Fatalf("hook %s recorded nothing: %v", name, err)
		}
		return string(data)
	}
	r := &hookRecord{
		argv: strings.Split(strings.TrimSuffix(read("argv"), "\x00"), "\x00"),
		env:  strings.Split(strings.TrimSuffix(read("env"), "\x00"), "\x00"),
		mnt:  strings.TrimSpace(read("ns-mnt")),
		net:  strings.TrimSpace(read("ns-net")),
	}
	state := read("state")
	if err := json.Unmarshal([]byte(state), &r.state); err != nil {
		l.t.Fatalf("hook %s: stdin is not the state JSON: %v: %q", name, err, state)
	}
	return r
}

// hookAnnotations are the annotations the hooks must see in the state.
var hookAnnotations = map[string]string{"org.berth.test/hooks": "every kind", "empty": ""}

// TestHooks runs a container with recording hooks of all six kinds through
// create, start, kill and delete, and checks when each ran, what it got on
// stdin, its argv and environment, and its namespaces.
func TestHooks(t *testing.T) {
	b := newBundle(t, "sh", "-c", "echo process >> /hooklog/order; exec sleep 1000")
	log := newHookLog(b)
	// startContainer's path resolves in the container: this busybox
	// exists only in the rootfs.
	if err := copyFile(suite.busybox, filepath.Join(b.rootfs(), "bin", "hookbox"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/bin/hookbox"); err == nil {
		t.Skip("the host has a /bin/hookbox: the startContainer path would not prove where it resolves")
	}
	b.Spec.Annotations = hookAnnotations
	b.Spec.Hooks = &specs.Hooks{
		Prestart: []specs.Hook{recordHook(suite.busybox, "prestart", log.dir)}, //nolint:staticcheck // deprecated, still in the spec
		CreateRuntime: []specs.Hook{
			recordHook(suite.busybox, "createRuntime0", log.dir),
			recordHook(suite.busybox, "createRuntime1", log.dir),
		},
		CreateContainer: []specs.Hook{recordHook(suite.busybox, "createContainer", log.dir)},
		StartContainer:  []specs.Hook{recordHook("/bin/hookbox", "startContainer", "/hooklog")},
		Poststart:       []specs.Hook{recordHook(suite.busybox, "poststart", log.dir)},
		Poststop:        []specs.Hook{recordHook(suite.busybox, "poststop", log.dir)},
	}

	b.berth("create", b.id)
	pid := b.containerPid()
	afterCreate := log.order()
	initMnt, initNet := nsOf(t, pid, "mnt"), nsOf(t, pid, "net")
	b.berth("start", b.id)
	afterStart := log.order()
	b.berth("kill", b.id, "KILL")
	waitStatus(t, b, "stopped")
	b.berth("delete", b.id)
	final := log.order()
	checkGone(t, b.id, b.dir)

	t.Run("create runs prestart, createRuntime and createContainer in order", func(t *testing.T) {
		want := []string{"prestart", "createRuntime0", "createRuntime1", "createContainer"}
		if !slices.Equal(afterCreate, want) {
			t.Errorf("hooks run by create: %q, want %q", afterCreate, want)
		}
	})
	t.Run("start runs startContainer before the process and poststart before it returns", func(t *testing.T) {
		started := slices.DeleteFunc(slices.Clone(afterStart), func(s string) bool { return slices.Contains(afterCreate, s) })
		// The process appends itself concurrently with poststart, so only
		// its place after startContainer is fixed.
		hooks := slices.DeleteFunc(slices.Clone(started), func(s string) bool { return s == "process" })
		if want := []string{"startContainer", "poststart"}; !slices.Equal(hooks, want) {
			t.Errorf("hooks run by start: %q, want %q", hooks, want)
		}
		if i, j := slices.Index(final, "startContainer"), slices.Index(final, "process"); i < 0 || j < i {
			t.Errorf("order %q: the process ran before startContainer, or one of them never ran", final)
		}
	})
	t.Run("delete runs poststop last", func(t *testing.T) {
		if len(final) == 0 || final[len(final)-1] != "poststop" || slices.Contains(afterStart, "poststop") {
			t.Errorf("order %q: want poststop once, last, and only after delete", final)
		}
		for _, name := range []string{"prestart", "createRuntime0", "createRuntime1", "createContainer", "startContainer", "poststart", "poststop"} {
			if n := strings.Count(" "+strings.Join(final, " ")+" ", " "+name+" "); n != 1 {
				t.Errorf("hook %s ran %d times, want once", name, n)
			}
		}
	})

	hostMnt, hostNet := hostNS(t, "mnt"), hostNS(t, "net")
	for _, tc := range []struct {
		name, status string
		// runtime: in the runtime's (host's) namespaces; otherwise the
		// container's.
		runtime bool
		// pidRule: "required" (the init's host pid), "optional" (absent or
		// the init's host pid), "any" (not checked).
		pidRule string
		logDir  string
	}{
		// The create-phase hooks run after lifecycle step 2 ("creating"
		// is step 2 itself), so the status is "created", as the OCI
		// suite's hooks_stdin program also asserts; runc says "creating".
		{"prestart", "created", true, "required", log.dir},
		{"createRuntime0", "created", true, "required", log.dir},
		{"createRuntime1", "created", true, "required", log.dir},
		{"createContainer", "created", false, "required", log.dir},
		{"startContainer", "created", false, "required", "/hooklog"},
		{"poststart", "running", true, "required", log.dir},
		{"poststop", "stopped", true, "any", log.dir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !slices.Contains(final, tc.name) {
				t.Fatalf("hook %s never ran (order %q)", tc.name, final)
			}
			r := log.record(tc.name)
			if want := []string{"sh", "-c", hookScript, tc.name, tc.logDir}; !slices.Equal(r.argv, want) {
				t.Errorf("argv %q, want args as given, argv[0] kept: %q", r.argv, want)
			}
			if want := append(slices.Clone(hookEnv), "HOOK_NAME="+tc.name); !slices.Equal(r.env, want) {
				t.Errorf("environment %q, want exactly the hook's env %q", r.env, want)
			}
			checkHookState(t, r.state, b, tc.status, tc.pidRule, pid)
			wantMnt, wantNet, where := initMnt, initNet, "the container's"
			if tc.runtime {
				wantMnt, wantNet, where = hostMnt, hostNet, "the runtime's"
			}
			if r.mnt != wantMnt || r.net != wantNet {
				t.Errorf("namespaces mnt %s net %s, want %s: mnt %s net %s", r.mnt, r.net, where, wantMnt, wantNet)
			}
		})
	}
}

// checkHookState checks the state a hook got on stdin.
func checkHookState(t *testing.T, s map[string]any, b *bundle, status, pidRule string, pid int) {
	t.Helper()
	if v, _ := s["ociVersion"].(string); v == "" {
		t.Errorf("state ociVersion %v, want a version", s["ociVersion"])
	}
	if s["id"] != b.id {
		t.Errorf("state id %v, want %s", s["id"], b.id)
	}
	if s["status"] != status {
		t.Errorf("state status %v, want %s", s["status"], status)
	}
	if s["bundle"] != b.dir {
		t.Errorf("state bundle %v, want %s", s["bundle"], b.dir)
	}
	got, _ := s["annotations"].(map[string]any)
	want := map[string]any{}
	for k, v := range hookAnnotations {
		want[k] = v
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("state annotations %v, want %v", s["annotations"], want)
	}
	p, hasPid := s["pid"].(float64)
	switch pidRule {
	case "required":
		// runtime.md: "pid ... REQUIRED when status is created or
		// running ... as seen by the host".
		if !hasPid || int(p) != pid {
			t.Errorf("state pid %v, want the init's host pid %d", s["pid"], pid)
		}
	case "optional":
		if hasPid && int(p) != pid {
			t.Errorf("state pid %v, want none or the init's host pid %d", s["pid"], pid)
		}
	}
}

// TestHooksRun checks that a foreground berth run goes through every hook
// point, in the spec's order, ending with poststop.
func TestHooksRun(t *testing.T) {
	b := newBundle(t, "sh", "-c", "echo process >> /hooklog/order")
	log := newHookLog(b)
	if err := copyFile(suite.busybox, filepath.Join(b.rootfs(), "bin", "hookbox"), 0o755); err != nil {
		t.Fatal(err)
	}
	b.Spec.Annotations = hookAnnotations
	b.Spec.Hooks = &specs.Hooks{
		Prestart:        []specs.Hook{recordHook(suite.busybox, "prestart", log.dir)}, //nolint:staticcheck // deprecated, still in the spec
		CreateRuntime:   []specs.Hook{recordHook(suite.busybox, "createRuntime", log.dir)},
		CreateContainer: []specs.Hook{recordHook(suite.busybox, "createContainer", log.dir)},
		StartContainer:  []specs.Hook{recordHook("/bin/hookbox", "startContainer", "/hooklog")},
		Poststart:       []specs.Hook{recordHook(suite.busybox, "poststart", log.dir)},
		Poststop:        []specs.Hook{recordHook(suite.busybox, "poststop", log.dir)},
	}
	out, errOut, code := b.runContainer()
	if code != 0 {
		t.Fatalf("berth run: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	got := slices.DeleteFunc(log.order(), func(s string) bool { return s == "process" })
	want := []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}
	if !slices.Equal(got, want) {
		t.Errorf("hooks run by berth run: %q, want %q", got, want)
	}
	if !log.ran("process") {
		t.Errorf("the container's process never ran")
	}
	for _, name := range want {
		if slices.Contains(got, name) {
			r := log.record(name)
			if r.state["status"] == nil || r.state["id"] != b.id {
				t.Errorf("hook %s: state %v", name, r.state)
			}
		}
	}
	checkGone(t, b.id, b.dir)
}

// TestHookCreateFailures makes one hook of the create phase fail in each
// way: create exits 1 with an error about the hook, nothing of the
// container is left, the hooks after the failing one do not run, and the
// poststop hooks do (runtime.md: "stop the container, and continue the
// lifecycle at step 12", the destroy, then step 13, poststop).
func TestHookCreateFailures(t *testing.T) {
	notExec := func(t *testing.T, b *bundle) specs.Hook {
		p := filepath.Join(b.dir, "not-executable")
		writeFile(t, p, "#!/bin/sh\nexit 0\n")
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
		return specs.Hook{Path: p}
	}
	// A sleep whose argument nobody else uses, to find a leftover.
	token := strconv.Itoa(900000 + os.Getpid()%100000)
	for _, tc := range []struct {
		name string
		kind string
		hook func(t *testing.T, b *bundle) specs.Hook
		want string // in the error; "$path" is the hook's path
	}{
		{"prestart exits 1", "prestart", func(*testing.T, *bundle) specs.Hook { return failingHook() }, "hook"},
		{"createRuntime exits 1", "createRuntime", func(*testing.T, *bundle) specs.Hook { return failingHook() }, "hook"},
		{"createContainer exits 1", "createContainer", func(*testing.T, *bundle) specs.Hook { return failingHook() }, "hook"},
		{"createRuntime path missing", "createRuntime", func(_ *testing.T, b *bundle) specs.Hook {
			return specs.Hook{Path: filepath.Join(b.dir, "no-such-hook")}
		}, "$path"},
		{"createContainer path missing", "createContainer", func(_ *testing.T, b *bundle) specs.Hook {
			return specs.Hook{Path: filepath.Join(b.dir, "no-such-hook")}
		}, "$path"},
		{"prestart not executable", "prestart", notExec, "$path"},
		{"createRuntime not executable", "createRuntime", notExec, "$path"},
		{"createRuntime timeout", "createRuntime", func(*testing.T, *bundle) specs.Hook {
			return specs.Hook{Path: suite.busybox, Args: []string{"sleep", token}, Timeout: ptr(1)}
		}, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "sh", "-c", "echo process >> /hooklog/order; sleep 100")
			log := newHookLog(b)
			bad := tc.hook(t, b)
			after := recordHook(suite.busybox, tc.kind+"-after", log.dir)
			h := &specs.Hooks{Poststop: []specs.Hook{recordHook(suite.busybox, "poststop", log.dir)}}
			switch tc.kind {
			case "prestart":
				h.Prestart = []specs.Hook{bad, after} //nolint:staticcheck // deprecated, still in the spec
			case "createRuntime":
				h.CreateRuntime = []specs.Hook{bad, after}
			case "createContainer":
				h.CreateContainer = []specs.Hook{bad, after}
			}
			if tc.kind != "createContainer" {
				h.CreateContainer = append(h.CreateContainer, recordHook(suite.busybox, "createContainer-later", log.dir))
			}
			b.Spec.Hooks = h
			want := strings.ReplaceAll(tc.want, "$path", bad.Path)
			b.expectFailure(b.id, want, "create", b.id)
			if got := log.order(); !slices.Equal(got, []string{"poststop"}) {
				t.Errorf("hooks run: %q, want poststop alone and once: nothing after the failing hook (runtime.md lifecycle steps 3-5) but poststop (step 13)", got)
			}
			if tc.name == "createRuntime timeout" {
				if pids := processesWithArgs("sleep", token); len(pids) > 0 {
					t.Errorf("the timed-out hook is still running: pids %v", pids)
				}
			}
		})
	}
}

// processesWithArgs lists the pids whose argv is exactly args.
func processesWithArgs(args ...string) []int {
	want := strings.Join(args, "\x00") + "\x00"
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if data, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && string(data) == want {
			out = append(out, pid)
		}
	}
	return out
}

// TestHookStartContainerFails: a failing startContainer hook fails start
// with exit 1 and the process never runs; delete then cleans up and runs
// poststop. runc 1.1.5 exits 0 from start here (its init reports the
// error on the container's stderr and dies).
func TestHookStartContainerFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook specs.Hook
		want string
	}{
		{"exits 1", specs.Hook{Path: "/bin/busybox", Args: []string{"false"}}, "hook"},
		// The host's busybox path does not exist in the rootfs, which has
		// /bin/busybox only: the path resolves in the container.
		{"path not in the container", specs.Hook{Path: "/usr/bin/busybox-not-in-rootfs", Args: []string{"true"}}, "/usr/bin/busybox-not-in-rootfs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "sh", "-c", "echo process >> /hooklog/order; sleep 100")
			log := newHookLog(b)
			b.Spec.Hooks = &specs.Hooks{
				StartContainer: []specs.Hook{tc.hook, recordHook("/bin/busybox", "startContainer-after", "/hooklog")},
				Poststart:      []specs.Hook{recordHook(suite.busybox, "poststart", log.dir)},
				Poststop:       []specs.Hook{recordHook(suite.busybox, "poststop", log.dir)},
			}
			b.berth("create", b.id)
			pid := b.containerPid()
			out, errOut, code := suite.runIn(b.dir, nil, "start", b.id)
			if code != 1 {
				t.Errorf("start: exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
			} else if !strings.Contains(errOut, tc.want) {
				t.Errorf("start: error %q does not mention %q", errOut, tc.want)
			}
			for range 100 {
				if !alive(pid) {
					break
				}
				sleep()
			}
			if alive(pid) {
				t.Errorf("the container's init %d still runs after a failed startContainer hook", pid)
			}
			for _, name := range []string{"process", "startContainer-after", "poststart"} {
				if log.ran(name) {
					t.Errorf("%s ran after the failing startContainer hook (order %q)", name, log.order())
				}
			}
			b.berth("delete", "--force", b.id)
			checkGone(t, b.id, b.dir)
			if got := log.order(); !slices.Equal(got, []string{"poststop"}) {
				t.Errorf("hooks run: %q, want poststop once", got)
			}
		})
	}
}

// TestHookPoststartFails: per the issue (and runtime-tools' poststart_fail
// program), a failing poststart hook is a warning: start exits 0, the next
// poststart hook still runs and the container keeps running. Note that
// runtime-spec v1.3.0's lifecycle step 9 asks for an error instead; runc
// 1.1.5 fails create (where it runs poststart).
func TestHookPoststartFails(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	log := newHookLog(b)
	b.Spec.Hooks = &specs.Hooks{
		Poststart: []specs.Hook{failingHook(), recordHook(suite.busybox, "poststart-after", log.dir)},
		Poststop:  []specs.Hook{recordHook(suite.busybox, "poststop", log.dir)},
	}
	b.berth("create", b.id)
	out, errOut, code := suite.runIn(b.dir, nil, "start", b.id)
	if code != 0 {
		t.Fatalf("start: exit %d, want 0 (a failing poststart hook is a warning)\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(strings.ToLower(errOut), "hook") {
		t.Errorf("start: stderr %q has no warning about the failed hook", errOut)
	}
	if !log.ran("poststart-after") {
		t.Errorf("the poststart hook after the failing one did not run")
	}
	if st := b.state(); st["status"] != "running" {
		t.Errorf("status %v after start, want running", st["status"])
	}
	b.berth("kill", b.id, "KILL")
	waitStatus(t, b, "stopped")
	b.berth("delete", b.id)
	checkGone(t, b.id, b.dir)
	if !log.ran("poststop") {
		t.Errorf("poststop did not run")
	}
}

// TestHookPoststopFails: a failing poststop hook is a warning (runtime.md
// step 13): delete exits 0, the container is gone, and the next poststop
// hook still runs.
func TestHookPoststopFails(t *testing.T) {
	b := newBundle(t, "true")
	log := newHookLog(b)
	b.Spec.Hooks = &specs.Hooks{
		Poststop: []specs.Hook{failingHook(), recordHook(suite.busybox, "poststop-after", log.dir)},
	}
	b.berth("run", "-d", b.id)
	waitStatus(t, b, "stopped")
	out, errOut, code := suite.runIn(b.dir, nil, "delete", b.id)
	if code != 0 {
		t.Errorf("delete: exit %d, want 0 (a failing poststop hook is a warning)\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(strings.ToLower(errOut), "hook") {
		t.Errorf("delete: stderr %q has no warning about the failed hook", errOut)
	}
	if !log.ran("poststop-after") {
		t.Errorf("the poststop hook after the failing one did not run")
	}
	if _, _, code := suite.run("state", b.id); code == 0 {
		t.Errorf("the container still exists after delete")
	}
	checkGone(t, b.id, b.dir)
}
