package integration

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Terminals: the console socket of a detached container (berth create/run
// -d --console-socket, the contract of containerd's shim and conmon) and
// the foreground terminal of berth run.

// consoleMsg is what a console socket received: the message's data and
// descriptors.
type consoleMsg struct {
	name string
	fds  []int
	err  error
}

// consoleReceiver is a console socket: it accepts one connection and
// reads one message from it, as runc's recvtty does.
type consoleReceiver struct {
	path string
	got  chan consoleMsg
}

// listenConsole listens on a stream socket in the bundle directory.
func listenConsole(t *testing.T, b *bundle) *consoleReceiver {
	t.Helper()
	path := filepath.Join(b.dir, "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	r := &consoleReceiver{path: path, got: make(chan consoleMsg, 1)}
	t.Cleanup(func() { l.Close() })
	go func() {
		conn, err := l.AcceptUnix()
		if err != nil {
			r.got <- consoleMsg{err: err}
			return
		}
		defer conn.Close()
		buf := make([]byte, 4096)
		oob := make([]byte, unix.CmsgSpace(4*16))
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		m := consoleMsg{name: string(buf[:n]), err: err}
		if err == nil {
			cmsgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
			m.err = perr
			for i := range cmsgs {
				if fds, err := unix.ParseUnixRights(&cmsgs[i]); err == nil {
					m.fds = append(m.fds, fds...)
				}
			}
		}
		r.got <- m
	}()
	return r
}

// master waits for the message and returns the name it carried and the
// one descriptor, as a non-blocking file (so that reads honour deadlines).
func (r *consoleReceiver) master(t *testing.T) (string, *os.File) {
	t.Helper()
	var m consoleMsg
	select {
	case m = <-r.got:
	case <-time.After(30 * time.Second):
		t.Fatal("nothing arrived on the console socket")
	}
	if m.err != nil {
		t.Fatalf("console socket: %v", m.err)
	}
	if len(m.fds) != 1 {
		for _, fd := range m.fds {
			unix.Close(fd)
		}
		t.Fatalf("console socket: %d descriptors in the message, want 1 (data %q)", len(m.fds), m.name)
	}
	if err := unix.SetNonblock(m.fds[0], true); err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(m.fds[0]), "console master")
	t.Cleanup(func() { f.Close() })
	return m.name, f
}

// ttyOutput collects what a pty master reads, until it hangs up.
type ttyOutput struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
}

// readTTY starts copying master into a ttyOutput.
func readTTY(master *os.File) *ttyOutput {
	o := &ttyOutput{done: make(chan struct{})}
	go func() {
		defer close(o.done)
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			o.mu.Lock()
			o.buf.Write(b[:n])
			o.mu.Unlock()
			if err != nil {
				return // EIO: every slave descriptor is closed
			}
		}
	}()
	return o
}

// String returns the output so far, without the pty's carriage returns.
func (o *ttyOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.ReplaceAll(o.buf.String(), "\r", "")
}

// wait waits (polling, a test-only loop) until the output has a line
// starting with prefix, and returns the rest of that line.
func (o *ttyOutput) wait(t *testing.T, prefix string) string {
	t.Helper()
	for range 400 {
		lines := strings.Split(o.String(), "\n")
		for _, l := range lines[:len(lines)-1] { // the last is not complete
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return rest
			}
		}
		sleep()
	}
	t.Fatalf("no line %q... in the terminal output:\n%s", prefix, o.String())
	return ""
}

// ptsName matches the name of a pty slave as the container sees it.
var ptsName = regexp.MustCompile(`^/dev/pts/[0-9]+$`)

// ttyScript prints what the container's terminal looks like, then echoes
// one line of input.
const ttyScript = `echo "tty=$(tty)"
echo "fd0=$(readlink /proc/$$/fd/0) fd1=$(readlink /proc/$$/fd/1) fd2=$(readlink /proc/$$/fd/2)"
echo "console=$(stat -c %t:%T /dev/console) stdin=$(stat -L -c %t:%T /proc/self/fd/0)"
echo "owner=$(stat -L -c '%u %g' /proc/self/fd/0)"
echo "size=$(stty size)"
echo "ready"
read line
echo "got:$line"
exit 0`

