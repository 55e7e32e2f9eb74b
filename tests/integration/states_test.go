package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || len(s) < i+3 || s[i+2] != 'Z'
}

func TestDelete(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(b *bundle) // leaves the container in some state
		args  []string        // delete flags
		code  int
		want  string // in stderr when code != 0
		gone  bool   // the container no longer exists afterwards
	}{
		{"created", func(b *bundle) { b.berth("create", b.id) }, nil, 0, "", true},
		{"running", func(b *bundle) { b.berth("create", b.id); b.berth("start", b.id) }, nil, 1, "not stopped", false},
		{"running force", func(b *bundle) { b.berth("create", b.id); b.berth("start", b.id) }, []string{"--force"}, 0, "", true},
		{"created force", func(b *bundle) { b.berth("create", b.id) }, []string{"--force"}, 0, "", true},
		{"stopped", func(b *bundle) {
			b.sh("exit 0")
			b.berth("run", "--keep", b.id)
		}, nil, 0, "", true},
		{"missing force", func(*bundle) {}, []string{"--force"}, 0, "", true},
		{"missing", func(*bundle) {}, nil, 1, "not exist", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "sleep", "100")
			tc.setup(b)
			pid := 0
			if _, _, code := suite.run("state", b.id); code == 0 && b.state()["status"] != "stopped" {
				pid = b.containerPid()
			}
			_, errOut, code := suite.run(append(append([]string{"delete"}, tc.args...), b.id)...)
			if code != tc.code {
				t.Fatalf("delete: exit %d, want %d (stderr %q)", code, tc.code, errOut)
			}
			if code != 0 && !strings.Contains(errOut, tc.want) {
				t.Errorf("delete: stderr %q does not mention %q", errOut, tc.want)
			}
			if !tc.gone {
				if st := b.state(); st["status"] != "running" {
					t.Errorf("status after a refused delete = %v, want running", st["status"])
				}
				if !alive(pid) {
					t.Errorf("process %d died on a refused delete", pid)
				}
				b.berth("delete", "--force", b.id)
			}
			if pid > 0 && alive(pid) {
				t.Errorf("process %d still alive after delete", pid)
			}
			checkGone(t, b.id, b.dir)
		})
	}
}

func TestStartTwice(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(b *bundle)
		want  string
	}{
		{"running", func(b *bundle) { b.berth("create", b.id); b.berth("start", b.id) }, "running"},
		{"stopped", func(b *bundle) { b.sh("exit 0"); b.berth("run", "--keep", b.id) }, "stopped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "sleep", "100")
			tc.setup(b)
			_, errOut, code := suite.run("start", b.id)
			if code != 1 {
				t.Fatalf("start of a %s container: exit %d, want 1 (stderr %q)", tc.want, code, errOut)
			}
			if st := b.state(); st["status"] != tc.want {
				t.Errorf("status after a refused start = %v, want %s", st["status"], tc.want)
			}
			b.berth("delete", "--force", b.id)
			checkGone(t, b.id, b.dir)
		})
	}
}

func TestKillStopped(t *testing.T) {
	b := newBundle(t, "true")
	b.berth("run", "--keep", b.id)
	if st := b.state(); st["status"] != "stopped" {
		t.Fatalf("status after run --keep = %v, want stopped", st["status"])
	}
	_, errOut, code := suite.run("kill", b.id, "KILL")
	if code != 1 {
		t.Fatalf("kill of a stopped container: exit %d, want 1 (stderr %q)", code, errOut)
	}
	b.berth("delete", b.id)
	checkGone(t, b.id, b.dir)
}

func TestRunDetach(t *testing.T) {
	for _, sig := range []string{"KILL", "TERM"} {
		t.Run(sig, func(t *testing.T) {
			// A pid namespace's init ignores TERM unless it handles it.
			b := newBundle(t, "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done")
			pidFile := filepath.Join(b.dir, "detach.pid")
			b.berth("run", "-d", "--pid-file", pidFile, b.id)
			st := b.state()
			if st["status"] != "running" {
				t.Fatalf("status after run -d = %v, want running", st["status"])
			}
			pid := b.containerPid()
			if !alive(pid) {
				t.Fatalf("container process %d is not alive", pid)
			}
			if got := processesInCgroup(cgroupParent + "/" + b.id); len(got) == 0 {
				t.Errorf("no process in the container's cgroup")
			}
			b.berth("kill", b.id, sig)
			waitStatus(t, b, "stopped")
			b.berth("delete", b.id)
			if alive(pid) {
				t.Errorf("process %d alive after delete", pid)
			}
			checkGone(t, b.id, b.dir)
		})
	}
}

