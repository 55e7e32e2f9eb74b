package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// build compiles recvtty into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go toolchain in PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "recvtty")
	out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// openPty returns a pty master (named as berth names it) and its slave.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	master = os.NewFile(uintptr(mfd), "/dev/pts/ptmx")
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(mfd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	sfd, err := unix.Open("/dev/pts/"+strconv.Itoa(int(n)), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Raw, so that what the test writes arrives unchanged and unechoed.
	tios, err := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if err == nil {
		tios.Lflag &^= unix.ICANON | unix.ECHO
		tios.Oflag &^= unix.OPOST
		err = unix.IoctlSetTermios(sfd, unix.TCSETS, tios)
	}
	if err != nil {
		unix.Close(sfd)
		t.Fatal(err)
	}
	// Non-blocking: in Go's poller, so that the deadline bounds a hang.
	slave = os.NewFile(uintptr(sfd), "pty-slave")
	t.Cleanup(func() { slave.Close() })
	if err := slave.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return master, slave
}

// start runs recvtty with args and waits until its pid file appears.
func start(t *testing.T, bin, mode string, stdin io.Reader, stdout io.Writer) (cmd *exec.Cmd, sock string) {
	t.Helper()
	dir := t.TempDir()
	sock, pidFile := filepath.Join(dir, "tty.sock"), filepath.Join(dir, "pid")
	cmd = exec.Command(bin, "--mode", mode, "--pid-file", pidFile, sock)
	cmd.Stdin, cmd.Stdout = stdin, stdout
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		b, err := os.ReadFile(pidFile)
		if err == nil {
			if string(b) != strconv.Itoa(cmd.Process.Pid) {
				t.Fatalf("pid file has %q, want %d", b, cmd.Process.Pid)
			}
			return cmd, sock
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid file: %v; stderr %q", err, stderr.String())
		}
	}
}

// send connects to sock and sends master as berth does.
func send(t *testing.T, sock string, master *os.File) {
	t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, _, err := c.WriteMsgUnix([]byte(master.Name()), unix.UnixRights(int(master.Fd())), nil); err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitExit(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("recvtty did not exit after the pty hung up")
		return nil
	}
}

func TestRecvtty(t *testing.T) {
	bin := build(t)

	t.Run("single", func(t *testing.T) {
		master, slave := openPty(t)
		inR, inW, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer inR.Close()
		defer inW.Close()
		var out lockedBuffer
		cmd, sock := start(t, bin, "single", inR, &out)
		send(t, sock, master)
		master.Close() // recvtty holds the only master now

		if _, err := inW.WriteString("to the container"); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, err := slave.Read(buf)
		if err != nil || string(buf[:n]) != "to the container" {
			t.Errorf("slave read %q, %v; want recvtty's stdin", buf[:n], err)
		}
		if _, err := slave.WriteString("from the container"); err != nil {
			t.Fatal(err)
		}
		slave.Close()
		if err := waitExit(t, cmd); err != nil {
			t.Errorf("recvtty: %v", err)
		}
		if got := out.String(); got != "from the container" {
			t.Errorf("stdout %q, want exactly the container's output", got)
		}
	})

	t.Run("null", func(t *testing.T) {
		var out lockedBuffer
		_, sock := start(t, bin, "null", nil, &out)
		for i := range 2 {
			master, slave := openPty(t)
			send(t, sock, master)
			master.Close()
			// A full pty buffer would block this write if nobody read.
			chunk := bytes.Repeat([]byte{'x'}, 4096)
			for range 64 {
				if _, err := slave.Write(chunk); err != nil {
					t.Fatalf("container %d: write: %v", i, err)
				}
			}
			slave.Close()
		}
		// Still listening: null mode serves until it is killed.
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatalf("recvtty stopped listening in null mode: %v", err)
		}
		c.Close()
		if got := out.String(); got != "" {
			t.Errorf("stdout %q, want nothing", got)
		}
	})

	t.Run("bad usage", func(t *testing.T) {
		for _, args := range [][]string{{}, {"--mode", "double", "/nonexistent/sock"}} {
			err := exec.Command(bin, args...).Run()
			if err == nil {
				t.Errorf("recvtty %q succeeded, want a failure", args)
			}
		}
	})
}
