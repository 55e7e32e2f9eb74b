package terminal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// childEnv, when set, makes the test binary run setupChild (a stand-in for
// a container's init) instead of the tests. Its value is a JSON childCase.
const childEnv = "BERTH_TERMINAL_TEST_CHILD"

func TestMain(m *testing.M) {
	if c := os.Getenv(childEnv); c != "" {
		// Mount namespace, root and cwd are per thread from here on.
		runtime.LockOSThread()
		os.Exit(setupChild(c))
	}
	os.Exit(m.Run())
}

// childCase describes the root the child builds and what it passes Setup.
type childCase struct {
	Root    string // an empty directory; the child mounts a tmpfs on it
	Console string // "file", "missing" or "symlink": what /dev/console is
	Devpts  bool   // mount a devpts on /dev/pts (else /dev/pts/ptmx is a plain file)
	Proc    bool   // mount /proc (else reopen falls back to the path)
	UserNS  bool   // start the child in a new user namespace (ids 0-65535 mapped to themselves)
	Exec    bool   // call OpenExec instead of Setup, and do what berth exec's bootstrap does with the slave
	UID     int
	Size    *Size
}

// childReport is what the child saw after Setup, sent to the test as JSON.
type childReport struct {
	Err         string
	Stdin       string // one line read from fd 0
	StdioSame   bool   // fds 0, 1 and 2 are the same file
	SlaveUID    uint32
	SlaveRdev   uint64
	ConsoleRdev uint64
	ConsoleFs   int64
	CttySid     int // TIOCGSID of fd 0: fails unless it is the controlling tty
	Sid         int
}

// setupChild runs in a re-executed test binary started with setsid: it
// builds a small root in a private mount namespace, pivots into it, calls
// Setup, sends the master over fd 3 and reports what it sees. Errors before
// Setup go to stderr (exit 2); a Setup error goes to stderr with exit 3.
func setupChild(arg string) int {
	var c childCase
	if err := json.Unmarshal([]byte(arg), &c); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	if err := buildRoot(&c); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	sock := os.NewFile(3, "report-sock")
	setup := Setup
	if c.Exec {
		setup = openExecAsBerth
	}
	master, err := setup(c.UID, c.Size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		return 3
	}
	if err := SendFd(sock, master.Name(), master); err != nil {
		return 4
	}
	master.Close()
	rep := inspect()
	if err := json.NewEncoder(sock).Encode(rep); err != nil {
		return 4
	}
	return 0
}

// openExecAsBerth is OpenExec from the root, then what berth exec does
// with the slave: the process's stdio (nsenter's exec.c makes it the
// controlling terminal and gives it to the user).
func openExecAsBerth(uid int, size *Size) (*os.File, error) {
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	master, slave, err := OpenExec(root, size)
	if err != nil {
		return nil, err
	}
	defer slave.Close()
	for fd := range 3 {
		if err := unix.Dup3(int(slave.Fd()), fd, 0); err != nil {
			return nil, err
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return nil, err
	}
	return master, unix.Fchown(0, uid, -1)
}

// buildRoot makes c.Root the root of this thread's new mount namespace.
func buildRoot(c *childCase) error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make / rslave: %w", err)
	}
	r := c.Root
	if err := unix.Mount("tmpfs", r, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", r, err)
	}
	for _, d := range []string{"dev/pts", "proc", "etc"} {
		if err := os.MkdirAll(filepath.Join(r, d), 0o755); err != nil {
			return err
		}
	}
	if c.Devpts {
		if err := unix.Mount("devpts", filepath.Join(r, "dev/pts"), "devpts", 0, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
			return fmt.Errorf("mount devpts: %w", err)
		}
	} else if err := os.WriteFile(filepath.Join(r, "dev/pts/ptmx"), nil, 0o666); err != nil {
		return err
	}
	if c.Proc {
		if err := unix.Mount("proc", filepath.Join(r, "proc"), "proc", 0, ""); err != nil {
			return fmt.Errorf("mount proc: %w", err)
		}
	}
	if err := os.Symlink("pts/ptmx", filepath.Join(r, "dev/ptmx")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r, "etc/target"), nil, 0o644); err != nil {
		return err
	}
	switch c.Console {
	case "file":
		if err := os.WriteFile(filepath.Join(r, "dev/console"), nil, 0o600); err != nil {
			return err
		}
	case "symlink":
		if err := os.Symlink("/etc/target", filepath.Join(r, "dev/console")); err != nil {
			return err
		}
	}
	if err := unix.Chdir(r); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	return unix.Chdir("/")
}

