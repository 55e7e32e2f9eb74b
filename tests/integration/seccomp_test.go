package integration

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unsafe"

	moby "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Seccomp: linux.seccomp compiled and loaded before the process's execve
// (seccomp.bats, runc's libcontainer/integration/seccomp_test.go).

// dockerCaps is Docker's default capability set: Docker's profile allows
// the system calls these capabilities need, and denies those of the
// others (unshare, mount, ... need CAP_SYS_ADMIN).
var dockerCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// dockerProfile is Docker's default seccomp profile for a container with
// Docker's default capabilities.
func dockerProfile(t *testing.T) *specs.LinuxSeccomp {
	t.Helper()
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: dockerCaps}}}
	p, err := moby.GetDefaultProfile(spec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// seccompStatus is the Seccomp line of the process's /proc status, as the
// script `grep Seccomp: /proc/self/status` prints it.
const seccompFiltered = "Seccomp:\t2"

// TestSeccompDockerDefault runs a shell under Docker's default profile:
// it works, and a system call the profile denies fails with the
// profile's errno (EPERM) even though the process's capabilities allow
// it. The same script without the profile shows that it is the filter
// that denies.
func TestSeccompDockerDefault(t *testing.T) {
	script := "echo shell-ok; grep Seccomp: /proc/self/status; unshare -m true && echo unshare-ok; mount -t tmpfs none /tmp && echo mount-ok"
	for _, nnp := range []bool{true, false} {
		t.Run(fmt.Sprintf("nnp-%v", nnp), func(t *testing.T) {
			b := newBundle(t)
			b.addCaps("CAP_SYS_ADMIN")
			b.Spec.Process.NoNewPrivileges = nnp
			b.Spec.Linux.Seccomp = dockerProfile(t)
			b.sh(script + "; exit 0")
			out, errOut, code := b.runContainer()
			if code != 0 {
				t.Fatalf("berth run: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			if !strings.Contains(out, "shell-ok") || !strings.Contains(out, seccompFiltered) {
				t.Errorf("stdout %q: want shell-ok and %q", out, seccompFiltered)
			}
			if strings.Contains(out, "unshare-ok") || strings.Contains(out, "mount-ok") {
				t.Errorf("stdout %q: unshare or mount succeeded under Docker's profile", out)
			}
			// busybox mount words EPERM its own way.
			if !strings.Contains(errOut, "unshare(0x20000): Operation not permitted") || !strings.Contains(errOut, "mount: permission denied") {
				t.Errorf("stderr %q: want EPERM from unshare and mount", errOut)
			}
		})
	}
	t.Run("without", func(t *testing.T) {
		b := newBundle(t)
		b.addCaps("CAP_SYS_ADMIN")
		out := b.shOutput(script)
		if !strings.Contains(out, "unshare-ok") || !strings.Contains(out, "mount-ok") || strings.Contains(out, seccompFiltered) {
			t.Errorf("without a profile: stdout %q, want unshare-ok and mount-ok", out)
		}
	})
}

// TestSeccompDefaultErrnoRet: the default action's errno is
// linux.seccomp.defaultErrnoRet.
func TestSeccompDefaultErrnoRet(t *testing.T) {
	b := newBundle(t)
	b.addCaps("CAP_SYS_ADMIN")
	p := dockerProfile(t)
	p.DefaultErrnoRet = ptr(uint(95)) // EOPNOTSUPP
	b.Spec.Linux.Seccomp = p
	b.sh("unshare -m true; exit 0")
	_, errOut, code := b.runContainer()
	if code != 0 || !strings.Contains(errOut, "not supported") {
		t.Errorf("unshare: exit %d, stderr %q, want EOPNOTSUPP", code, errOut)
	}
}

// denyProfile allows everything but the given system calls, which get
// action (with errnoRet when not nil).
func denyProfile(action specs.LinuxSeccompAction, errnoRet *uint, names ...string) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls:      []specs.LinuxSyscall{{Names: names, Action: action, ErrnoRet: errnoRet}},
	}
}

var mkdirCalls = []string{"mkdir", "mkdirat"}

