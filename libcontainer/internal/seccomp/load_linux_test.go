package seccomp

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// TestLoad loads a filter on the real kernel, in a child process (a
// filter cannot be removed): mkdir fails with the profile's errno, other
// calls work, and above the profile's largest call the stub answers
// ENOSYS.
func TestLoad(t *testing.T) {
	if dir := os.Getenv("BERTH_SECCOMP_LOAD_CHILD"); dir != "" {
		loadChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoad$", "-test.count=1")
	cmd.Env = append(os.Environ(), "BERTH_SECCOMP_LOAD_CHILD="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, want := range []string{"mkdir: permission denied", "stat: ok", "call 1000: function not implemented"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "d")); err == nil {
		t.Error("mkdir succeeded under the filter")
	}
}

func loadChild(dir string) {
	runtime.LockOSThread() // the filter is this thread's (no TSYNC)
	p, err := Compile(&configs.Seccomp{
		DefaultAction: configs.Allow,
		Architectures: []string{"SCMP_ARCH_X86_64"},
		Syscalls: []*configs.Syscall{
			{Name: "mkdir", Action: configs.Errno, ErrnoRet: ptr(uint(13))},
			{Name: "mkdirat", Action: configs.Errno, ErrnoRet: ptr(uint(13))},
			{Name: "tkill", Action: configs.Errno, ErrnoRet: ptr(uint(13))},
		},
	}, Options{})
	if err == nil {
		err = unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	}
	if err == nil {
		_, err = Load(p)
	}
	if err != nil {
		println("load:", err.Error())
		os.Exit(1)
	}
	report := func(what string, err error) {
		if err == nil {
			println(what + ": ok")
		} else {
			println(what + ": " + err.Error())
		}
	}
	report("mkdir", unix.Mkdir(filepath.Join(dir, "d"), 0o755))
	var st unix.Stat_t
	report("stat", unix.Stat(dir, &st))
	// Default ALLOW: no stub, the kernel answers 1000 itself.
	_, _, errno := unix.Syscall(1000, 0, 0, 0)
	report("call 1000", errors.Unwrap(&os.SyscallError{Err: errno}))
	os.Exit(0)
}
