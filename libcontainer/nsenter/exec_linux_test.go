//go:build cgo

package nsenter

import (
	"encoding/binary"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// runPlan re-executes the test binary as the bootstrap of an exec'd
// process in this test's own namespaces, sends it plan, and returns the
// program's output, its exit status and the frames on the socket.
func runPlan(t *testing.T, plan *ExecPlan) (out string, code int, frames []map[string]any) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root: the plans switch users and capabilities")
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "parent"), os.NewFile(uintptr(fds[1]), "child")
	defer parent.Close()
	req := Request{Sock: 3, Exec: true}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{req.Env(), childEnv + "=1"}
	cmd.ExtraFiles = []*os.File{child}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	cmd.Stderr = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close()
	if _, err := parent.Write(plan.Marshal()); err != nil {
		t.Fatal(err)
	}
	frames = readFrames(t, parent)
	err = cmd.Wait()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatal(err)
	}
	return stdout.String(), code, frames
}

func kinds(frames []map[string]any) string {
	var k []string
	for _, f := range frames {
		k = append(k, f["kind"].(string))
	}
	return strings.Join(k, ",")
}

func TestExecPlanCredentials(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	out, code, frames := runPlan(t, &ExecPlan{
		RootFD: -1,
		UID:    1000, GID: 1001, Groups: []uint32{1002, 1003},
		// The user keeps CAP_KILL through the switch, as an ambient
		// capability its program has.
		Caps:  &CapSets{Bounding: 1 << unix.CAP_KILL, Effective: 1 << unix.CAP_KILL, Permitted: 1 << unix.CAP_KILL, Inheritable: 1 << unix.CAP_KILL, Ambient: 1 << unix.CAP_KILL},
		Umask: 0o027,
		Cwd:   dir,
		Path:  "/usr/bin:/bin",
		Args:  []string{"sh", "-c", `id -u; id -g; id -G; pwd; umask; echo "$A"; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status`},
		Env:   []string{"A=b c", "PATH=/usr/bin:/bin"},
	})
	if code != 0 || kinds(frames) != "ready" {
		t.Fatalf("exit %d, frames %v, output %q; want 0 and one ready frame", code, frames, out)
	}
	want := "1000\n1001\n1001 1002 1003\n" + dir + "\n0027\nb c\nCapEff:\t0000000000000020\nNoNewPrivs:\t0\n"
	if out != want {
		t.Errorf("output %q, want %q", out, want)
	}
}

func TestExecPlanCapsAndSeccomp(t *testing.T) {
	// getcwd(2) fails with EPERM; everything else is allowed. The
	// program does not check the architecture: x86_64 only.
	const nrGetcwd = 79
	var prog []byte
	for _, in := range []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: nrGetcwd, Jt: 0, Jf: 1},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	} {
		prog = binary.NativeEndian.AppendUint16(prog, in.Code)
		prog = append(prog, in.Jt, in.Jf)
		prog = binary.NativeEndian.AppendUint32(prog, in.K)
	}
	const kill, chown = 1 << unix.CAP_KILL, 1 << unix.CAP_CHOWN
	out, code, frames := runPlan(t, &ExecPlan{
		RootFD:     -1,
		Caps:       &CapSets{Bounding: kill | chown, Effective: kill, Permitted: kill | chown, Inheritable: kill, Ambient: kill},
		NoNewPrivs: true,
		Seccomp:    prog,
		Path:       "/usr/bin:/bin",
		Args:       []string{"/bin/sh", "-c", `grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status`},
	})
	if code != 0 || kinds(frames) != "ready" {
		t.Fatalf("exit %d, frames %v, output %q; want 0 and one ready frame", code, frames, out)
	}
	// Root's program gets the whole bounding set (capabilities(7));
	// sh, which asks for its working directory first, is refused it.
	for _, line := range []string{
		"CapInh:\t0000000000000020", "CapPrm:\t0000000000000021", "CapEff:\t0000000000000021",
		"CapBnd:\t0000000000000021", "CapAmb:\t0000000000000020",
		"NoNewPrivs:\t1", "Seccomp:\t2", "getcwd() failed: Operation not permitted",
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("output %q lacks %q", out, line)
		}
	}
}

func TestExecPlanErrors(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(bin+"/prog", []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		plan ExecPlan
		want string
	}{
		{"cwd missing", ExecPlan{Cwd: "/nonexistent", Args: []string{"/bin/true"}}, `process.cwd: chdir to cwd ("/nonexistent") set in config.json: `},
		{"program missing", ExecPlan{Path: "/nonexistent:/also-not", Args: []string{"true"}}, `exec: "true": executable file not found in $PATH`},
		{"program path missing", ExecPlan{Args: []string{"/no/such/prog"}}, `exec: "/no/such/prog": `},
		{"program in a relative PATH", ExecPlan{Cwd: bin, Path: ".", Args: []string{"prog"}}, `exec: "prog": cannot run executable found relative to current directory`},
		{"quotes in the message", ExecPlan{Cwd: `/no"such\dir`, Args: []string{"/bin/true"}}, `process.cwd: chdir to cwd ("/no"such\dir") set`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.plan.RootFD = -1
			out, code, frames := runPlan(t, &tc.plan)
			if code != 1 || len(frames) != 1 || frames[0]["kind"] != "error" || !strings.HasPrefix(frames[0]["error"].(string), tc.want) {
				t.Errorf("exit %d, frames %v, output %q; want 1 and one error frame %q", code, frames, out, tc.want)
			}
		})
	}
}

func TestExecPlanKeyring(t *testing.T) {
	if _, err := os.Stat("/proc/keys"); err != nil {
		t.Skipf("no /proc/keys (kernel without CONFIG_KEYS_DEBUG_PROC_KEYS?): %v", err)
	}
	// A name nobody else creates: the keyring exists only if the
	// bootstrap created and joined it. The user possesses it, its
	// session keyring, and sees it after the switch away from root.
	name := "_ses.berth-nsenter-test-" + strconv.Itoa(os.Getpid())
	out, code, frames := runPlan(t, &ExecPlan{
		RootFD:  -1,
		UID:     1000,
		GID:     1000,
		Keyring: name,
		Args:    []string{"/bin/cat", "/proc/keys"},
	})
	if code != 0 || kinds(frames) != "ready" {
		t.Fatalf("exit %d, frames %v, output %q; want 0 and one ready frame", code, frames, out)
	}
	found := false
	for l := range strings.SplitSeq(out, "\n") {
		// "<serial> <flags> <usage> <timeout> <perm> <uid> <gid> keyring <description>: ..."
		f := strings.Fields(l)
		found = found || len(f) >= 9 && f[7] == "keyring" && f[8] == name+":"
	}
	if !found {
		t.Errorf("the process's /proc/keys has no keyring %s:\n%s", name, out)
	}
}
