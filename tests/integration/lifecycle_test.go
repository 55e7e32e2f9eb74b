package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRunExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		hostPID bool
		want    int
	}{
		{"true", []string{"true"}, false, 0},
		{"exit 3", []string{"sh", "-c", "exit 3"}, false, 3},
		// A pid namespace's init cannot be killed from inside it: share
		// the host's so that the shell is not an init.
		{"killed", []string{"sh", "-c", "kill -9 $$"}, true, 137},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, tc.args...)
			if tc.hostPID {
				b.removeNamespace("pid")
			}
			_, errOut, code := b.runContainer()
			if code != tc.want {
				t.Fatalf("exit status %d, want %d (stderr %q)", code, tc.want, errOut)
			}
			if _, _, c := suite.run("state", b.id); c == 0 {
				t.Fatal("container still exists after run without --keep")
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	pidFile := filepath.Join(b.dir, "pid")
	b.berth("create", "--pid-file", pidFile, b.id)

	st := b.state()
	if st["status"] != "created" {
		t.Fatalf("status after create = %v, want created", st["status"])
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if pid, _ := strconv.Atoi(string(data)); pid <= 0 || float64(pid) != st["pid"] {
		t.Fatalf("pid file %q, state pid %v", data, st["pid"])
	}
	if st["bundle"] != b.dir {
		t.Errorf("bundle = %v, want %s", st["bundle"], b.dir)
	}

	b.berth("start", b.id)
	if st := b.state(); st["status"] != "running" {
		t.Fatalf("status after start = %v, want running", st["status"])
	}
	if _, _, code := suite.run("start", b.id); code != 1 {
		t.Errorf("second start exit %d, want 1", code)
	}
	if _, errOut, code := suite.run("delete", b.id); code != 1 || !strings.Contains(errOut, "not stopped") {
		t.Errorf("delete of a running container: exit %d, stderr %q", code, errOut)
	}

	b.berth("kill", b.id, "KILL")
	waitStatus(t, b, "stopped")
	b.berth("delete", b.id)
	if _, _, code := suite.run("state", b.id); code != 1 {
		t.Fatalf("state after delete: exit %d, want 1", code)
	}
}

func TestList(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.berth("create", b.id)
	out := b.berth("list")
	if !strings.Contains(out, b.id) || !strings.Contains(out, "created") {
		t.Fatalf("list output lacks the container:\n%s", out)
	}
	out = b.berth("list", "-q")
	if !strings.Contains(out, b.id+"\n") {
		t.Fatalf("list -q output: %q", out)
	}
	b.berth("delete", "--force", b.id)
}

// waitStatus waits (by polling berth state, a test-only loop) until the
// container reaches status want.
func waitStatus(t *testing.T, b *bundle, want string) {
	t.Helper()
	for range 100 {
		if st := b.state(); st["status"] == want {
			return
		}
		sleep()
	}
	t.Fatalf("container never reached status %s", want)
}