// TestConsoleSocket creates containers with a terminal and a console
// socket: the socket gets one message whose data is the master's name and
// whose one descriptor is the pty master; the process's stdio is the slave,
// also bound over /dev/console; consoleSize is applied; output and input
// pass through the master.
func TestConsoleSocket(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string // how the container is created; "start" follows for create
		uid, gid  uint32
		wantOwner string
	}{
		{"create and start", []string{"create"}, 0, 0, "0 "},
		{"run detached", []string{"run", "-d"}, 0, 0, "0 "},
		// runc's tty.bats: the slave belongs to the process's user, and
		// its group is the devpts mount's gid=5.
		{"non-root user", []string{"create"}, 1000, 100, "1000 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "sh", "-c", ttyScript)
			b.Spec.Process.Terminal = true
			b.Spec.Process.ConsoleSize = &specs.Box{Height: 37, Width: 111}
			b.Spec.Process.User = specs.User{UID: tc.uid, GID: tc.gid}
			r := listenConsole(t, b)
			args := append(append([]string{}, tc.args...), "--console-socket", r.path, b.id)
			b.berth(args...)
			name, master := r.master(t)
			t.Logf("console socket data: %q", name)
			// runc sends the name of the master it opened: /dev/ptmx
			// through the container's /dev/ptmx -> pts/ptmx symlink.
			if name != "/dev/ptmx" && name != "/dev/pts/ptmx" {
				t.Errorf("console socket data %q, want the master's name (/dev/ptmx or /dev/pts/ptmx)", name)
			}
			n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
			if err != nil {
				t.Fatalf("the descriptor is not a pty master: TIOCGPTN: %v", err)
			}
			out := readTTY(master)
			if tc.args[0] == "create" {
				b.berth("start", b.id)
			}
			tty := out.wait(t, "tty=")
			if !ptsName.MatchString(tty) || tty != "/dev/pts/"+strconv.Itoa(int(n)) {
				t.Errorf("tty %q, want /dev/pts/%d (the master's pty)", tty, n)
			}
			if fds, want := out.wait(t, "fd0="), tty+" fd1="+tty+" fd2="+tty; fds != want {
				t.Errorf("stdio fd0=%s, want every one the slave: fd0=%s", fds, want)
			}
			if c := out.wait(t, "console="); !regexp.MustCompile(`^88:[0-9a-f]+ stdin=88:[0-9a-f]+$`).MatchString(c) ||
				!strings.HasSuffix(c, "stdin="+strings.Fields(c)[0]) {
				t.Errorf("console=%s: want /dev/console to be the slave (136:N, 0x88)", c)
			}
			if owner := out.wait(t, "owner="); !strings.HasPrefix(owner, tc.wantOwner) {
				t.Errorf("slave owner %q, want %q...", owner, tc.wantOwner)
			}
			if size := out.wait(t, "size="); size != "37 111" {
				t.Errorf("stty size %q, want consoleSize 37 111", size)
			}
			out.wait(t, "ready")
			if _, err := master.WriteString("hello from the test\n"); err != nil {
				t.Fatal(err)
			}
			if got := out.wait(t, "got:"); got != "hello from the test" {
				t.Errorf("the container read %q, want what was written to the master", got)
			}
			select {
			case <-out.done:
			case <-time.After(30 * time.Second):
				t.Errorf("the master never hung up after the container exited")
			}
			waitStatus(t, b, "stopped")
			b.berth("delete", b.id)
			checkGone(t, b.id, b.dir)
		})
	}
}

// TestConsoleRecvtty drives a detached container's terminal through
// tests/cmd/recvtty, the reference consumer of the console socket.
func TestConsoleRecvtty(t *testing.T) {
	b := newBundle(t, "sh", "-c", `echo "ready"; read line; echo "got:$line"`)
	b.Spec.Process.Terminal = true
	recvtty := buildTool(t, "recvtty")
	sock, pidFile := filepath.Join(b.dir, "tty.sock"), filepath.Join(b.dir, "recvtty.pid")
	cmd := exec.Command(recvtty, "--pid-file", pidFile, sock)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	waitFile(t, pidFile)
	b.berth("run", "-d", "--console-socket", sock, b.id)
	for i := 0; !strings.Contains(out.String(), "ready"); i++ {
		if i == 400 {
			t.Fatalf("recvtty printed %q, no ready; stderr %q", out.String(), errOut.String())
		}
		sleep()
	}
	if _, err := stdin.Write([]byte("through recvtty\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("recvtty: %v; stderr %q", err, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("recvtty did not exit after the container did; output %q", out.String())
	}
	if got := strings.ReplaceAll(out.String(), "\r", ""); !strings.Contains(got, "\ngot:through recvtty\n") {
		t.Errorf("recvtty output %q, want the container's echo of the input", got)
	}
	waitStatus(t, b, "stopped")
	b.berth("delete", b.id)
	checkGone(t, b.id, b.dir)
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
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

// TestConsoleSocketErrors: the command-line checks runc makes about the
// console socket, and a console socket that cannot be reached. Each fails
// with exit 1 and leaves nothing behind.
func TestConsoleSocketErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		terminal bool
		args     []string // before the id; "$sock" is a listening socket
		want     string   // "$path" is the socket's path
	}{
		// runc: "cannot use console socket if runc will not detach or
		// allocate tty".
		{"socket without terminal for create", false, []string{"create", "--console-socket", "$sock"}, "console"},
		{"socket without terminal for run -d", false, []string{"run", "-d", "--console-socket", "$sock"}, "console"},
		{"socket with a foreground run", true, []string{"run", "--console-socket", "$sock"}, "console"},
		// runc: "cannot allocate tty if runc will detach without setting
		// console socket".
		{"terminal without socket for create", true, []string{"create"}, "console"},
		{"terminal without socket for run -d", true, []string{"run", "-d"}, "console"},
		{"socket path missing", true, []string{"create", "--console-socket", "$missing"}, "$path"},
		{"socket path a regular file", true, []string{"create", "--console-socket", "$file"}, "$path"},
		{"socket path a directory", true, []string{"create", "--console-socket", "$dir"}, "$path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "true")
			b.Spec.Process.Terminal = tc.terminal
			var path string
			args := make([]string, 0, len(tc.args)+1)
			for _, a := range tc.args {
				switch a {
				case "$sock":
					path = listenConsole(t, b).path
				case "$missing":
					path = filepath.Join(b.dir, "no-such.sock")
				case "$file":
					path = filepath.Join(b.dir, "regular-file")
					writeFile(t, path, "not a socket")
				case "$dir":
					path = b.hostDir("a-directory")
				default:
					args = append(args, a)
					continue
				}
				args = append(args, path)
			}
			want := strings.ReplaceAll(tc.want, "$path", path)
			b.expectFailure(b.id, want, append(args, b.id)...)
		})
	}
}

