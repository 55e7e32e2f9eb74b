package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// outputTail is how much of each of a hook's stdout and stderr an error
// quotes: the end, where a failing program says why.
const outputTail = 4096

// ErrTimeout is wrapped by the error of a hook killed because it ran past its
// timeout.
var ErrTimeout = errors.New("timeout")

// State marshals the OCI state (specs.State) for a hook's stdin.
func State(s *specs.State) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("marshal state of container %s: %w", s.ID, err)
	}
	return b, nil
}

// RunAll runs hooks in order and stops at the first error, returning it
// wrapped with the hook point and the hook's index (from 0, as runc counts):
// "createRuntime hook #1: hook /usr/bin/x: exit status 1, ...".
func RunAll(name configs.HookName, hooks []configs.Command, state []byte) error {
	for i, h := range hooks {
		if err := Run(h, state); err != nil {
			return fmt.Errorf("%s hook #%d: %w", name, i, err)
		}
	}
	return nil
}

// Run runs one hook and waits for it.
//
// It executes h.Path with h.Args as the whole argv (h.Args[0] is argv[0],
// even when it differs from the path; with no Args, argv is just the path)
// in h.Dir if set, and with h.Env as the whole environment. As in runc, a
// nil Env means the caller's environment (os/exec's rule); an empty,
// non-nil Env means none. The state is written to the hook's stdin, which is
// closed after it.
//
// A hook fails when it cannot be started ("hook /p: fork/exec /p: no such
// file or directory"), when it exits non-zero or is killed by a signal
// ("hook /p: exit status 2, stdout: ..., stderr: ..."; the error wraps the
// *exec.ExitError), or when h.Timeout expires first: the hook process is
// then sent SIGKILL and reaped, and the error ("hook /p: timeout after 3s")
// wraps ErrTimeout. Run returns once the hook process has been reaped, even
// if processes it started still hold its stdin, stdout or stderr.
func Run(h configs.Command, state []byte) (retErr error) {
	defer func() {
		if retErr != nil {
			retErr = fmt.Errorf("hook %s: %w", h.Path, retErr)
		}
	}()

	stdout, err := unlinkedTemp()
	if err != nil {
		return err
	}
	defer stdout.Close()
	stderr, err := unlinkedTemp()
	if err != nil {
		return err
	}
	defer stderr.Close()
	stdin, stdinW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create stdin pipe: %w", err)
	}
	defer stdin.Close()
	defer stdinW.Close()

	// Every stdio is an *os.File, so os/exec hands the descriptors to the
	// child as they are and starts no copying goroutine: Wait returns as soon
	// as the hook is reaped.
	cmd := &exec.Cmd{
		Path:   h.Path,
		Args:   h.Args,
		Env:    h.Env,
		Dir:    h.Dir,
		Stdin:  stdin,
		Stdout: stdout,
		Stderr: stderr,
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	stdin.Close()

	// The state may be larger than the pipe's buffer, so it is written
	// while the hook runs. Closing stdinW after the hook exits wakes a
	// write blocked on a pipe that a leftover child keeps open, so the
	// writer always ends. Its error is ignored: a hook may exit without
	// reading its stdin, and only its exit status says whether it worked.
	written := make(chan struct{})
	go func() {
		defer close(written)
		_, _ = stdinW.Write(state)
		_ = stdinW.Close()
	}()
	defer func() {
		_ = stdinW.Close()
		<-written
	}()

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var expired <-chan time.Time
	if h.Timeout != nil {
		timer := time.NewTimer(*h.Timeout)
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case err = <-exited:
		if err != nil {
			return fmt.Errorf("%w, stdout: %s, stderr: %s", err, tail(stdout), tail(stderr))
		}
		return nil
	case <-expired:
		// Kill only the hook, as runc does; its own children are its
		// business. Wait for it so that no zombie is left.
		_ = cmd.Process.Kill()
		<-exited
		err = fmt.Errorf("%w after %s", ErrTimeout, *h.Timeout)
		if out, errOut := tail(stdout), tail(stderr); out != "" || errOut != "" {
			err = fmt.Errorf("%w, stdout: %s, stderr: %s", err, out, errOut)
		}
		return err
	}
}

// unlinkedTemp creates an anonymous file in memory for a hook's output: it
// needs no writable directory (the startContainer hooks run inside the
// container, whose root may be read-only) and lives as long as a
// descriptor to it is open.
func unlinkedTemp() (*os.File, error) {
	fd, err := unix.MemfdCreate("berth-hook-output", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("create output file: %w", err)
	}
	return os.NewFile(uintptr(fd), "berth-hook-output"), nil
}

// tail returns the last outputTail bytes written to f, without the final
// newline, and prefixed with "..." when earlier output was cut.
func tail(f *os.File) string {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	size := fi.Size()
	off := max(size-outputTail, 0)
	buf := make([]byte, size-off)
	n, err := f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Sprintf("<%v>", err)
	}
	s := strings.TrimRight(string(buf[:n]), "\n")
	if off > 0 {
		s = "..." + s
	}
	return s
}
