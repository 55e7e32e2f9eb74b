package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// I/O contracts of berth run/create/start: the container's stdio, signal
// forwarding and exit statuses, --preserve-fds, socket activation
// (LISTEN_FDS), the sd_notify proxy (NOTIFY_SOCKET), --pidfd-socket and the
// session keyring.

// tools caches the helper programs of tests/cmd built for this run.
var tools struct {
	mu    sync.Mutex
	paths map[string]string
}

// buildTool builds tests/cmd/<name> as a static binary (once per run) and
// returns its path.
func buildTool(t *testing.T, name string) string {
	t.Helper()
	if suite == nil {
		t.Skip("integration environment unavailable (see TestMain output)")
	}
	tools.mu.Lock()
	defer tools.mu.Unlock()
	if p, ok := tools.paths[name]; ok {
		return p
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go toolchain in PATH to build tests/cmd/%s: %v", name, err)
	}
	out := filepath.Join(suite.tmp, "tools", name)
	cmd := exec.Command(goBin, "build", "-o", out, "github.com/berthrt/berth/tests/cmd/"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if data, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build tests/cmd/%s: %v\n%s", name, err, data)
	}
	if tools.paths == nil {
		tools.paths = map[string]string{}
	}
	tools.paths[name] = out
	return out
}

// berthCmd is `berth --root ROOT args...` in the bundle's directory, with
// stdio left for the test to set.
func berthCmd(b *bundle, args ...string) *exec.Cmd {
	b.write()
	cmd := exec.Command(suite.berth, append([]string{"--root", suite.root}, args...)...)
	cmd.Dir = b.dir
	return cmd
}

// exitCode waits for cmd (started) at most limit, a guard against a hang,
// and returns its exit status.
func exitCode(t *testing.T, cmd *exec.Cmd, limit time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("berth %q did not exit within %s", cmd.Args[3:], limit)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("berth %q: %v", cmd.Args[3:], err)
	}
	return 0
}

// hostFile creates a file in the bundle directory with content, open for
// reading and writing at offset 0.
func hostFile(t *testing.T, b *bundle, name, content string) *os.File {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(b.dir, name), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	return f
}

