package integration

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
)

func TestExitStatusPassthrough(t *testing.T) {
	for _, tc := range []struct {
		name    string
		script  string
		hostPID bool
		want    int
	}{
		{"exit 1", "exit 1", false, 1},
		{"exit 42", "exit 42", false, 42},
		{"exit 255", "exit 255", false, 255},
		{"failing command", "false", false, 1},
		{"command not found", "nosuchcommand", false, 127},
		// A signalled process: 128+signal. Sharing the host's pid
		// namespace, so that the shell is not a pid namespace init.
		{"SIGTERM", "kill -TERM $$", true, 128 + int(syscall.SIGTERM)},
		{"SIGINT", "kill -INT $$", true, 128 + int(syscall.SIGINT)},
		{"SIGSEGV", "kill -SEGV $$", true, 128 + int(syscall.SIGSEGV)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			b.sh(tc.script)
			if tc.hostPID {
				b.removeNamespace("pid")
			}
			_, errOut, code := b.runContainer()
			if code != tc.want {
				t.Errorf("exit status %d, want %d (stderr %q)", code, tc.want, errOut)
			}
			checkGone(t, b.id, b.dir)
		})
	}
}

// TestRunForwardsSignals sends signals to a foreground berth run: the
// container's process gets them and its exit status is berth's.
func TestRunForwardsSignals(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		trap string
		want int
	}{
		{syscall.SIGUSR1, "USR1", 7},
		{syscall.SIGUSR2, "USR2", 8},
		{syscall.SIGTERM, "TERM", 9},
		{syscall.SIGINT, "INT", 10},
		{syscall.SIGHUP, "HUP", 11},
	} {
		t.Run(tc.trap, func(t *testing.T) {
			b := newBundle(t)
			b.sh("trap 'exit " + strconv.Itoa(tc.want) + "' " + tc.trap + "; echo ready; while :; do sleep 0.1; done")
			b.write()
			out, err := os.CreateTemp(b.dir, "stdout-")
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			cmd := exec.Command(suite.berth, "--root", suite.root, "run", b.id)
			cmd.Dir = b.dir
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitFile(t, out.Name())
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.want {
				data, _ := os.ReadFile(out.Name())
				t.Fatalf("berth run: %v, want exit status %d (output %q)", err, tc.want, data)
			}
			checkGone(t, b.id, b.dir)
		})
	}
}