// openPty opens a pty pair in the test's own devpts: the master
// (non-blocking, for deadlines) and the slave.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Skipf("no pty on this machine: open /dev/ptmx: %v", err)
	}
	master = os.NewFile(uintptr(mfd), "/dev/ptmx")
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(mfd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

// TestTerminalForeground runs a container with terminal:true in the
// foreground, with berth's stdio and controlling terminal a pty the test
// drives: berth puts that terminal in raw mode, gives the container its
// size, carries output and input, passes a resize on (SIGWINCH), returns
// the process's exit status and restores the terminal's modes.
func TestTerminalForeground(t *testing.T) {
	b := newBundle(t, "sh", "-c", `i=0
while [ "$(stty size)" = "0 0" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
echo "size1=$(stty size)"
echo "tty=$(tty)"
echo "ready"
read line
echo "got:$line"
i=0
while [ "$(stty size)" != "40 120" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
echo "size2=$(stty size)"
exit 7`)
	b.Spec.Process.Terminal = true
	b.Spec.Process.ConsoleSize = nil
	b.write()

	master, slave := openPty(t)
	sfd := int(slave.Fd())
	if err := unix.IoctlSetWinsize(sfd, unix.TIOCSWINSZ, &unix.Winsize{Row: 30, Col: 100}); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if before.Lflag&(unix.ICANON|unix.ECHO) == 0 {
		t.Fatalf("a new pty is not in cooked mode: lflag %#x", before.Lflag)
	}

	cmd := exec.Command(suite.berth, "--root", suite.root, "run", b.id)
	cmd.Dir = b.dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	// berth leads a session whose controlling terminal is the slave, as
	// in a shell; the kernel sends it SIGWINCH on a resize.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
		}
	})
	out := readTTY(master)

	if size := out.wait(t, "size1="); size != "30 100" {
		t.Errorf("initial size %q in the container, want the outer terminal's 30 100", size)
	}
	if tty := out.wait(t, "tty="); !ptsName.MatchString(tty) {
		t.Errorf("tty %q, want a pty slave", tty)
	}
	out.wait(t, "ready")
	during, err := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	// Raw as containerd/console (runc) makes it: no line editing, echo
	// or signal keys; runc keeps OPOST, so output flags are not checked.
	if during.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
		t.Errorf("berth's terminal is not in raw mode while the container runs: lflag %#x", during.Lflag)
	}
	if _, err := master.WriteString("typed at the terminal\n"); err != nil {
		t.Fatal(err)
	}
	if got := out.wait(t, "got:"); got != "typed at the terminal" {
		t.Errorf("the container read %q, want the typed line", got)
	}
	if err := unix.IoctlSetWinsize(sfd, unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120}); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGWINCH)
	if size := out.wait(t, "size2="); size != "40 120" {
		t.Errorf("size after the resize %q, want 40 120", size)
	}

	var runErr error
	select {
	case runErr = <-exited:
		exited <- runErr
	case <-time.After(30 * time.Second):
		t.Fatalf("berth run did not exit; terminal output:\n%s", out.String())
	}
	var ee *exec.ExitError
	if !errors.As(runErr, &ee) || ee.ExitCode() != 7 {
		t.Errorf("berth run: %v, want exit status 7; terminal output:\n%s", runErr, out.String())
	}
	after, err := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("terminal modes not restored:\nbefore %+v\nafter  %+v", *before, *after)
	}
	checkGone(t, b.id, b.dir)
}
