package terminal

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPtyPair opens a pty pair from the host's /dev/ptmx (posix_openpt(3)),
// both ends closed when the test ends (closing twice is harmless).
func openPtyPair(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty: open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	var sfd int
	err = control(master, func(fd int) error {
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return err
		}
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
		if errno != 0 {
			return errno
		}
		sfd = int(r)
		return nil
	})
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	// Non-blocking, so that Go's poller can interrupt a read on Close.
	if err := unix.SetNonblock(sfd, true); err != nil {
		t.Fatal(err)
	}
	slave = os.NewFile(uintptr(sfd), "pty-slave")
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

func getTermios(t *testing.T, f *os.File) *unix.Termios {
	t.Helper()
	var tios *unix.Termios
	err := control(f, func(fd int) (err error) {
		tios, err = unix.IoctlGetTermios(fd, unix.TCGETS)
		return err
	})
	if err != nil {
		t.Fatalf("TCGETS on %s: %v", f.Name(), err)
	}
	return tios
}

func setSize(t *testing.T, f *os.File, rows, cols uint16) {
	t.Helper()
	err := control(f, func(fd int) error {
		return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
	})
	if err != nil {
		t.Fatalf("TIOCSWINSZ on %s: %v", f.Name(), err)
	}
}

func getSize(t *testing.T, f *os.File) Size {
	t.Helper()
	var ws *unix.Winsize
	err := control(f, func(fd int) (err error) {
		ws, err = unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
		return err
	})
	if err != nil {
		t.Fatalf("TIOCGWINSZ on %s: %v", f.Name(), err)
	}
	return Size{Height: ws.Row, Width: ws.Col}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// eventually polls cond for up to five seconds.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestProxyTTY plays both sides: "outer" is the caller's terminal (the
// proxy's in is its slave; the test types on its master), "inner" is the
// container's pty (the proxy gets its master; the test is the container on
// its slave).
func TestProxyTTY(t *testing.T) {
	outerM, outerS := openPtyPair(t)
	innerM, innerS := openPtyPair(t)
	before := getTermios(t, outerS)
	if before.Lflag&unix.ICANON == 0 {
		t.Fatal("a new pty should start in canonical mode")
	}
	setSize(t, outerM, 30, 100)

	var out syncBuffer
	p, err := NewProxy(innerM, outerS, &out)
	if err != nil {
		t.Fatalf("NewProxy: %v", err)
	}
	defer p.Close()

	t.Run("raw mode", func(t *testing.T) {
		raw := getTermios(t, outerS)
		if raw.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 || raw.Iflag&unix.ICRNL != 0 || raw.Oflag&unix.OPOST != 0 {
			t.Errorf("in's termios lflag %#x iflag %#x oflag %#x: not raw", raw.Lflag, raw.Iflag, raw.Oflag)
		}
	})
	t.Run("initial size", func(t *testing.T) {
		if got, want := getSize(t, innerM), (Size{Height: 30, Width: 100}); got != want {
			t.Errorf("master size %+v, want %+v", got, want)
		}
	})
	t.Run("output", func(t *testing.T) {
		if _, err := innerS.WriteString("from the container\n"); err != nil {
			t.Fatal(err)
		}
		if !eventually(func() bool { return strings.Contains(out.String(), "from the container") }) {
			t.Errorf("out has %q, want the container's output", out.String())
		}
	})
	t.Run("input", func(t *testing.T) {
		if _, err := outerM.WriteString("typed\n"); err != nil {
			t.Fatal(err)
		}
		if err := innerS.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, err := innerS.Read(buf)
		if err != nil || string(buf[:n]) != "typed\n" {
			t.Errorf("container read %q, %v; want %q", buf[:n], err, "typed\n")
		}
	})
	t.Run("SIGWINCH", func(t *testing.T) {
		setSize(t, outerM, 40, 120)
		// in is not our controlling terminal, so the kernel signals no one:
		// send the signal a terminal emulator's resize would cause.
		if err := unix.Kill(os.Getpid(), unix.SIGWINCH); err != nil {
			t.Fatal(err)
		}
		want := Size{Height: 40, Width: 120}
		if !eventually(func() bool { return getSize(t, innerM) == want }) {
			t.Errorf("master size %+v after SIGWINCH, want %+v", getSize(t, innerM), want)
		}
	})

	// The container's last slave descriptor closes: the proxy sees EIO.
	innerS.Close()
	waited := make(chan struct{})
	go func() { p.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after the slave closed")
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if after := getTermios(t, outerS); *after != *before {
		t.Errorf("termios after Close %+v, want the original %+v", after, before)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// The copy from in ends when the caller's terminal hangs up.
	outerM.Close()
}

func TestProxyPipe(t *testing.T) {
	innerM, innerS := openPtyPair(t)
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inR.Close()
	defer inW.Close()
	var out syncBuffer
	p, err := NewProxy(innerM, inR, &out)
	if err != nil {
		t.Fatalf("NewProxy with a pipe: %v", err)
	}
	if _, err := inW.WriteString("piped\n"); err != nil {
		t.Fatal(err)
	}
	inW.Close()
	if err := innerS.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.LimitReader(innerS, 6))
	if err != nil || string(got) != "piped\n" {
		t.Errorf("container read %q, %v; want %q", got, err, "piped\n")
	}
	if _, err := innerS.WriteString("bye\n"); err != nil {
		t.Fatal(err)
	}
	innerS.Close()
	p.Wait()
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !strings.Contains(out.String(), "bye") {
		t.Errorf("out has %q, want %q", out.String(), "bye")
	}
}
