//go:build cgo

package nsenter

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// childEnv marks the test binary re-executed as the bootstrap's subject: by
// then the constructor has run, and TestMain reports where it landed.
const childEnv = "BERTH_NSENTER_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		uts, _ := os.Readlink("/proc/self/ns/uts")
		pid, _ := os.Readlink("/proc/self/ns/pid")
		host, _ := os.Hostname()
		dumpable, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
		fmt.Printf("uts=%s pid=%s hostname=%s env=%q dumpable=%d\n", uts, pid, host, os.Getenv(EnvName), dumpable)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helper starts `unshare <args>` and returns its pid once its namespace of
// kind name (for its children when forChildren) is a new one.
func helper(t *testing.T, name string, forChildren bool, args ...string) int {
	t.Helper()
	cmd := exec.Command("unshare", args...)
	// A group of its own, so that a child unshare forked dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Skipf("unshare(1): %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	own, _ := os.Readlink("/proc/self/ns/" + name)
	link := fmt.Sprintf("/proc/%d/ns/%s", cmd.Process.Pid, name)
	if forChildren {
		link += "_for_children"
	}
	for range 400 {
		if l, err := os.Readlink(link); err == nil && l != own {
			return cmd.Process.Pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("unshare %v never made its %s namespace", args, name)
	return 0
}

// bootstrap re-executes the test binary with the request whose namespace
// descriptors are the files ns (fds 4, 5, ... in the child; the socket is
// fd 3), and returns what the child printed, its exit status and the
// frames it wrote on the socket.
func bootstrap(t *testing.T, unshare uintptr, types []uintptr, ns []*os.File, extra string) (out string, code int, frames []map[string]any) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "parent"), os.NewFile(uintptr(fds[1]), "child")
	defer parent.Close()
	req := Request{Sock: 3, Unshare: unshare}
	for i, typ := range types {
		req.Join = append(req.Join, Join{FD: 4 + i, Type: typ})
	}
	env := req.Env() + extra
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{env, childEnv + "=1"}
	cmd.ExtraFiles = append([]*os.File{child}, ns...)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close()
	frames = readFrames(t, parent)
	var forked int
	for _, f := range frames {
		if f["kind"] == "pid" {
			forked = int(f["pid"].(float64))
		}
	}
	err = cmd.Wait()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatal(err)
	}
	if forked > 0 {
		// CLONE_PARENT: the forked child is this test's own child.
		var ws unix.WaitStatus
		if _, err := unix.Wait4(forked, &ws, 0, nil); err != nil {
			t.Fatalf("wait for the forked child %d: %v", forked, err)
		}
		code = ws.ExitStatus()
	}
	return stdout.String(), code, frames
}

// readFrames reads the bootstrap's frames from the socket until it closes.
func readFrames(t *testing.T, sock *os.File) (frames []map[string]any) {
	t.Helper()
	r := bufio.NewReader(sock)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return frames
		}
		var f map[string]any
		if err := json.Unmarshal(line, &f); err != nil {
			t.Fatalf("bootstrap wrote %q: %v", line, err)
		}
		frames = append(frames, f)
	}
}

