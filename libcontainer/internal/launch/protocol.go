package launch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
	"github.com/berthrt/berth/libcontainer/internal/terminal"
)

// The parent and the init process talk over one socketpair (SOCK_STREAM,
// JSON messages, one encoder and one decoder per side). Every message is
// sent by a named function below; nothing else writes to the socket but
// the bootstrap (libcontainer/nsenter), whose two frames are marked (C).
//
//	parent (berth create, run, exec)              init (berth init)
//	────────────────────────────────              ─────────────────
//	on a throwaway thread: join the ipc,
//	uts, net, pid, cgroup namespaces given
//	by path (no user namespace joined),
//	enter the cgroups (v1 tasks "0", v2 fd),
//	private mount namespace with the binary
//	read-only; clone: new namespaces, ID
//	maps, pidfd ──────────────────────────────►  execve; before Go starts, the
//	                                              bootstrap joins the rest (user
//	                                              first, mount last), unshares
//	                                              what a joined user namespace
//	                                              must own, and forks into a pid
//	recvPid ◄───────────────────────────────────  namespace (C): pid frame; or
//	  (only when the bootstrap forks)             error frame (C) and exit
//	write oom_score_adj
//	sendBootstrap(config, process) ───────────►  recvBootstrap
//	cgroups.Set(limits)                           time namespace offsets
//	  (overlaps the init's mounts)                rootfs.Setup: mounts, devices…
//	                                              … waits before a cgroup mount,
//	                                                before pivot_root at the latest
//	sendCgroupReady ──────────────────────────►  recvCgroupReady, unshare cgroupns
//	                                              (with prestart or createRuntime
//	run prestart, createRuntime hooks ◄─────────  hooks) sendHooks, before pivot_root
//	sendHooksDone ────────────────────────────►  recvHooksDone; createContainer hooks
//	                                              pivot_root; with a terminal: a pty,
//	send the master to the console socket ◄────  sendConsole (the master rides along)
//	                                              hostname, sysctl, masked and
//	                                              read-only paths, rlimits, user,
//	                                              capabilities, no_new_privs
//	hand it to listenerPath, sendSeccompDone ◄─  with SCMP_ACT_NOTIFY: sendSeccompListener
//	  ───────────────────────────────────────►  (the fd rides along), recvSeccompDone
//	recvReady ◄─────────────────────────────────  sendReady (or sendError at any step)
//	create: write state.json, exit                create: accept on exec.sock (berth
//	                                              start connects), startContainer
//	                                              hooks, execve; the connection
//	                                              closes on execve, or carries the
//	                                              error. run: startContainer hooks,
//	run: the socket closes on execve ◄──────────  execve
//
// A process executed into a running container (Bootstrap.Exec, berth exec)
// never runs Go: the bootstrap joins every namespace of the container's
// init, then the parent sends it a binary nsenter.ExecPlan instead of the
// bootstrap frame (exec_linux.go), after setting the process's rlimits,
// and the bootstrap finishes the process (libcontainer/nsenter, exec.c):
// the same seccomp-listener, ready and error frames, no cgroup-ready, no
// hooks. The parent allocates its pty and sends the master to the console
// socket itself.
//
// A message is a frame with a kind and one payload field set. An error
// from the init is reported as the error of Start, prefixed by the step
// that failed. A descriptor travels as SCM_RIGHTS on the first byte of its
// frame: the parent reads with recvmsg(2) and keeps what arrives.

type msgKind string

const (
	msgBootstrap   msgKind = "bootstrap"
	msgCgroupReady msgKind = "cgroup-ready"
	msgHooks       msgKind = "hooks"
	msgHooksDone   msgKind = "hooks-done"
	msgConsole     msgKind = "console"
	msgReady       msgKind = "ready"
	// msgSeccomp carries the seccomp filter's listener (SCMP_ACT_NOTIFY)
	// to the parent, which hands it to linux.seccomp.listenerPath and
	// answers msgSeccompDone.
	msgSeccomp     msgKind = "seccomp-listener"
	msgSeccompDone msgKind = "seccomp-done"
	msgError       msgKind = "error"
	// msgPid is written by the bootstrap (libcontainer/nsenter) when it
	// forked the init into its pid namespace.
	msgPid msgKind = "pid"
	// msgExec is never sent: the parent waits for it in run mode, where the
	// socket closing on execve means success and an error frame failure.
	msgExec msgKind = "execve"
)