// inspect reads a line from stdin and looks at stdio and /dev/console.
func inspect() childReport {
	var rep childReport
	var st0, st1, st2, stc unix.Stat_t
	var sfs unix.Statfs_t
	for _, err := range []error{
		unix.Fstat(0, &st0), unix.Fstat(1, &st1), unix.Fstat(2, &st2),
		unix.Stat("/dev/console", &stc), unix.Statfs("/dev/console", &sfs),
	} {
		if err != nil {
			rep.Err = err.Error()
			return rep
		}
	}
	rep.StdioSame = st0.Rdev == st1.Rdev && st0.Rdev == st2.Rdev && st0.Ino == st2.Ino
	rep.SlaveUID, rep.SlaveRdev = st0.Uid, st0.Rdev
	rep.ConsoleRdev, rep.ConsoleFs = stc.Rdev, sfs.Type
	rep.Sid, _ = unix.Getsid(0)
	sid, err := unix.IoctlGetInt(0, unix.TIOCGSID)
	if err != nil {
		rep.Err = "TIOCGSID: " + err.Error()
	}
	rep.CttySid = sid
	buf := make([]byte, 64)
	n, err := unix.Read(0, buf)
	if err != nil {
		rep.Err = "read stdin: " + err.Error()
	}
	rep.Stdin = string(buf[:max(n, 0)])
	return rep
}

func TestSetup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts devpts and pivots into a test root")
	}
	for _, tc := range []struct {
		desc    string
		c       childCase
		wantErr string // a substring of the child's Setup error
	}{
		{desc: "console file", c: childCase{Console: "file", Devpts: true, Proc: true, UID: 1234, Size: &Size{Height: 24, Width: 80}}},
		{desc: "console missing", c: childCase{Console: "missing", Devpts: true, Proc: true, UID: 0}},
		{desc: "no procfs", c: childCase{Console: "file", Devpts: true, UID: 1000, Size: &Size{Height: 50, Width: 132}}},
		// A user namespace cannot mount proc without its own pid namespace.
		{desc: "user namespace", c: childCase{Console: "missing", Devpts: true, UserNS: true, UID: 1000, Size: &Size{Height: 10, Width: 20}}},
		{desc: "exec", c: childCase{Console: "file", Devpts: true, Proc: true, Exec: true, UID: 1000}},
		{desc: "console symlink", c: childCase{Console: "symlink", Devpts: true, Proc: true}, wantErr: "on /dev/console: target is not a regular file or character device"},
		{desc: "ptmx not devpts", c: childCase{Console: "file", Proc: true}, wantErr: "check /dev/pts/ptmx: not on a devpts mount"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			tc.c.Root = t.TempDir()
			runSetupChild(t, tc.c, tc.wantErr)
		})
	}
}