// TestSeccompActions gives mkdir(2) each action.
func TestSeccompActions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		action   specs.LinuxSeccompAction
		errnoRet *uint
		code     int    // the container's exit status
		stderr   string // in berth run's stderr
	}{
		{"errno", specs.ActErrno, ptr(uint(13)), 1, "Permission denied"},
		{"errno-default-eperm", specs.ActErrno, nil, 1, "Operation not permitted"},
		{"kill-process", specs.ActKillProcess, nil, 128 + 31, ""},
		{"kill-thread", specs.ActKillThread, nil, 128 + 31, ""},
		{"kill", specs.ActKill, nil, 128 + 31, ""},
		{"trap", specs.ActTrap, nil, 128 + 31, ""},
		{"log", specs.ActLog, nil, 0, ""},
		// Without a tracer, SECCOMP_RET_TRACE fails the call with ENOSYS.
		{"trace", specs.ActTrace, nil, 1, "not implemented"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "mkdir", "/tmp/d")
			b.Spec.Root.Readonly = false
			b.Spec.Linux.Seccomp = denyProfile(tc.action, tc.errnoRet, mkdirCalls...)
			out, errOut, code := b.runContainer()
			if code != tc.code || !strings.Contains(errOut, tc.stderr) {
				t.Errorf("mkdir: exit %d, stderr %q; want exit %d and %q (stdout %q)", code, errOut, tc.code, tc.stderr, out)
			}
		})
	}
}

// TestSeccompArgs: a rule on chmod's mode (MASKED_EQ, mode&0777 == 0700)
// denies chmod 700 and lets chmod 755 through.
func TestSeccompArgs(t *testing.T) {
	b := newBundle(t)
	b.Spec.Root.Readonly = false
	mode := specs.LinuxSeccompArg{Index: 1, Value: 0o777, ValueTwo: 0o700, Op: specs.OpMaskedEqual}
	modeAt := mode
	modeAt.Index = 2
	b.Spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"chmod"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{mode}},
			{Names: []string{"fchmodat", "fchmodat2"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{modeAt}},
		},
	}
	out := b.shOutput("touch /tmp/f; chmod 755 /tmp/f && echo 755-ok; chmod 700 /tmp/f && echo 700-ok; stat -c %a /tmp/f")
	if want := "755-ok\n755"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
}

// TestSeccompENOSYS: under Docker's profile (default EPERM), a system
// call numbered above every one the profile names returns ENOSYS (runc's
// stub), so that libc falls back; one below that the profile denies gets
// EPERM.
func TestSeccompENOSYS(t *testing.T) {
	tool := buildTool(t, "rawsyscall")
	b := newBundle(t)
	if err := copyFile(tool, filepath.Join(b.rootfs(), "bin", "rawsyscall"), 0o755); err != nil {
		t.Fatal(err)
	}
	b.Spec.Linux.Seccomp = dockerProfile(t)
	// 1000: no such call; 246: kexec_load, denied without CAP_SYS_BOOT.
	out := b.shOutput("rawsyscall 1000; rawsyscall 246")
	if want := "errno 38\nerrno 1"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	t.Run("default-allow", func(t *testing.T) {
		// No stub when the default action allows: the kernel answers.
		b := newBundle(t)
		if err := copyFile(tool, filepath.Join(b.rootfs(), "bin", "rawsyscall"), 0o755); err != nil {
			t.Fatal(err)
		}
		b.Spec.Linux.Seccomp = denyProfile(specs.ActErrno, nil, "kexec_load")
		if out := b.shOutput("rawsyscall 1000; rawsyscall 246"); out != "errno 38\nerrno 1" {
			t.Errorf("stdout %q", out)
		}
	})
}

// TestSeccompExec: a process executed into the container gets the
// container's filter.
func TestSeccompExec(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.Spec.Root.Readonly = false
	b.Spec.Linux.Seccomp = denyProfile(specs.ActErrno, ptr(uint(13)), mkdirCalls...)
	b.berth("run", "-d", b.id)
	if got := b.execOK(b.id, "grep", "Seccomp:", "/proc/self/status"); strings.TrimSpace(got) != seccompFiltered {
		t.Errorf("exec: %q, want %q", got, seccompFiltered)
	}
	out, errOut, code := b.exec(b.id, "mkdir", "/tmp/d")
	if code != 1 || !strings.Contains(errOut, "Permission denied") {
		t.Errorf("exec mkdir: exit %d, stdout %q, stderr %q, want EACCES", code, out, errOut)
	}
	// With no_new_privs off for the exec'd process only, the filter is
	// loaded before the user switch; the process still gets it.
	out, errOut, code = b.exec("--user", "1000", b.id, "mkdir", "/tmp/e")
	if code != 1 || !strings.Contains(errOut, "Permission denied") {
		t.Errorf("exec --user 1000 mkdir: exit %d, stdout %q, stderr %q, want EACCES", code, out, errOut)
	}
}