type frame struct {
	Kind      msgKind    `json:"kind"`
	Bootstrap *Bootstrap `json:"bootstrap,omitempty"`
	Error     string     `json:"error,omitempty"`
	// Console is the name of the pty master sent with a console frame.
	Console string `json:"console,omitempty"`
	// Pid is the forked init's pid in berth's pid namespace (pid frame).
	Pid int `json:"pid,omitempty"`
	// Config is the bootstrap's Bootstrap.Config. It travels beside the
	// bootstrap, as raw JSON, so that the frame's type does not reach
	// configs.Config: encoding/json builds the encoders of a struct's
	// whole type graph on its first use, about half a millisecond for
	// configs.Config here, which an exec'd process does not need.
	Config json.RawMessage `json:"config,omitempty"`
}

// Bootstrap is everything the init process needs: the container's config and
// the process to run. It is decided entirely by the parent.
type Bootstrap struct {
	// ID is the container's id (names the session keyring).
	ID string `json:"id"`
	// Pid is the init's pid as the host sees it, for the hooks' state;
	// Start fills it in.
	Pid int `json:"pid,omitempty"`
	// Config is the validated container config (sent in the frame, see
	// frame.Config). For a process executed into a running container
	// (Exec) it stays with the parent, which plans the process from it
	// (execPlan).
	Config *configs.Config `json:"-"`
	// Process is the user process to execve.
	Process ProcessSpec `json:"process"`
	// WaitStart makes the init wait for berth start on the exec socket
	// (a listening socket at fds.execSock) before execve; false for run
	// and Container.Run.
	WaitStart bool `json:"wait_start,omitempty"`
	// Terminal gives the process a pty whose master goes to the parent.
	Terminal bool `json:"terminal,omitempty"`
	// ConsoleSize is the pty's initial size; nil leaves the kernel's.
	ConsoleSize *terminal.Size `json:"console_size,omitempty"`
	// CgroupReady says the parent will send cgroup-ready once it has
	// written the container's limits; the init is born in its cgroups.
	CgroupReady bool `json:"cgroup_ready,omitempty"`
	// CgroupNS makes the init unshare a cgroup namespace once in its cgroup.
	CgroupNS bool `json:"cgroup_ns,omitempty"`
	// TimeNS makes the init unshare a time namespace and write the offsets.
	TimeNS bool `json:"time_ns,omitempty"`
	// LogLevel is the slog level of the init's log lines.
	LogLevel int `json:"log_level,omitempty"`
	// Exec marks a process executed into a running container: the
	// bootstrap finishes it from an ExecPlan, and no Go init runs (the
	// init refuses such a bootstrap).
	Exec bool `json:"exec,omitempty"`
	// Chroot makes the process chroot into the directory at fds.root:
	// the container's root, when it is not its mount namespace's root
	// (no mount namespace of its own, or no pivot_root).
	Chroot bool `json:"chroot,omitempty"`
	// Seccomp is the container's seccomp filter, compiled by Start from
	// Config.Seccomp (an exec'd process gets the container's too); nil
	// loads none.
	Seccomp *SeccompFilter `json:"seccomp,omitempty"`
}

// SeccompFilter is a compiled seccomp filter on its way to the init.
type SeccompFilter struct {
	// Program is the BPF program (struct sock_filter records).
	Program []byte `json:"program"`
	// Flags are the seccomp(2) flags.
	Flags uint `json:"flags,omitempty"`
}