// runSetupChild starts setupChild for c and checks its master and report,
// or its error when wantErr is set.
func runSetupChild(t *testing.T, c childCase, wantErr string) {
	arg, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "test-sock"), os.NewFile(uintptr(fds[1]), "child-sock")
	defer mine.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(arg))
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true}
	if c.UserNS {
		ids := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		cmd.SysProcAttr.Cloneflags = unix.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings, cmd.SysProcAttr.GidMappings = ids, ids
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		theirs.Close()
		t.Fatal(err)
	}
	theirs.Close()

	master, recvErr := RecvFd(mine)
	if recvErr != nil {
		err := cmd.Wait()
		if wantErr != "" {
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(stderr.String(), wantErr) {
				t.Fatalf("child: %v, stderr %q; want Setup to fail with %q", err, stderr.String(), wantErr)
			}
			t.Log(strings.TrimSpace(stderr.String()))
			return
		}
		t.Fatalf("receive master: %v; child: %v, stderr %q", recvErr, err, stderr.String())
	}
	defer master.Close()
	if wantErr != "" {
		t.Errorf("Setup succeeded, want an error with %q", wantErr)
	}
	if master.Name() != "/dev/pts/ptmx" {
		t.Errorf("master name %q, want /dev/pts/ptmx", master.Name())
	}
	ws, err := unix.IoctlGetWinsize(int(master.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		t.Fatalf("TIOCGWINSZ on the master: %v", err)
	}
	want := Size{}
	if c.Size != nil {
		want = *c.Size
	}
	if got := (Size{Height: ws.Row, Width: ws.Col}); got != want {
		t.Errorf("window size %+v, want %+v", got, want)
	}
	if _, err := master.WriteString("hello\n"); err != nil {
		t.Fatalf("write to the master: %v", err)
	}
	var rep childReport
	if err := json.NewDecoder(mine).Decode(&rep); err != nil {
		t.Fatalf("read the child's report: %v; stderr %q", err, stderr.String())
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("child: %v, stderr %q", err, stderr.String())
	}
	if rep.Err != "" {
		t.Fatalf("child: %s", rep.Err)
	}
	if rep.Stdin != "hello\n" {
		t.Errorf("child's stdin read %q, want %q", rep.Stdin, "hello\n")
	}
	if !rep.StdioSame {
		t.Error("fds 0, 1 and 2 are not all the slave")
	}
	if unix.Major(rep.SlaveRdev) != ptySlaveMajor {
		t.Errorf("stdin is device %d:%d, want a pty slave", unix.Major(rep.SlaveRdev), unix.Minor(rep.SlaveRdev))
	}
	if c.Exec {
		if rep.ConsoleFs == unix.DEVPTS_SUPER_MAGIC {
			t.Errorf("OpenExec bound /dev/console (device %#x on devpts)", rep.ConsoleRdev)
		}
	} else if rep.ConsoleRdev != rep.SlaveRdev || rep.ConsoleFs != unix.DEVPTS_SUPER_MAGIC {
		t.Errorf("/dev/console is device %#x on fs %#x, want the slave %#x on devpts", rep.ConsoleRdev, rep.ConsoleFs, rep.SlaveRdev)
	}
	if int(rep.SlaveUID) != c.UID {
		t.Errorf("slave owner %d, want %d", rep.SlaveUID, c.UID)
	}
	if rep.CttySid != rep.Sid {
		t.Errorf("slave's session %d, want the child's session %d (controlling terminal)", rep.CttySid, rep.Sid)
	}
}

// TestOpenNoSymlinks checks both the openat2 path and the component walk
// for kernels without it: they agree, and neither follows a symlink.
func TestOpenNoSymlinks(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "real/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "real/sub/file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, link := range [][2]string{{"real", "link"}, {"file", "real/sub/flink"}} {
		if err := os.Symlink(link[0], filepath.Join(dir, link[1])); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		path  string
		flags int
		ok    bool
	}{
		{"real/sub/file", unix.O_RDONLY, true},
		{"real/sub/file", unix.O_PATH, true},
		{"link/sub/file", unix.O_RDONLY, false},
		{"link/sub/file", unix.O_PATH, false},
		{"real/sub/flink", unix.O_RDONLY, false},
	} {
		for name, open := range map[string]func(string, int) (*os.File, error){
			"openat2": openNoSymlinks, "compat": openNoSymlinksCompat,
		} {
			t.Run(name+"/"+tc.path, func(t *testing.T) {
				p := filepath.Join(dir, tc.path)
				f, err := open(p, tc.flags)
				if err == nil {
					defer f.Close()
					if f.Name() != p {
						t.Errorf("name %q, want %q", f.Name(), p)
					}
				}
				if (err == nil) != tc.ok {
					t.Errorf("open %s (flags %#x): %v, want success %v", tc.path, tc.flags, err, tc.ok)
				}
			})
		}
	}
}
