package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// datagram is one message the fake host received, with the number of
// descriptors attached to it.
type datagram struct {
	data string
	fds  int
}

// fakeHost is a stand-in for systemd's notify socket.
type fakeHost struct {
	addr string
	got  chan datagram
}

// hostMode says how the fake host treats a received descriptor.
type hostMode int

const (
	closeFDs  hostMode = iota // answer the barrier at once, as systemd does
	holdFDs                   // never answer the barrier (until the test ends)
	ignoreFDs                 // read without taking control messages
)

// newFakeHost listens on addr (a path, or "@name") and records what it gets.
func newFakeHost(t *testing.T, addr string, mode hostMode) *fakeHost {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatalf("fake host: %v", err)
	}
	h := &fakeHost{addr: addr, got: make(chan datagram, 16)}
	var held []int
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		oob := make([]byte, unix.CmsgSpace(4*4))
		for {
			var n, oobn int
			var err error
			if mode == ignoreFDs {
				n, err = conn.Read(buf)
			} else {
				n, oobn, _, _, err = conn.ReadMsgUnix(buf, oob)
			}
			if err != nil {
				return
			}
			var fds []int
			if oobn > 0 {
				msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
				if err != nil {
					t.Errorf("fake host: parse control message: %v", err)
				}
				for _, m := range msgs {
					rights, err := unix.ParseUnixRights(&m)
					if err != nil {
						t.Errorf("fake host: parse rights: %v", err)
					}
					fds = append(fds, rights...)
				}
			}
			h.got <- datagram{data: string(buf[:n]), fds: len(fds)}
			for _, fd := range fds {
				if mode == holdFDs {
					held = append(held, fd)
				} else {
					unix.Close(fd)
				}
			}
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
		for _, fd := range held {
			unix.Close(fd)
		}
	})
	return h
}

// next returns the next datagram the host got, failing after a while.
func (h *fakeHost) next(t *testing.T) datagram {
	t.Helper()
	select {
	case d := <-h.got:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("fake host: no datagram")
		return datagram{}
	}
}

// sendFromContainer sends msgs to the proxy socket as the container would.
func sendFromContainer(t *testing.T, path string, msgs ...string) {
	t.Helper()
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatalf("container: %v", err)
	}
	defer c.Close()
	for _, m := range msgs {
		if _, err := c.Write([]byte(m)); err != nil {
			t.Fatalf("container: send %q: %v", m, err)
		}
	}
}

