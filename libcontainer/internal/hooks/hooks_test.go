package hooks

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berthrt/berth/libcontainer/configs"
)

// script writes an executable #!/bin/sh script into dir and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func duration(d time.Duration) *time.Duration { return &d }

func testState(t *testing.T, annotation int) []byte {
	t.Helper()
	s := &specs.State{
		Version: specs.Version,
		ID:      "hooktest",
		Status:  specs.StateCreating,
		Pid:     4242,
		Bundle:  "/bundle",
	}
	if annotation > 0 {
		s.Annotations = map[string]string{"big": strings.Repeat("x", annotation)}
	}
	b, err := State(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// needShell skips a test that runs hooks written as shell scripts.
func needShell(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("needs /bin/sh to run the test hooks")
	}
}

func TestRun(t *testing.T) {
	needShell(t)
	t.Setenv("BERTH_HOOK_INHERITED", "yes")

	tests := []struct {
		name string
		// setup returns the hook and a check of what it left in dir.
		setup   func(t *testing.T, dir string) configs.Command
		state   []byte
		wantErr []string // substrings of the error; nil for success
		check   func(t *testing.T, dir string, state []byte)
	}{
		{
			name: "state on stdin",
			setup: func(t *testing.T, dir string) configs.Command {
				return configs.Command{Path: script(t, dir, "h", "cat > "+dir+"/stdin\n")}
			},
			state: testState(t, 0),
			check: func(t *testing.T, dir string, state []byte) {
				if got := readFile(t, dir+"/stdin"); got != string(state) {
					t.Errorf("stdin = %q, want %q", got, state)
				}
			},
		},
		{
			name: "state larger than a pipe buffer",
			setup: func(t *testing.T, dir string) configs.Command {
				return configs.Command{Path: script(t, dir, "h", "cat > "+dir+"/stdin\n")}
			},
			state: testState(t, 1<<20),
			check: func(t *testing.T, dir string, state []byte) {
				if got := readFile(t, dir+"/stdin"); got != string(state) {
					t.Errorf("stdin: got %d bytes, want %d", len(got), len(state))
				}
			},
		},
		{
			name: "hook that ignores a large stdin",
			setup: func(t *testing.T, dir string) configs.Command {
				return configs.Command{Path: script(t, dir, "h", "exit 0\n")}
			},
			state: testState(t, 1<<20),
		},
		{
			name: "argv[0] kept",
			setup: func(t *testing.T, dir string) configs.Command {
				// In "sh -c CMD", $0 is the argument after CMD, so argv[0]
				// is read from /proc instead.
				return configs.Command{
					Path: "/bin/sh",
					Args: []string{"mysh", "-c", "cat /proc/$$/cmdline > " + dir + "/argv", "one"},
				}
			},
			check: func(t *testing.T, dir string, _ []byte) {
				want := "mysh\x00-c\x00cat /proc/$$/cmdline > " + dir + "/argv\x00one\x00"
				if got := readFile(t, dir+"/argv"); got != want {
					t.Errorf("argv = %q, want %q", got, want)
				}
			},
		},
		{
			name: "env passed exactly",
			setup: func(t *testing.T, dir string) configs.Command {
				return configs.Command{
					Path: script(t, dir, "h", "cat /proc/$$/environ > "+dir+"/env\n"),
					Env:  []string{"A=1", "B=two words"},
				}
			},
			check: func(t *testing.T, dir string, _ []byte) {
				if got, want := readFile(t, dir+"/env"), "A=1\x00B=two words\x00"; got != want {
					t.Errorf("environ = %q, want %q", got, want)
				}
			},
		},
		{
			name: "empty env",
			setup: func(t *testing.T, dir string) configs.Command {
				return configs.Command{
					Path: script(t, dir, "h", "cat /proc/$$/environ > "+dir+"/env\n"),
					Env:  []string{},
				}
			},
			check: func(t *testing.T, dir string, _ []byte) {
				if got := readFile(t, dir+"/env"); got != "" {
					t.Errorf("environ = %q, want empty", got)
				}
			},
		},
		{
			name: "nil env inherits the caller's, as runc",
			setup: func(t *testing.T, dir string) configs.Command {
				return configs.Command{Path: script(t, dir, "h", "cat /proc/$$/environ > "+dir+"/env\n")}
			},
			check: func(t *testing.T, dir string, _ []byte) {
				if got := readFile(t, dir+"/env"); !strings.Contains(got, "BERTH_HOOK_INHERITED=yes\x00") {
					t.Errorf("environ = %q, want BERTH_HOOK_INHERITED=yes in it", got)
				}
			},
		},
		{
			name: "dir",
			setup: func(t *testing.T, dir string) configs.Command {
				wd := filepath.Join(dir, "wd")
				if err := os.Mkdir(wd, 0o755); err != nil {
					t.Fatal(err)
				}
				return configs.Command{Path: script(t, dir, "h", "pwd > "+dir+"/pwd\n"), Dir: wd}
			},
			check: func(t *testing.T, dir string, _ []byte) {
				if got, want := readFile(t, dir+"/pwd"), dir+"/wd\n"; got != want {
					t.Errorf("pwd = %q, want %q", got, want)
				}
			},
		},
		{
			name: "exit status with output",
			setup: func(t *testing.T, dir string) configs.Command {
				return configs.Command{Path: script(t, dir, "h", "echo to-out\necho to-err >&2\nexit 2\n")}
			},
			wantErr: []string{": exit status 2, stdout: to-out, stderr: to-err"},
		},
		{
			name: "killed by a signal",
			setup: func(t *testing.T, dir string) configs.Command {
				return configs.Command{Path: script(t, dir, "h", "kill -TERM $$\n")}
			},
			wantErr: []string{": signal: terminated, stdout: , stderr: "},
		},
		{
			name: "output cut to its tail",
			setup: func(t *testing.T, dir string) configs.Command {
				return configs.Command{Path: script(t, dir, "h",
					"i=0; while [ $i -lt 2000 ]; do echo line$i >&2; i=$((i+1)); done\nexit 1\n")}
			},
			wantErr: []string{"stderr: ...", "line1999"},
		},
		{
			name: "missing path",
			setup: func(t *testing.T, dir string) configs.Command {
				return configs.Command{Path: dir + "/missing"}
			},
			wantErr: []string{"/missing: fork/exec ", "/missing: no such file or directory"},
		},
		{
			name: "not executable",
			setup: func(t *testing.T, dir string) configs.Command {
				p := filepath.Join(dir, "h")
				if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				// Even root may not execute a file with no x bit at all.
				return configs.Command{Path: p}
			},
			wantErr: []string{": permission denied"},
		},
		{
			name: "finishes within its timeout",
			setup: func(t *testing.T, dir string) configs.Command {
				return configs.Command{Path: script(t, dir, "h", "exit 0\n"), Timeout: duration(10 * time.Second)}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			h := tt.setup(t, dir)
			state := tt.state
			if state == nil {
				state = testState(t, 0)
			}
			err := Run(h, state)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			} else {
				if err == nil {
					t.Fatalf("Run: no error, want one containing %q", tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "hook "+h.Path+": ") {
					t.Errorf("error %q does not start with %q", err, "hook "+h.Path+": ")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if len(err.Error()) > 3*outputTail {
					t.Errorf("error is %d bytes long, want the output cut", len(err.Error()))
				}
			}
			if tt.check != nil {
				tt.check(t, dir, state)
			}
		})
	}
}

func TestRunErrorTypes(t *testing.T) {
	needShell(t)
	dir := t.TempDir()

	err := Run(configs.Command{Path: dir + "/missing"}, nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing path: %v does not wrap fs.ErrNotExist", err)
	}

	err = Run(configs.Command{Path: script(t, dir, "h", "exit 3\n")}, nil)
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
		t.Errorf("exit 3: %v is not an *exec.ExitError with code 3", err)
	}
}

// TestRunTimeout checks that a hook running past its timeout is killed and
// reaped, and that Run says so in about the timeout.
func TestRunTimeout(t *testing.T) {
	needShell(t)
	dir := t.TempDir()
	// exec, so that the hook process itself sleeps and nothing is left
	// behind when it is killed.
	h := configs.Command{
		Path:    script(t, dir, "h", "echo $$ > "+dir+"/pid\necho started\nexec sleep 30\n"),
		Timeout: duration(300 * time.Millisecond),
	}
	start := time.Now()
	err := Run(h, testState(t, 0))
	elapsed := time.Since(start)

	want := "hook " + h.Path + ": timeout after 300ms, stdout: started, stderr: "
	if err == nil || err.Error() != want {
		t.Fatalf("Run: %v, want %q", err, want)
	}
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("%v does not wrap ErrTimeout", err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("Run took %v for a 300ms timeout", elapsed)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, dir+"/pid")))
	if err != nil {
		t.Fatal(err)
	}
	// Run reaped the hook, so its pid is gone (not even a zombie).
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(%d, 0) = %v, want ESRCH: the hook is still there", pid, err)
	}
}