// TestSeccompBadInput: an unknown action, architecture, operator or flag
// fails with exit 1, names the field, and leaves nothing behind.
func TestSeccompBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		edit       func(*specs.LinuxSeccomp)
	}{
		{"default-action", "linux.seccomp.defaultAction", func(s *specs.LinuxSeccomp) { s.DefaultAction = "SCMP_ACT_BOGUS" }},
		{"action", "linux.seccomp.syscalls[0].action", func(s *specs.LinuxSeccomp) { s.Syscalls[0].Action = "SCMP_ACT_BOGUS" }},
		{"arch", "linux.seccomp.architectures[1]", func(s *specs.LinuxSeccomp) { s.Architectures[1] = "SCMP_ARCH_BOGUS" }},
		{"operator", "linux.seccomp.syscalls[0].args[0].op", func(s *specs.LinuxSeccomp) {
			s.Syscalls[0].Args = []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_BOGUS"}}
		}},
		{"arg-index", "linux.seccomp.syscalls[0].args[0].index", func(s *specs.LinuxSeccomp) {
			s.Syscalls[0].Args = []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}
		}},
		{"flag", "linux.seccomp.flags[0]", func(s *specs.LinuxSeccomp) { s.Flags = []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_BOGUS"} }},
		{"errno-range", "linux.seccomp.syscalls[0].errnoRet", func(s *specs.LinuxSeccomp) { s.Syscalls[0].ErrnoRet = ptr(uint(5000)) }},
		{"notify-default", "linux.seccomp.defaultAction", func(s *specs.LinuxSeccomp) { s.DefaultAction = specs.ActNotify }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "true")
			p := denyProfile(specs.ActErrno, nil, "mkdir")
			tc.edit(p)
			b.Spec.Linux.Seccomp = p
			b.expectFailure(b.id, tc.want, "run", b.id)
		})
	}
}

// TestSeccompUnknownSyscall: a name no ABI of the host knows is skipped,
// as runc does, and the rest of the rule applies.
func TestSeccompUnknownSyscall(t *testing.T) {
	b := newBundle(t, "mkdir", "/tmp/d")
	b.Spec.Root.Readonly = false
	b.Spec.Linux.Seccomp = denyProfile(specs.ActErrno, ptr(uint(13)), "no_such_syscall", "mkdir", "mkdirat")
	_, errOut, code := b.runContainer()
	if code != 1 || !strings.Contains(errOut, "Permission denied") {
		t.Errorf("mkdir: exit %d, stderr %q, want EACCES", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(b.rootfs(), "tmp", "d")); err == nil {
		t.Error("mkdir created /tmp/d under the filter")
	}
}

// seccompAgent listens on a socket for the runtime's listeners (one per
// process that loads the filter: the init, each exec'd process) and
// answers every notified system call with errno, as a seccomp agent does.
// It returns the socket's path and a channel that delivers the states the
// runtime sent, in order.
func seccompAgent(t *testing.T, errno int32) (string, <-chan specs.ContainerProcessState) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	states := make(chan specs.ContainerProcessState, 4)
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := l.AcceptUnix()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				serveListener(t, conn, errno, states)
			}()
		}
	}()
	return path, states
}