// contentOf returns the file's whole content.
func contentOf(t *testing.T, f *os.File) string {
	t.Helper()
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// fields parses "key=value" lines into a map.
func fields(out string) map[string]string {
	m := map[string]string{}
	for l := range strings.SplitSeq(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

// devIno is "dev:ino" of an open file, as busybox `stat -c %d:%i` prints it.
func devIno(t *testing.T, f *os.File) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

// TestStdioForeground: a foreground container without a terminal gets
// pipes as its stdin, stdout and stderr, whatever berth's own are, and
// berth copies them; a non-root user can use them, and in a user namespace
// the container's root can reopen them (they belong to the mapped root).
func TestStdioForeground(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(b *bundle)
		script string
	}{
		{"root", func(*bundle) {}, ""},
		{"non-root user", func(b *bundle) { b.Spec.Process.User = specs.User{UID: 1000, GID: 1000} }, ""},
		{"user namespace root reopens them", func(b *bundle) {
			b.addNamespace("user", "")
			b.Spec.Linux.UIDMappings = userMapping
			b.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 1000}}
		}, `echo "reopened stdout" > /proc/self/fd/1
echo "reopened stderr" > /proc/self/fd/2
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			tc.setup(b)
			b.sh(`for f in 0 1 2; do echo "fd$f=$(readlink /proc/$$/fd/$f)"; done
echo "uid=$(id -u)"
read line
echo "out:$line"
echo "err:$line" >&2
` + tc.script + "exit 0")
			// Regular files as berth's stdio: a container that got them
			// as they are would show their paths, not pipes.
			stdin := hostFile(t, b, "stdin", "a line of input\n")
			stdout, stderr := hostFile(t, b, "stdout", ""), hostFile(t, b, "stderr", "")
			cmd := berthCmd(b, "run", b.id)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			code := exitCode(t, cmd, 60*time.Second)
			out, errOut := contentOf(t, stdout), contentOf(t, stderr)
			if code != 0 {
				t.Fatalf("berth run: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			f := fields(out)
			for _, fd := range []string{"fd0", "fd1", "fd2"} {
				if !strings.HasPrefix(f[fd], "pipe:[") {
					t.Errorf("%s is %q in the container, want a pipe", fd, f[fd])
				}
			}
			if want := strconv.Itoa(int(b.Spec.Process.User.UID)); f["uid"] != want {
				t.Errorf("uid %q, want %s", f["uid"], want)
			}
			if !strings.Contains(out, "out:a line of input\n") {
				t.Errorf("stdout %q: the process did not read stdin or write stdout", out)
			}
			if !strings.Contains(errOut, "err:a line of input\n") {
				t.Errorf("stderr %q: the process did not write stderr", errOut)
			}
			if tc.script != "" {
				if !strings.Contains(out, "reopened stdout\n") || !strings.Contains(errOut, "reopened stderr\n") {
					t.Errorf("the container's root could not reopen its stdio: stdout %q, stderr %q", out, errOut)
				}
			}
			checkGone(t, b.id, b.dir)
		})
	}
}

// TestStdioDetached: a detached container (run -d, or create then start)
// inherits berth's stdio as they are: the same open files, not copies.
func TestStdioDetached(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"run -d", []string{"run", "-d"}},
		{"create and start", []string{"create"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			b.sh(`for f in 0 1 2; do echo "fd$f=$(stat -L -c %d:%i /proc/$$/fd/$f)"; done
read line
echo "out:$line"
echo "err:$line" >&2
exit 0`)
			stdin := hostFile(t, b, "stdin", "detached input\n")
			stdout, stderr := hostFile(t, b, "stdout", ""), hostFile(t, b, "stderr", "")
			cmd := berthCmd(b, append(tc.args, b.id)...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if code := exitCode(t, cmd, 60*time.Second); code != 0 {
				t.Fatalf("berth %s: exit %d, stderr %s", tc.args[0], code, contentOf(t, stderr))
			}
			if tc.args[0] == "create" {
				// start's own stdio do not matter: the container has
				// create's.
				b.berth("start", b.id)
			}
			waitStatus(t, b, "stopped")
			out, errOut := contentOf(t, stdout), contentOf(t, stderr)
			f := fields(out)
			for fd, file := range map[string]*os.File{"fd0": stdin, "fd1": stdout, "fd2": stderr} {
				if want := devIno(t, file); f[fd] != want {
					t.Errorf("%s in the container is %q (dev:ino), want berth's own file %s", fd, f[fd], want)
				}
			}
			if !strings.Contains(out, "out:detached input\n") || !strings.Contains(errOut, "err:detached input\n") {
				t.Errorf("stdout %q, stderr %q: want the container's lines", out, errOut)
			}
			b.berth("delete", b.id)
			checkGone(t, b.id, b.dir)
		})
	}
}

// TestSignalForwarding: a foreground berth run forwards the signals it
// gets to the container's process, which handles each and goes on, but not
// SIGWINCH when there is no terminal.
func TestSignalForwarding(t *testing.T) {
	b := newBundle(t)
	b.sh(`for s in TERM USR1 HUP INT QUIT WINCH; do trap "echo $s" $s; done
trap 'echo USR2; done=1' USR2
echo ready
while [ -z "$done" ]; do sleep 0.05; done
echo end
exit 0`)
	stdout := hostFile(t, b, "stdout", "")
	cmd := berthCmd(b, "run", b.id)
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
		t.Fatalf("the container never printed %s; output %q", want, contentOf(t, stdout))
	}
	waitLine("ready")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT} {
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		waitLine(strings.TrimPrefix(unix.SignalName(sig), "SIG"))
	}
	// SIGWINCH, then SIGUSR2 which ends the loop: a forwarded SIGWINCH
	// would be pending or handled before the shell prints "end".
	if err := cmd.Process.Signal(syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd, 60*time.Second); code != 0 {
		t.Errorf("berth run: exit %d, want 0; output %q", code, contentOf(t, stdout))
	}
	got := strings.Fields(contentOf(t, stdout))
	if want := []string{"ready", "TERM", "USR1", "HUP", "INT", "QUIT", "USR2", "end"}; !slices.Equal(got, want) {
		t.Errorf("the container printed %q, want %q (no WINCH without a terminal)", got, want)
	}
	checkGone(t, b.id, b.dir)
}

// TestExitStatusKilled: a foreground berth run whose container is killed
// from outside (berth kill KILL) exits 128+9.
func TestExitStatusKilled(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	cmd := berthCmd(b, "run", b.id)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if out, _, code := suite.run("state", b.id); code == 0 && strings.Contains(out, `"running"`) {
			break
		}
		if i == 400 {
			_ = cmd.Process.Kill()
			t.Fatal("the container never ran")
		}
		sleep()
	}
	b.berth("kill", b.id, "KILL")
	if code := exitCode(t, cmd, 60*time.Second); code != 128+int(syscall.SIGKILL) {
		t.Errorf("berth run: exit %d, want %d", code, 128+int(syscall.SIGKILL))
	}
	checkGone(t, b.id, b.dir)
}

// TestSubreaper: a foreground berth run is a child subreaper, so a process
// orphaned in the container (sharing the host's pid namespace here) is
// reparented to berth; with --no-subreaper it is not.
func TestSubreaper(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		subreaper bool
	}{
		{"default", nil, true},
		{"--no-subreaper", []string{"--no-subreaper"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			b.removeNamespace("pid")
			// The subshell exits, orphaning sleep, and is reaped before
			// the shell prints "ready".
			b.sh(`(sleep 1000 & echo "orphan=$!")
echo ready
while [ ! -e /tmp/go ]; do sleep 0.05; done
exit 0`)
			stdout := hostFile(t, b, "stdout", "")
			cmd := berthCmd(b, append(append([]string{"run"}, tc.args...), b.id)...)
			cmd.Stdout, cmd.Stderr = stdout, stdout
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			for i := 0; !strings.Contains(contentOf(t, stdout), "ready\n"); i++ {
				if i == 400 {
					_ = cmd.Process.Kill()
					t.Fatalf("the container never got ready; output %q", contentOf(t, stdout))
				}
				sleep()
			}
			orphan, err := strconv.Atoi(fields(contentOf(t, stdout))["orphan"])
			if err != nil {
				t.Fatalf("no orphan pid in the output %q", contentOf(t, stdout))
			}
			st, err := readFile(fmt.Sprintf("/proc/%d/status", orphan))
			if err != nil {
				t.Fatal(err)
			}
			ppid, berthPid := statusField(st, "PPid"), strconv.Itoa(cmd.Process.Pid)
			if tc.subreaper && ppid != berthPid {
				t.Errorf("orphan %d has parent %s, want berth %s (a subreaper)", orphan, ppid, berthPid)
			}
			if !tc.subreaper && ppid == berthPid {
				t.Errorf("orphan %d has parent berth %s with --no-subreaper", orphan, ppid)
			}
			writeFile(t, filepath.Join(b.rootfs(), "tmp", "go"), "")
			if code := exitCode(t, cmd, 60*time.Second); code != 0 {
				t.Errorf("berth run: exit %d; output %q", code, contentOf(t, stdout))
			}
			checkGone(t, b.id, b.dir)
		})
	}
}

// fdScript prints the content of fds 3 to 6 if open, the list of the
// shell's open fds below 10 (ash keeps its own at 10 and above), and the
// socket-activation variables. It uses only builtins, which open no fds.
const fdScript = `for fd in 3 4 5 6; do
	if [ -e /proc/$$/fd/$fd ]; then eval "echo fd$fd=\$(cat <&$fd)"; else echo "fd$fd=closed"; fi
done
open=
for fd in 0 1 2 3 4 5 6 7 8 9; do
	if [ -e /proc/$$/fd/$fd ]; then open="$open $fd"; fi
done
echo "fds=$open"
echo "LISTEN_FDS=${LISTEN_FDS-unset} LISTEN_PID=${LISTEN_PID-unset}"
exit 0`

// extraFiles opens n files named fd3.. in the bundle, with contents
// "three", "four", ....
func extraFiles(t *testing.T, b *bundle, n int) []*os.File {
	t.Helper()
	names := []string{"three", "four", "five", "six"}
	var out []*os.File
	for i := range n {
		out = append(out, hostFile(t, b, "fd"+strconv.Itoa(3+i), names[i]))
	}
	return out
}

// TestPreserveFds: --preserve-fds N passes fds 3..3+N-1 of berth to the
// container's process, and no more.
func TestPreserveFds(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // the fd lines
	}{
		{"run with 2 of 3", []string{"run", "--preserve-fds", "2"}, "fd3=three fd4=four fd5=closed fd6=closed fds=0 1 2 3 4"},
		{"run with 0", []string{"run", "--preserve-fds", "0"}, "fd3=closed fd4=closed fd5=closed fd6=closed fds=0 1 2"},
		{"run without the flag", []string{"run"}, "fd3=closed fd4=closed fd5=closed fd6=closed fds=0 1 2"},
		{"create with 3 of 3", []string{"create", "--preserve-fds", "3"}, "fd3=three fd4=four fd5=five fd6=closed fds=0 1 2 3 4 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			b.sh(fdScript)
			stdout := hostFile(t, b, "stdout", "")
			cmd := berthCmd(b, append(slices.Clone(tc.args), b.id)...)
			cmd.Stdout, cmd.Stderr = stdout, stdout
			cmd.ExtraFiles = extraFiles(t, b, 3)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if code := exitCode(t, cmd, 60*time.Second); code != 0 {
				t.Fatalf("berth %s: exit %d; output %q", tc.args[0], code, contentOf(t, stdout))
			}
			if tc.args[0] == "create" {
				b.berth("start", b.id)
				waitStatus(t, b, "stopped")
				b.berth("delete", b.id)
			}
			f := fields(contentOf(t, stdout))
			got := fmt.Sprintf("fd3=%s fd4=%s fd5=%s fd6=%s fds=%s", f["fd3"], f["fd4"], f["fd5"], f["fd6"], strings.TrimSpace(f["fds"]))
			if got != tc.want {
				t.Errorf("the container saw %s, want %s", got, tc.want)
			}
			checkGone(t, b.id, b.dir)
		})
	}
}

// TestPreserveFdsInvalid: a --preserve-fds that is not a count fails with
// exit 1 and an error naming the flag, and creates nothing.
func TestPreserveFdsInvalid(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		// runc 1.1.5 takes -1 as 0 and runs the container; later runc
		// (and berth) want an unsigned count.
		{"negative", "-1"},
		{"not a number", "abc"},
		{"fraction", "1.5"},
		{"empty", ""},
	} {
		v := tc.value
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "true")
			b.write()
			out, errOut, code := suite.runIn(b.dir, nil, "run", "--preserve-fds", v, b.id)
			if code != 1 {
				t.Errorf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			if !strings.Contains(errOut, "preserve-fds") {
				t.Errorf("stderr %q does not name preserve-fds", errOut)
			}
			checkGone(t, b.id, b.dir)
		})
	}
}

// TestListenFds: socket activation. With LISTEN_FDS=n and LISTEN_PID set
// to berth's own pid, berth passes fds 3..3+n-1 on, and the container sees
// LISTEN_FDS=n LISTEN_PID=1; --preserve-fds counts from after them. A
// LISTEN_PID of another process means the fds are not berth's to pass.
func TestListenFds(t *testing.T) {
	for _, tc := range []struct {
		name      string
		listenPid string // "self" is berth's pid
		args      []string
		want      string
	}{
		{"two", "self", nil, "fd3=three fd4=four fd5=closed fd6=closed fds=0 1 2 3 4 LISTEN_FDS=2 LISTEN_PID=1"},
		{"two and preserve-fds 1", "self", []string{"--preserve-fds", "1"}, "fd3=three fd4=four fd5=five fd6=closed fds=0 1 2 3 4 5 LISTEN_FDS=2 LISTEN_PID=1"},
		{"LISTEN_PID of another process", "1", nil, "fd3=closed fd4=closed fd5=closed fd6=closed fds=0 1 2 LISTEN_FDS=unset LISTEN_PID=unset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			b.sh(fdScript)
			b.write()
			stdout := hostFile(t, b, "stdout", "")
			pid := tc.listenPid
			if pid == "self" {
				pid = "$$" // the shell's pid, which berth keeps by exec
			}
			args := append(append([]string{"--root", suite.root, "run"}, tc.args...), b.id)
			// The shell sets the variables and execs berth, as systemd's
			// socket activation would.
			script := fmt.Sprintf(`LISTEN_PID=%s LISTEN_FDS=2 exec "$0" "$@"`, pid)
			cmd := exec.Command(suite.busybox, append([]string{"sh", "-c", script, suite.berth}, args...)...)
			cmd.Dir = b.dir
			cmd.Env = slices.DeleteFunc(os.Environ(), func(e string) bool {
				return strings.HasPrefix(e, "LISTEN_") || strings.HasPrefix(e, "NOTIFY_SOCKET=")
			})
			cmd.Stdout, cmd.Stderr = stdout, stdout
			cmd.ExtraFiles = extraFiles(t, b, 3)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if code := exitCode(t, cmd, 60*time.Second); code != 0 {
				t.Fatalf("berth run: exit %d; output %q", code, contentOf(t, stdout))
			}
			out := contentOf(t, stdout)
			f := fields(out)
			got := fmt.Sprintf("fd3=%s fd4=%s fd5=%s fd6=%s fds=%s", f["fd3"], f["fd4"], f["fd5"], f["fd6"], strings.TrimSpace(f["fds"]))
			for l := range strings.SplitSeq(out, "\n") {
				if strings.HasPrefix(l, "LISTEN_FDS=") {
					got += " " + l
				}
			}
			if got != tc.want {
				t.Errorf("the container saw %s, want %s", got, tc.want)
			}
			checkGone(t, b.id, b.dir)
		})
	}
}

// notifyListener is a fake service manager: a datagram socket that records
// what it receives. It acknowledges a BARRIER=1 by closing the descriptor
// that comes with it, unless told not to.
type notifyListener struct {
	path string
	mu   sync.Mutex
	msgs []string
	held []int // barrier descriptors kept open
}

// listenNotify binds the fake manager's socket in the bundle directory.
func listenNotify(t *testing.T, b *bundle, ack bool) *notifyListener {
	t.Helper()
	n := &notifyListener{path: filepath.Join(b.dir, "manager.sock")}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		n.mu.Lock()
		for _, fd := range n.held {
			unix.Close(fd)
		}
		n.mu.Unlock()
	})
	go func() {
		buf := make([]byte, 65536)
		oob := make([]byte, unix.CmsgSpace(4*16))
		for {
			k, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			var fds []int
			if cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for i := range cmsgs {
					if got, err := unix.ParseUnixRights(&cmsgs[i]); err == nil {
						fds = append(fds, got...)
					}
				}
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, string(buf[:k]))
			if ack {
				for _, fd := range fds {
					unix.Close(fd)
				}
			} else {
				n.held = append(n.held, fds...)
			}
			n.mu.Unlock()
		}
	}()
	return n
}

// lines returns every line received so far, in order.
func (n *notifyListener) lines() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, m := range n.msgs {
		for l := range strings.SplitSeq(m, "\n") {
			if l != "" {
				out = append(out, l)
			}
		}
	}
	return out
}

// notifyEnv is the test's environment with NOTIFY_SOCKET=path and no
// socket-activation variables.
func notifyEnv(path string) []string {
	return append(slices.DeleteFunc(os.Environ(), func(e string) bool {
		return strings.HasPrefix(e, "NOTIFY_SOCKET=") || strings.HasPrefix(e, "LISTEN_")
	}), "NOTIFY_SOCKET="+path)
}

// notifyScript is the container's side: it reports where its socket is,
// sends a STATUS (which the proxy must not take for readiness), then
// READY=1, and stays up unless told to exit.
const notifyScript = `echo "env=$NOTIFY_SOCKET"
if [ -S /run/notify/notify.sock ]; then echo "socket=yes"; else echo "socket=no"; fi
sdnotify STATUS=starting
sdnotify READY=1
echo "notified"
`

// TestNotifySocket: with NOTIFY_SOCKET set, the container gets its own
// socket at /run/notify/notify.sock; berth waits for its READY=1, then
// tells the caller's socket READY=1 and MAINPID=, and finishes with a
// BARRIER=1, before start (or run -d) returns. runc 1.1.5 sends READY=1
// and MAINPID= as two datagrams, berth as one: the listener reads lines.
// A foreground run reports berth's own pid as MAINPID (runc does the same:
// berth is then the process the manager must watch).
func TestNotifySocket(t *testing.T) {
	sdnotify := buildTool(t, "sdnotify")
	for _, tc := range []struct {
		name string
		args []string // the command run first; create is followed by start
	}{
		{"create and start", []string{"create"}},
		{"run detached", []string{"run", "-d"}},
		{"run in the foreground", []string{"run"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			if err := copyFile(sdnotify, filepath.Join(b.rootfs(), "bin", "sdnotify"), 0o755); err != nil {
				t.Fatal(err)
			}
			foreground := tc.args[0] == "run" && len(tc.args) == 1
			script := notifyScript + "exec sleep 1000"
			if foreground {
				script = notifyScript + "exit 0"
			}
			b.sh(script)
			mgr := listenNotify(t, b, true)
			env := notifyEnv(mgr.path)
			stdout := hostFile(t, b, "stdout", "")
			run := func(args ...string) int {
				cmd := berthCmd(b, args...)
				cmd.Env = env
				cmd.Stdout, cmd.Stderr = stdout, stdout
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				if code := exitCode(t, cmd, 90*time.Second); code != 0 {
					t.Fatalf("berth %s: exit %d; output %q", args[0], code, contentOf(t, stdout))
				}
				return cmd.Process.Pid
			}
			berthPid := run(append(slices.Clone(tc.args), b.id)...)
			if tc.args[0] == "create" {
				if got := mgr.lines(); len(got) != 0 {
					t.Errorf("the manager got %q before start", got)
				}
				run("start", b.id)
			}
			// The manager acknowledges BARRIER=1 only after it has read
			// every earlier datagram, and berth waits for that: what the
			// manager has now is all that berth sent.
			got := mgr.lines()
			if !slices.Contains(got, "BARRIER=1") {
				t.Errorf("the manager got %q when berth returned, want a BARRIER=1 berth waited for", got)
			}
			f := fields(contentOf(t, stdout))
			if f["env"] != "/run/notify/notify.sock" || f["socket"] != "yes" {
				t.Errorf("in the container NOTIFY_SOCKET=%q, socket there: %q; want /run/notify/notify.sock, yes", f["env"], f["socket"])
			}
			mainPid := berthPid
			if !foreground {
				mainPid = b.containerPid()
			}
			// Without a barrier (runc 1.1.5 has none) the datagrams may
			// still be on their way.
			want := []string{"READY=1", "MAINPID=" + strconv.Itoa(mainPid)}
			for i := 0; i < 100 && !slices.Contains(got, want[1]); i++ {
				sleep()
				got = mgr.lines()
			}
			iReady, iPid, iBarrier := slices.Index(got, want[0]), slices.Index(got, want[1]), slices.Index(got, "BARRIER=1")
			if iReady < 0 || iPid < 0 || (iBarrier >= 0 && (iBarrier < iReady || iBarrier < iPid)) {
				t.Errorf("the manager got %q, want %q before any BARRIER=1", got, want)
			}
			if slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, "STATUS=") }) {
				t.Errorf("the manager got %q: the proxy relays only readiness", got)
			}
			if !foreground {
				b.berth("kill", b.id, "KILL")
				waitStatus(t, b, "stopped")
				b.berth("delete", b.id)
			}
			checkGone(t, b.id, b.dir)
		})
	}
}

// TestNotifySocketNoBarrierAck: a manager that never acknowledges the
// barrier (it keeps the descriptor) does not make start hang: berth gives
// up waiting (runc 1.1.5 after 30 s, with a warning), start exits 0 and
// the container runs.
func TestNotifySocketNoBarrierAck(t *testing.T) {
	sdnotify := buildTool(t, "sdnotify")
	b := newBundle(t)
	if err := copyFile(sdnotify, filepath.Join(b.rootfs(), "bin", "sdnotify"), 0o755); err != nil {
		t.Fatal(err)
	}
	b.sh(notifyScript + "exec sleep 1000")
	mgr := listenNotify(t, b, false)
	stderr := hostFile(t, b, "stderr", "")
	for _, op := range []string{"create", "start"} {
		cmd := berthCmd(b, op, b.id)
		cmd.Env = notifyEnv(mgr.path)
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if code := exitCode(t, cmd, 120*time.Second); code != 0 {
			t.Fatalf("%s: exit %d, want 0; stderr %q", op, code, contentOf(t, stderr))
		}
	}
	t.Logf("stderr: %q", contentOf(t, stderr))
	if got := mgr.lines(); !slices.Contains(got, "BARRIER=1") || !slices.Contains(got, "READY=1") {
		t.Errorf("the manager got %q, want READY=1 and BARRIER=1", got)
	}
	if st := b.state(); st["status"] != "running" {
		t.Errorf("status %v, want running", st["status"])
	}
	b.berth("kill", b.id, "KILL")
	waitStatus(t, b, "stopped")
	b.berth("delete", b.id)
	checkGone(t, b.id, b.dir)
}

// TestNotifySocketNoReady: a container that exits without ever sending
// READY=1 does not leave start waiting, and the manager hears nothing.
// start exits 0, as runc's does: the container did start; the manager
// learns the rest from the missing READY=1.
func TestNotifySocketNoReady(t *testing.T) {
	b := newBundle(t)
	b.sh("exit 3")
	mgr := listenNotify(t, b, true)
	stderr := hostFile(t, b, "stderr", "")
	for _, op := range []string{"create", "start"} {
		cmd := berthCmd(b, op, b.id)
		cmd.Env = notifyEnv(mgr.path)
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		code := exitCode(t, cmd, 120*time.Second)
		if code != 0 {
			t.Fatalf("%s: exit %d, want 0; stderr %q", op, code, contentOf(t, stderr))
		}
	}
	waitStatus(t, b, "stopped")
	if got := mgr.lines(); len(got) != 0 {
		t.Errorf("the manager got %q from a container that never got ready", got)
	}
	b.berth("delete", b.id)
	checkGone(t, b.id, b.dir)
}

// pidfdReceiver is a --pidfd-socket: it accepts one connection and takes
// the descriptor of its one message.
func pidfdReceiver(t *testing.T, b *bundle) (string, <-chan int) {
	t.Helper()
	r := listenConsole(t, b)
	got := make(chan int, 1)
	go func() {
		m := <-r.got
		if m.err != nil || len(m.fds) != 1 {
			for _, fd := range m.fds {
				unix.Close(fd)
			}
			got <- -1
			return
		}
		got <- m.fds[0]
	}()
	return r.path, got
}

// fdinfoPid is the Pid: line of a pidfd's /proc/self/fdinfo entry.
func fdinfoPid(t *testing.T, fd int) string {
	t.Helper()
	info, err := readFile("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		t.Fatal(err)
	}
	return statusField(info, "Pid")
}

// TestPidfdSocket: --pidfd-socket sends a pidfd of the container's init
// over the socket (SCM_RIGHTS). The flag came with runc 1.2: Debian's runc
// 1.1.5 rejects it, so these tests are berth's alone there.
func TestPidfdSocket(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"create", []string{"create"}},
		{"run detached", []string{"run", "-d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "sleep", "1000")
			path, got := pidfdReceiver(t, b)
			b.berth(append(slices.Clone(tc.args), "--pidfd-socket", path, b.id)...)
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
			pid := b.containerPid()
			if p := fdinfoPid(t, fd); p != strconv.Itoa(pid) {
				t.Errorf("the descriptor's fdinfo Pid: %q, want the init's pid %d (is it a pidfd?)", p, pid)
			}
			if err := unix.PidfdSendSignal(fd, 0, nil, 0); err != nil {
				t.Errorf("pidfd_send_signal(0): %v", err)
			}
			if tc.args[0] == "create" {
				b.berth("start", b.id)
			}
			if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
				t.Fatalf("pidfd_send_signal(SIGKILL): %v", err)
			}
			waitStatus(t, b, "stopped")
			b.berth("delete", b.id)
			checkGone(t, b.id, b.dir)
		})
	}
	t.Run("socket path missing", func(t *testing.T) {
		b := newBundle(t, "true")
		path := filepath.Join(b.dir, "no-such.sock")
		b.expectFailure(b.id, path, "create", "--pidfd-socket", path, b.id)
	})
}

// TestSessionKeyring: the container's process has joined a new session
// keyring named _ses.<id>, unless --no-new-keyring. /proc/keys is a masked
// path by default; the test unmasks it.
func TestSessionKeyring(t *testing.T) {
	if _, err := os.Stat("/proc/keys"); err != nil {
		t.Skipf("no /proc/keys (kernel without CONFIG_KEYS_DEBUG_PROC_KEYS?): %v", err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want bool
	}{
		{"default", nil, true},
		{"--no-new-keyring", []string{"--no-new-keyring"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			b.Spec.Linux.MaskedPaths = slices.DeleteFunc(b.Spec.Linux.MaskedPaths, func(p string) bool { return p == "/proc/keys" })
			b.sh("cat /proc/keys\nexit 0")
			b.write()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, suite.berth, append(append([]string{"--root", suite.root, "run"}, tc.args...), b.id)...)
			cmd.Dir = b.dir
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("berth run: %v", err)
			}
			name := "_ses." + b.id
			var found []string
			for l := range strings.SplitSeq(string(out), "\n") {
				// "<serial> <flags> <usage> <timeout> <perm> <uid> <gid> keyring <description>: ..."
				f := strings.Fields(l)
				if len(f) >= 9 && f[7] == "keyring" && strings.TrimSuffix(f[8], ":") == name {
					found = append(found, l)
				}
			}
			if tc.want && len(found) != 1 {
				t.Errorf("the container's /proc/keys has %d keyrings named %s, want 1:\n%s", len(found), name, out)
			}
			if !tc.want && len(found) != 0 {
				t.Errorf("with --no-new-keyring the container has a keyring %s:\n%s", name, out)
			}
			checkGone(t, b.id, b.dir)
		})
	}
}