// TestRunLeftoverChild checks that a hook whose background child keeps its
// stdin, stdout and stderr open does not block Run.
func TestRunLeftoverChild(t *testing.T) {
	needShell(t)
	dir := t.TempDir()
	h := configs.Command{
		Path: script(t, dir, "h", "sleep 30 &\necho $! > "+dir+"/child\necho bye\nexit 1\n"),
	}
	start := time.Now()
	err := Run(h, testState(t, 1<<20)) // more than the pipe holds: the child never reads it
	elapsed := time.Since(start)

	if b, rerr := os.ReadFile(dir + "/child"); rerr == nil {
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
			t.Cleanup(func() {
				// The test started this sleep (through the hook): end it.
				_ = syscall.Kill(pid, syscall.SIGKILL)
			})
		}
	}
	if err == nil || !strings.Contains(err.Error(), "exit status 1, stdout: bye, stderr: ") {
		t.Errorf("Run: %v, want exit status 1 with stdout bye", err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("Run took %v: blocked on the leftover child", elapsed)
	}
}

func TestRunAll(t *testing.T) {
	needShell(t)
	tests := []struct {
		name    string
		exits   []int
		wantLog string
		wantErr string // prefix; empty for success
	}{
		{name: "none", exits: nil, wantLog: ""},
		{name: "all succeed in order", exits: []int{0, 0, 0}, wantLog: "0\n1\n2\n"},
		{name: "stops at the first failure", exits: []int{0, 4, 0}, wantLog: "0\n1\n", wantErr: "createRuntime hook #1: hook "},
		{name: "first fails", exits: []int{1, 0}, wantLog: "0\n", wantErr: "createRuntime hook #0: hook "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "log")
			if err := os.WriteFile(log, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			var hooks []configs.Command
			for i, code := range tt.exits {
				hooks = append(hooks, configs.Command{
					Path: script(t, dir, "h"+strconv.Itoa(i),
						"echo "+strconv.Itoa(i)+" >> "+log+"\nexit "+strconv.Itoa(code)+"\n"),
				})
			}
			err := RunAll(configs.CreateRuntime, hooks, testState(t, 0))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("RunAll: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Errorf("RunAll: %v, want an error starting with %q", err, tt.wantErr)
			}
			if got := readFile(t, log); got != tt.wantLog {
				t.Errorf("hooks ran: %q, want %q", got, tt.wantLog)
			}
		})
	}
}

func TestState(t *testing.T) {
	s := &specs.State{
		Version:     "1.3.0",
		ID:          "c1",
		Status:      specs.StateCreated,
		Pid:         7,
		Bundle:      "/b",
		Annotations: map[string]string{"k": "v"},
	}
	got, err := State(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"ociVersion":"1.3.0","id":"c1","status":"created","pid":7,"bundle":"/b","annotations":{"k":"v"}}`
	if !bytes.Equal(got, []byte(want)) {
		t.Errorf("State = %s, want %s", got, want)
	}
}