// serveListener reads the runtime's state and listener from conn and
// answers the listener's notifications with errno until the filter's
// processes are gone.
func serveListener(t *testing.T, conn *net.UnixConn, errno int32, states chan<- specs.ContainerProcessState) {
	buf, oob := make([]byte, 1<<16), make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Errorf("agent: %v", err)
		return
	}
	var st specs.ContainerProcessState
	if err := json.Unmarshal(buf[:n], &st); err != nil {
		t.Errorf("agent: state %q: %v", buf[:n], err)
	}
	states <- st
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	if len(msgs) != 1 {
		t.Errorf("agent: %d control messages, want the listener", len(msgs))
		return
	}
	fds, _ := unix.ParseUnixRights(&msgs[0])
	if len(fds) != 1 {
		t.Errorf("agent: %d fds", len(fds))
		return
	}
	listener := os.NewFile(uintptr(fds[0]), "listener")
	defer listener.Close()
	for {
		// Wait for a request or for the filter's last task to be
		// gone (POLLHUP): before Linux 6.x a RECV on a filter
		// without tasks blocks for ever.
		pfd := []unix.PollFd{{Fd: int32(listener.Fd()), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, -1); err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			if pfd[0].Revents != 0 {
				return // the container's processes are gone
			}
			continue
		}
		// struct seccomp_notif (80 bytes), then seccomp_notif_resp.
		var req [80]byte
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, listener.Fd(), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req[0]))); e != 0 {
			return // the container's processes are gone
		}
		var resp [24]byte
		copy(resp[:8], req[:8])                                  // id
		binary.LittleEndian.PutUint32(resp[16:], uint32(-errno)) // error
		unix.Syscall(unix.SYS_IOCTL, listener.Fd(), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp[0])))
	}
}

// TestSeccompNotify: SCMP_ACT_NOTIFY hands the filter's listener and the
// container's process state to linux.seccomp.listenerPath; the agent's
// answer (ENOMEDIUM) is what mkdir gets.
func TestSeccompNotify(t *testing.T) {
	path, states := seccompAgent(t, 123)
	b := newBundle(t, "mkdir", "/tmp/d")
	b.Spec.Root.Readonly = false
	p := denyProfile(specs.ActNotify, nil, mkdirCalls...)
	p.ListenerPath = path
	p.ListenerMetadata = "hello"
	b.Spec.Linux.Seccomp = p
	_, errOut, code := b.runContainer()
	if code != 1 || !strings.Contains(errOut, "No medium found") {
		t.Errorf("mkdir: exit %d, stderr %q, want the agent's ENOMEDIUM", code, errOut)
	}
	select {
	case st := <-states:
		if !slices.Equal(st.Fds, []string{"seccompFd"}) || st.Metadata != "hello" || st.State.ID != b.id || st.Pid <= 0 || st.State.Status != specs.StateCreating {
			t.Errorf("state sent to the agent: %+v", st)
		}
	default:
		t.Error("the agent got no state")
	}
}

// TestSeccompNotifyExec: a process executed into the container loads the
// container's filter, and its listener goes to listenerPath too, with the
// container running.
func TestSeccompNotifyExec(t *testing.T) {
	path, states := seccompAgent(t, 123)
	b := newBundle(t)
	b.Spec.Root.Readonly = false
	p := denyProfile(specs.ActNotify, nil, mkdirCalls...)
	p.ListenerPath = path
	b.Spec.Linux.Seccomp = p
	b.startSleeper()
	<-states // the init's
	_, errOut, code := b.exec(b.id, "mkdir", "/tmp/d")
	if code != 1 || !strings.Contains(errOut, "No medium found") {
		t.Errorf("exec mkdir: exit %d, stderr %q, want the agent's ENOMEDIUM", code, errOut)
	}
	select {
	case st := <-states:
		if st.State.ID != b.id || st.Pid <= 0 || st.State.Status != specs.StateRunning {
			t.Errorf("state sent to the agent for exec: %+v", st)
		}
	default:
		t.Error("the agent got no state for exec")
	}
	b.berth("delete", "--force", b.id)
}

// TestSeccompNotifyBadListener: a listenerPath that is not a socket
// fails the start, exit 1, nothing left.
func TestSeccompNotifyBadListener(t *testing.T) {
	b := newBundle(t, "mkdir", "/tmp/d")
	p := denyProfile(specs.ActNotify, nil, mkdirCalls...)
	p.ListenerPath = filepath.Join(b.dir, "config.json")
	b.Spec.Linux.Seccomp = p
	b.expectFailure(b.id, "listenerPath", "run", b.id)
	p.ListenerPath = ""
	b.expectFailure(b.id, "linux.seccomp.listenerPath", "run", b.id)
}
