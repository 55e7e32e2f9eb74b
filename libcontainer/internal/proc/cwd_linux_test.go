package proc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// childChdir plays the init of CVE-2024-21626: it holds a descriptor on a
// directory outside the root it then chroots into (arg, with a procfs at
// arg/proc), and tries Chdir to /proc/self/fd/N and to a directory inside.
func childChdir(arg string) error {
	outside, err := unix.Open(filepath.Dir(arg), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	if err := unix.Mount("proc", filepath.Join(arg, "proc"), "proc", 0, ""); err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	if err := unix.Chroot(arg); err != nil {
		return err
	}
	if err := Chdir("/proc"); err != nil {
		return fmt.Errorf("chdir inside the root: %w", err)
	}
	err = Chdir("/proc/self/fd/" + strconv.Itoa(outside))
	fmt.Printf("outside=%v\n", errors.Is(err, ErrCwdOutsideRoot))
	err = Chdir("/missing")
	fmt.Printf("missing=%v\n", errors.Is(err, unix.ENOENT) && !errors.Is(err, ErrCwdOutsideRoot))
	return nil
}

func TestChdir(t *testing.T) {
	requireRoot(t)
	root := filepath.Join(t.TempDir(), "root")
	if err := os.MkdirAll(filepath.Join(root, "proc"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := runChild(t, "chdir", root, &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS})
	if err != nil {
		t.Fatal(err)
	}
	if want := "outside=true\nmissing=true\n"; out != want {
		t.Errorf("child output %q, want %q", out, want)
	}
}

func TestReadSelf(t *testing.T) {
	b, err := readSelf("setgroups")
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); s != "allow\n" && s != "deny\n" {
		t.Errorf("setgroups %q", s)
	}
	if _, err := readSelf("no-such-file"); err == nil {
		t.Error("readSelf of a missing file succeeded")
	}
}