// ProcessSpec is the user process: what runc's Process carries to init.
type ProcessSpec struct {
	Args []string `json:"args"`
	Env  []string `json:"env,omitempty"`
	Cwd  string   `json:"cwd,omitempty"`
	// User is "uid", "uid:gid", "name" or "name:group" (library form); used
	// when UID is nil.
	User           string   `json:"user,omitempty"`
	UID            *uint32  `json:"uid,omitempty"`
	GID            uint32   `json:"gid,omitempty"`
	AdditionalGids []uint32 `json:"additional_gids,omitempty"`
	// Capabilities replace the config's capabilities when not nil.
	Capabilities *configs.Capabilities `json:"capabilities,omitempty"`
	// NoNewPrivileges replaces the config's no_new_privileges when not
	// nil.
	NoNewPrivileges *bool `json:"no_new_privileges,omitempty"`
	// Rlimits replace the config's rlimits when not nil.
	Rlimits []configs.Rlimit `json:"rlimits,omitempty"`
	// AppArmorProfile is the AppArmor profile the process execs into.
	AppArmorProfile string `json:"apparmor_profile,omitempty"`
	// Label is the SELinux label the process execs with.
	Label string `json:"label,omitempty"`
	// Umask replaces the config's umask when not nil.
	Umask *uint32 `json:"umask,omitempty"`
}

// initEnvGomaxprocs is the one variable of the init's environment (with
// the bootstrap's request, when there is one).
const initEnvGomaxprocs = "GOMAXPROCS=1"

// initFds are the init process's inherited descriptors. The process's
// extra files come first, at 3, 4, … as the process will see them, so the
// init never has to move them; the protocol's descriptors follow, from the
// base given as the init's second argument.
type initFds struct {
	sock     int // socket to the parent
	log      int // JSON log lines to the parent
	execSock int // listening exec socket (only with WaitStart), else -1
	root     int // the root to chroot into (only with Chroot), else -1
	// The namespaces that the bootstrap joins follow; it closes them.
}

func newInitFds(base int, b *Bootstrap) initFds {
	f := initFds{sock: base, log: base + 1, execSock: -1, root: -1}
	next := base + 2
	if b.WaitStart {
		f.execSock = next
		next++
	}
	if b.Chroot {
		f.root = next
	}
	return f
}

// channel is one end of the protocol.
type channel struct {
	f   *os.File
	enc *json.Encoder
	dec *json.Decoder
	in  *fdReader
}

func newChannel(f *os.File) *channel {
	in := &fdReader{f: f}
	return &channel{f: f, enc: json.NewEncoder(f), dec: json.NewDecoder(in), in: in}
}

// fdReader reads a socket with recvmsg(2) and keeps the descriptors that
// arrive with the bytes, so that a frame's descriptor is there once the
// decoder has read the frame.
type fdReader struct {
	f   *os.File
	fds []*os.File
}

func (r *fdReader) Read(p []byte) (int, error) {
	rc, err := r.f.SyscallConn()
	if err != nil {
		return 0, err
	}
	oob := make([]byte, unix.CmsgSpace(4*4))
	var (
		n, oobn int
		rerr    error
	)
	err = rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), p, oob, unix.MSG_CMSG_CLOEXEC)
		return !errors.Is(rerr, unix.EAGAIN) && !errors.Is(rerr, unix.EINTR)
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return 0, err
	}
	if oobn > 0 {
		msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
		if perr != nil {
			return 0, fmt.Errorf("parse control message: %w", perr)
		}
		for _, m := range msgs {
			fds, _ := unix.ParseUnixRights(&m)
			for _, fd := range fds {
				r.fds = append(r.fds, os.NewFile(uintptr(fd), "received"))
			}
		}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// takeFile returns the oldest descriptor received and not yet taken.
func (ch *channel) takeFile() (*os.File, error) {
	if len(ch.in.fds) == 0 {
		return nil, errors.New("protocol error: frame without its descriptor")
	}
	f := ch.in.fds[0]
	ch.in.fds = ch.in.fds[1:]
	return f, nil
}

func (ch *channel) send(f frame) error {
	if err := ch.enc.Encode(f); err != nil {
		return fmt.Errorf("send %s: %w", f.Kind, err)
	}
	return nil
}

// recv reads the next frame and checks it is of kind want (any kind when
// want is empty). An error frame from the other side is returned as an
// *InitError.
func (ch *channel) recv(want msgKind) (frame, error) {
	var f frame
	if err := ch.dec.Decode(&f); err != nil {
		// ECONNRESET is a close too: the init's socket closes on execve
		// with bytes it never read (a frame's trailing newline), and the
		// kernel still delivers every frame queued before the reset.
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, unix.ECONNRESET) {
			return f, fmt.Errorf("wait for %s: %w", want, errInitExited)
		}
		return f, fmt.Errorf("wait for %s: %w", want, err)
	}
	if f.Kind == msgError {
		return f, &InitError{Msg: f.Error}
	}
	if want != "" && f.Kind != want {
		return f, fmt.Errorf("wait for %s: protocol error: got %q", want, f.Kind)
	}
	return f, nil
}