func TestRunKeep(t *testing.T) {
	b := newBundle(t, "sh", "-c", "echo kept")
	out := b.berth("run", "--keep", b.id)
	if strings.TrimSpace(out) != "kept" {
		t.Errorf("stdout %q, want kept", out)
	}
	st := b.state()
	if st["status"] != "stopped" {
		t.Fatalf("status after run --keep = %v, want stopped", st["status"])
	}
	if _, err := os.Stat(filepath.Join(suite.root, b.id)); err != nil {
		t.Errorf("state directory: %v", err)
	}
	b.berth("delete", b.id)
	checkGone(t, b.id, b.dir)
}

func TestPidFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		comm string // what the pid runs
	}{
		{"create", []string{"create"}, ""},
		{"run detached", []string{"run", "-d"}, "sleep"},
		{"relative path", []string{"create"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "sleep", "100")
			pidFile := filepath.Join(b.dir, "container.pid")
			arg := pidFile
			if tc.name == "relative path" {
				// Relative to berth's working directory, the bundle here.
				arg = "container.pid"
			}
			args := append(append([]string{}, tc.args...), "--pid-file", arg, b.id)
			b.berth(args...)
			data, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatal(err)
			}
			pid, err := strconv.Atoi(string(data))
			if err != nil {
				t.Fatalf("pid file %q is not a bare decimal number", data)
			}
			if want := b.containerPid(); pid != want {
				t.Fatalf("pid file %d, state pid %d", pid, want)
			}
			if !alive(pid) {
				t.Fatalf("pid %d from the pid file is not alive", pid)
			}
			if tc.comm != "" {
				comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
				if strings.TrimSpace(string(comm)) != tc.comm {
					t.Errorf("pid %d runs %q, want %s", pid, comm, tc.comm)
				}
			}
			// The pid is in the container's pid namespace's init: its
			// NSpid ends with 1.
			status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if ns := strings.Fields(statusField(string(status), "NSpid")); len(ns) != 2 || ns[1] != "1" {
				t.Errorf("NSpid of %d = %v, want [%d 1]", pid, ns, pid)
			}
			b.berth("delete", "--force", b.id)
			checkGone(t, b.id, b.dir)
		})
	}
}

// TestKillSignals sends signals spelled in every accepted way to a
// container that records what it gets.
func TestKillSignals(t *testing.T) {
	for _, tc := range []struct {
		arg  string // the signal argument, "" for the default
		trap string // the signal the container traps
	}{
		{"", "TERM"},
		{"USR1", "USR1"},
		{"SIGUSR2", "USR2"},
		{"usr1", "USR1"},
		{"sigHUP", "HUP"},
		{"10", "USR1"},
		{"2", "INT"},
	} {
		name := tc.arg
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			b := newBundle(t)
			out := b.hostDir("out")
			b.addMount(specs.Mount{Destination: "/out", Type: "bind", Source: out, Options: []string{"rbind", "rw"}})
			b.sh(fmt.Sprintf("trap 'echo %s > /out/got; exit 0' %s; echo ready > /out/ready; while :; do sleep 0.1; done", tc.trap, tc.trap))
			b.berth("run", "-d", b.id)
			waitFile(t, filepath.Join(out, "ready"))
			args := []string{"kill", b.id}
			if tc.arg != "" {
				args = append(args, tc.arg)
			}
			b.berth(args...)
			if got := strings.TrimSpace(waitFile(t, filepath.Join(out, "got"))); got != tc.trap {
				t.Errorf("container got %q, want %s", got, tc.trap)
			}
			waitStatus(t, b, "stopped")
			b.berth("delete", b.id)
			checkGone(t, b.id, b.dir)
		})
	}
}

func TestKillBadSignal(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.berth("create", b.id)
	for _, sig := range []string{"NOSUCHSIG", "0", "65"} {
		t.Run(sig, func(t *testing.T) {
			_, errOut, code := suite.run("kill", b.id, sig)
			if code != 1 || !strings.Contains(errOut, "signal") {
				t.Errorf("kill %s: exit %d, stderr %q; want 1 and an error about the signal", sig, code, errOut)
			}
		})
	}
	if st := b.state(); st["status"] != "created" {
		t.Errorf("status after bad kills = %v, want created", st["status"])
	}
	b.berth("delete", "--force", b.id)
}