func abstractName() string {
	return fmt.Sprintf("@berth-notify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
}

func listen(t *testing.T, host string) *Socket {
	t.Helper()
	s, err := Listen(t.TempDir(), host)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestForward(t *testing.T) {
	tests := []struct {
		name     string
		abstract bool
		mode     hostMode
		msgs     []string
	}{
		{name: "status then ready", msgs: []string{"STATUS=foo\n", "READY=1\n"}},
		{name: "ready among other lines", msgs: []string{"STATUS=a\nREADY=1\nSTATUS=b"}},
		{name: "near misses ignored", msgs: []string{"READY=10\n", "XREADY=1\n", "READY=1"}},
		{name: "abstract host socket", abstract: true, msgs: []string{"STATUS=foo\n", "READY=1\n"}},
		{name: "host that ignores descriptors", mode: ignoreFDs, msgs: []string{"READY=1\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := filepath.Join(t.TempDir(), "host.sock")
			if tt.abstract {
				addr = abstractName()
			}
			host := newFakeHost(t, addr, tt.mode)
			s := listen(t, addr)
			sendFromContainer(t, s.Path(), tt.msgs...)

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.Forward(ctx, 4242); err != nil {
				t.Fatalf("Forward: %v", err)
			}
			wantFDs := 1
			if tt.mode == ignoreFDs {
				wantFDs = 0 // the kernel dropped (and closed) it
			}
			want := []datagram{
				{data: "READY=1\nMAINPID=4242\n"},
				{data: "BARRIER=1\n", fds: wantFDs},
			}
			for i, w := range want {
				if got := host.next(t); got != w {
					t.Errorf("datagram %d = %+v, want %+v", i, got, w)
				}
			}
			select {
			case d := <-host.got:
				t.Errorf("unexpected datagram %+v", d)
			default:
			}
		})
	}
}

func TestForwardBarrierTimeout(t *testing.T) {
	addr := filepath.Join(t.TempDir(), "host.sock")
	host := newFakeHost(t, addr, holdFDs)
	s := listen(t, addr)
	s.barrierTimeout = 200 * time.Millisecond
	sendFromContainer(t, s.Path(), "READY=1\n")

	start := time.Now()
	err := s.Forward(context.Background(), 1)
	if !errors.Is(err, ErrBarrierTimeout) {
		t.Fatalf("Forward: %v, want ErrBarrierTimeout", err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("Forward took %v with a 200ms barrier timeout", elapsed)
	}
	if got := host.next(t); got.data != "READY=1\nMAINPID=1\n" {
		t.Errorf("host got %q first, want READY and MAINPID", got.data)
	}
}

func TestForwardCancel(t *testing.T) {
	tests := []struct {
		name string
		// ready makes the container say READY=1 first: once it has, a
		// cancellation no longer stops the relay, and only the barrier's
		// timeout ends a wait for a host that keeps the descriptor.
		ready bool
		want  error
	}{
		{name: "waiting for READY=1", want: context.Canceled},
		{name: "waiting for the barrier", ready: true, want: ErrBarrierTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := filepath.Join(t.TempDir(), "host.sock")
			newFakeHost(t, addr, holdFDs)
			s := listen(t, addr)
			s.barrierTimeout = time.Second
			if tt.ready {
				sendFromContainer(t, s.Path(), "READY=1\n")
			}
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			if err := s.Forward(ctx, 1); !errors.Is(err, tt.want) {
				t.Fatalf("Forward: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestForwardAfterCancel checks that a cancelled Forward leaves the socket
// usable.
func TestForwardAfterCancel(t *testing.T) {
	addr := filepath.Join(t.TempDir(), "host.sock")
	host := newFakeHost(t, addr, closeFDs)
	s := listen(t, addr)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Forward(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Forward: %v, want context.Canceled", err)
	}
	sendFromContainer(t, s.Path(), "READY=1\n")
	if err := s.Forward(context.Background(), 2); err != nil {
		t.Fatalf("Forward: %v", err)
	}
	if got := host.next(t); got.data != "READY=1\nMAINPID=2\n" {
		t.Errorf("host got %q, want READY and MAINPID=2", got.data)
	}
}

func TestForwardNoHost(t *testing.T) {
	s := listen(t, filepath.Join(t.TempDir(), "missing.sock"))
	sendFromContainer(t, s.Path(), "READY=1\n")
	err := s.Forward(context.Background(), 1)
	if err == nil || !strings.HasPrefix(err.Error(), "connect to NOTIFY_SOCKET ") {
		t.Fatalf("Forward: %v, want a connect error", err)
	}
}

func TestListen(t *testing.T) {
	state := t.TempDir()
	old := unix.Umask(0o077) // the modes must not depend on the umask
	s, err := Listen(state, "@host")
	unix.Umask(old)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	want := filepath.Join(state, "notify", "notify.sock")
	if s.Path() != want {
		t.Errorf("Path = %q, want %q", s.Path(), want)
	}
	if filepath.Base(s.Path()) != filepath.Base(ContainerPath) {
		t.Errorf("socket name %q differs from ContainerPath %q", filepath.Base(s.Path()), ContainerPath)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{
		{filepath.Dir(want), os.ModeDir | 0o755},
		{want, os.ModeSocket | 0o777},
	} {
		fi, err := os.Lstat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.mode {
			t.Errorf("mode of %s = %v, want %v", c.path, fi.Mode(), c.mode)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Lstat(want); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after Close: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(want)); err != nil {
		t.Errorf("directory gone after Close: %v", err)
	}
}

func TestListenErrors(t *testing.T) {
	tests := []struct {
		name     string
		stateDir string
		host     string
		want     string
	}{
		{name: "empty NOTIFY_SOCKET", stateDir: t.TempDir(), host: "", want: "listen for sd_notify: empty NOTIFY_SOCKET"},
		{name: "no state directory", stateDir: "/nonexistent/berth-test", host: "@h", want: "create /nonexistent/berth-test/notify: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Listen(tt.stateDir, tt.host)
			if err == nil {
				s.Close()
				t.Fatalf("Listen: no error, want %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Listen: %v, want %q", err, tt.want)
			}
		})
	}
}