// sendWithFile sends a frame with f attached to its first byte.
func (ch *channel) sendWithFile(fr frame, f *os.File) error {
	b, err := json.Marshal(fr)
	if err != nil {
		return fmt.Errorf("send %s: %w", fr.Kind, err)
	}
	b = append(b, '\n')
	if err := unix.Sendmsg(int(ch.f.Fd()), b, unix.UnixRights(int(f.Fd())), nil, 0); err != nil {
		return fmt.Errorf("send %s: %w", fr.Kind, err)
	}
	return nil
}

func (ch *channel) close() error {
	for _, f := range ch.in.fds {
		f.Close()
	}
	ch.in.fds = nil
	return ch.f.Close()
}

// Parent side verbs.

func (ch *channel) sendBootstrap(b *Bootstrap) error {
	config, err := json.Marshal(b.Config)
	if err != nil {
		return fmt.Errorf("send %s: %w", msgBootstrap, err)
	}
	return ch.send(frame{Kind: msgBootstrap, Bootstrap: b, Config: config})
}

func (ch *channel) sendCgroupReady() error { return ch.send(frame{Kind: msgCgroupReady}) }

func (ch *channel) sendHooksDone() error { return ch.send(frame{Kind: msgHooksDone}) }

func (ch *channel) sendSeccompDone() error { return ch.send(frame{Kind: msgSeccompDone}) }

// recvNext reads the init's next frame, whatever its kind.
func (ch *channel) recvNext() (frame, error) { return ch.recv("") }

// Init side verbs.

func (ch *channel) recvBootstrap() (*Bootstrap, error) {
	f, err := ch.recv(msgBootstrap)
	if err != nil {
		return nil, err
	}
	b := f.Bootstrap
	if b == nil {
		return nil, errors.New("bootstrap: missing")
	}
	if b.Exec {
		return nil, errors.New("bootstrap: a process executed into a container is the bootstrap's (nsenter)")
	}
	if len(f.Config) == 0 {
		return nil, errors.New("bootstrap: missing config")
	}
	if err := json.Unmarshal(f.Config, &b.Config); err != nil {
		return nil, fmt.Errorf("bootstrap: config: %w", err)
	}
	if b.Config == nil {
		return nil, errors.New("bootstrap: missing config")
	}
	return b, nil
}

func (ch *channel) recvCgroupReady() error {
	_, err := ch.recv(msgCgroupReady)
	return err
}

func (ch *channel) sendHooks() error { return ch.send(frame{Kind: msgHooks}) }

func (ch *channel) recvHooksDone() error {
	_, err := ch.recv(msgHooksDone)
	return err
}

func (ch *channel) sendConsole(master *os.File) error {
	return ch.sendWithFile(frame{Kind: msgConsole, Console: master.Name()}, master)
}

func (ch *channel) sendReady() error { return ch.send(frame{Kind: msgReady}) }

func (ch *channel) sendSeccompListener(l *os.File) error {
	return ch.sendWithFile(frame{Kind: msgSeccomp}, l)
}

func (ch *channel) recvSeccompDone() error {
	_, err := ch.recv(msgSeccompDone)
	return err
}

func (ch *channel) sendError(err error) error {
	return ch.send(frame{Kind: msgError, Error: err.Error()})
}

// InitError is an error reported by the init process.
type InitError struct {
	// Msg is the init's error, prefixed with the step that failed.
	Msg string
}

func (e *InitError) Error() string { return e.Msg }

var errInitExited = errors.New("init process exited before finishing setup")