func fieldsOf(out string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(out) {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}

func TestBootstrap(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (setns)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare(1) (apt install util-linux)")
	}
	t.Run("nothing asked", func(t *testing.T) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = []string{childEnv + "=1"}
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		own, _ := os.Readlink("/proc/self/ns/uts")
		if f := fieldsOf(string(out)); f["uts"] != own || f["dumpable"] != "1" {
			t.Errorf("without a request the child printed %q, want the test's own uts namespace %s, dumpable", out, own)
		}
	})
	t.Run("join uts", func(t *testing.T) {
		h := helper(t, "uts", false, "--uts", "sh", "-c", "hostname nsenter-test; exec sleep 1000")
		// The namespace exists before the shell names it: wait for the
		// exec of sleep, which follows the hostname.
		for i := 0; ; i++ {
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", h))
			if strings.TrimSpace(string(comm)) == "sleep" {
				break
			}
			if i == 400 {
				t.Fatal("the helper never set its hostname")
			}
			time.Sleep(10 * time.Millisecond)
		}
		ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/uts", h))
		if err != nil {
			t.Fatal(err)
		}
		defer ns.Close()
		want, _ := os.Readlink(ns.Name())
		out, code, frames := bootstrap(t, 0, []uintptr{unix.CLONE_NEWUTS}, []*os.File{ns}, "")
		f := fieldsOf(out)
		if code != 0 || f["uts"] != want || f["hostname"] != "nsenter-test" {
			t.Errorf("child exit %d printed %q, want uts %s and hostname nsenter-test", code, out, want)
		}
		if f["env"] != `""` {
			t.Errorf("the request is still in the environment: %s", f["env"])
		}
		if f["dumpable"] != "0" {
			t.Errorf("dumpable %s after joining, want 0", f["dumpable"])
		}
		if len(frames) != 0 {
			t.Errorf("frames %v, want none", frames)
		}
	})
	t.Run("join pid forks", func(t *testing.T) {
		h := helper(t, "pid", true, "--pid", "--fork", "sleep", "1000")
		ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/pid_for_children", h))
		if err != nil {
			t.Fatal(err)
		}
		defer ns.Close()
		want, _ := os.Readlink(ns.Name())
		out, code, frames := bootstrap(t, 0, []uintptr{unix.CLONE_NEWPID}, []*os.File{ns}, "")
		if code != 0 || fieldsOf(out)["pid"] != want {
			t.Errorf("child exit %d printed %q, want pid namespace %s", code, out, want)
		}
		if len(frames) != 1 || frames[0]["kind"] != "pid" {
			t.Errorf("frames %v, want one pid frame", frames)
		}
	})
	t.Run("unshare pid forks", func(t *testing.T) {
		own, _ := os.Readlink("/proc/self/ns/pid")
		out, code, frames := bootstrap(t, unix.CLONE_NEWPID, nil, nil, "")
		if got := fieldsOf(out)["pid"]; code != 0 || got == own || got == "" {
			t.Errorf("child exit %d printed %q, want a new pid namespace", code, out)
		}
		if len(frames) != 1 || frames[0]["kind"] != "pid" {
			t.Errorf("frames %v, want one pid frame", frames)
		}
	})
	for _, tc := range []struct {
		name  string
		types []uintptr
		files func(t *testing.T) []*os.File
		extra string
		want  string
	}{
		{"bad descriptor", []uintptr{unix.CLONE_NEWUTS}, nil, "", "nsenter: join uts namespace: Bad file descriptor"},
		{"wrong type", []uintptr{unix.CLONE_NEWNET}, func(t *testing.T) []*os.File {
			f, err := os.Open("/proc/self/ns/uts")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return []*os.File{f}
		}, "", "nsenter: join net namespace: Invalid argument"},
		{"malformed", nil, nil, " 7:x", "nsenter: malformed request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var files []*os.File
			if tc.files != nil {
				files = tc.files(t)
			}
			out, code, frames := bootstrap(t, 0, tc.types, files, tc.extra)
			if code != 1 || out != "" {
				t.Errorf("child exit %d printed %q, want exit 1 before Go started", code, out)
			}
			if len(frames) != 1 || frames[0]["kind"] != "error" || !strings.HasPrefix(frames[0]["error"].(string), tc.want) {
				t.Errorf("frames %v, want one error frame %q", frames, tc.want)
			}
		})
	}
}

// TestRequestEnvParses checks that every number the C side parses is what
// Env wrote: the separators of each field.
func TestRequestEnvParses(t *testing.T) {
	r := Request{Sock: 12, Unshare: unix.CLONE_NEWNET, Join: []Join{{13, unix.CLONE_NEWUSER}}}
	_, val, _ := strings.Cut(r.Env(), "=")
	parts := strings.Split(val, " ")
	if len(parts) != 4 || parts[0] != "12" || parts[1] != strconv.Itoa(unix.CLONE_NEWNET) || parts[2] != "0" || parts[3] != "13:"+strconv.Itoa(unix.CLONE_NEWUSER) {
		t.Errorf("Env() = %q", r.Env())
	}
}
