package terminal

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// socketPair returns both ends of an AF_UNIX socket pair of type typ, closed
// when the test ends.
func socketPair(t *testing.T, typ int) (a, b *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	a, b = os.NewFile(uintptr(fds[0]), "sock-a"), os.NewFile(uintptr(fds[1]), "sock-b")
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestSendRecvFd(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  int
	}{
		{"/dev/pts/ptmx", unix.SOCK_STREAM},
		{"x", unix.SOCK_SEQPACKET},
		{strings.Repeat("n", maxNameLen), unix.SOCK_STREAM},
	} {
		t.Run(tc.name[:min(len(tc.name), 16)], func(t *testing.T) {
			a, b := socketPair(t, tc.typ)
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if err := SendFd(a, tc.name, w); err != nil {
				t.Fatalf("SendFd: %v", err)
			}
			w.Close()
			got, err := RecvFd(b)
			if err != nil {
				t.Fatalf("RecvFd: %v", err)
			}
			if got.Name() != tc.name {
				t.Errorf("name %q, want %q", got.Name(), tc.name)
			}
			flags, err := unix.FcntlInt(got.Fd(), unix.F_GETFD, 0)
			if err != nil || flags&unix.FD_CLOEXEC == 0 {
				t.Errorf("received fd: flags %#x (%v), want close-on-exec", flags, err)
			}
			if _, err := got.WriteString("through"); err != nil {
				t.Fatalf("write to received fd: %v", err)
			}
			got.Close()
			data, err := io.ReadAll(r)
			if err != nil || string(data) != "through" {
				t.Errorf("pipe read %q, %v; want %q", data, err, "through")
			}
		})
	}
}

func TestSendFdBadName(t *testing.T) {
	a, _ := socketPair(t, unix.SOCK_STREAM)
	for _, name := range []string{"", strings.Repeat("n", maxNameLen+1)} {
		t.Run(name[:min(len(name), 8)], func(t *testing.T) {
			if err := SendFd(a, name, a); err == nil || !strings.Contains(err.Error(), "send fd over sock-a: name of") {
				t.Errorf("SendFd(%d bytes): %v, want a name error", len(name), err)
			}
		})
	}
}

func TestRecvFdBadMessage(t *testing.T) {
	for _, tc := range []struct {
		desc string
		send func(fd int) error // nil closes the sender
		want string
	}{
		{"closed", nil, "unexpected EOF"},
		{"no fd", func(fd int) error { return unix.Sendmsg(fd, []byte("name"), nil, nil, 0) }, "got 0 descriptors"},
		{"two fds", func(fd int) error {
			return unix.Sendmsg(fd, []byte("name"), unix.UnixRights(fd, fd), nil, 0)
		}, "got 2 descriptors"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			a, b := socketPair(t, unix.SOCK_STREAM)
			if tc.send == nil {
				a.Close()
			} else if err := tc.send(int(a.Fd())); err != nil {
				t.Fatal(err)
			}
			before := openFds(t)
			f, err := RecvFd(b)
			if err == nil {
				f.Close()
				t.Fatalf("RecvFd: got %q, want an error", f.Name())
			}
			if !strings.Contains(err.Error(), "receive fd over sock-b: "+tc.want) {
				t.Errorf("RecvFd: %v, want %q", err, tc.want)
			}
			if after := openFds(t); after != before {
				t.Errorf("open descriptors %d before, %d after: extra ones not closed", before, after)
			}
		})
	}
}

// openFds counts this process's open descriptors.
func openFds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestSendToConsoleSocket(t *testing.T) {
	dir := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()

	// Longer than sun_path: SendToConsoleSocket goes through the directory.
	long := filepath.Join(dir, strings.Repeat("d", 100))
	if err := os.Mkdir(long, 0o755); err != nil {
		t.Fatal(err)
	}
	sockPath := filepath.Join(long, "console.sock")
	// net.ListenUnix cannot bind such a path: bind from inside the directory.
	l := listenLong(t, sockPath)
	got := make(chan *os.File, 1)
	go func() {
		defer close(got)
		c, err := l.AcceptUnix()
		if err != nil {
			return
		}
		defer c.Close()
		cf, err := c.File()
		if err != nil {
			return
		}
		defer cf.Close()
		if f, err := RecvFd(cf); err == nil {
			got <- f
		}
	}()
	t.Run("socket", func(t *testing.T) {
		if err := SendToConsoleSocket(sockPath, w); err != nil {
			t.Fatalf("SendToConsoleSocket: %v", err)
		}
		f := <-got
		if f == nil {
			t.Fatal("the listener received no descriptor")
		}
		defer f.Close()
		if f.Name() != w.Name() {
			t.Errorf("name %q, want %q", f.Name(), w.Name())
		}
		if _, err := f.WriteString("x"); err != nil {
			t.Fatal(err)
		}
		var b [1]byte
		if _, err := r.Read(b[:]); err != nil || b[0] != 'x' {
			t.Errorf("read %q, %v through the sent pipe", b[:], err)
		}
	})

	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		desc, path, want string
		is               error
	}{
		{"missing", filepath.Join(dir, "missing"), "no such file or directory", os.ErrNotExist},
		{"regular file", regular, "not a socket", unix.ENOTSOCK},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			err := SendToConsoleSocket(tc.path, w)
			if err == nil || err.Error() != "console socket "+tc.path+": "+tc.want {
				t.Errorf("SendToConsoleSocket: %v, want %q", err, "console socket "+tc.path+": "+tc.want)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.is)
			}
		})
	}
}

// listenLong listens on path, which may be longer than sun_path, by binding
// the name relative to a descriptor of its directory.
func listenLong(t *testing.T, path string) *net.UnixListener {
	t.Helper()
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	addr := fmt.Sprintf("/proc/self/fd/%d/%s", d.Fd(), filepath.Base(path))
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	t.Cleanup(func() { l.Close() })
	return l
}
