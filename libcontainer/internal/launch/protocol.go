package launch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/berthrt/berth/libcontainer/configs"
)

// The parent and the init process talk over one socketpair (SOCK_STREAM,
// JSON messages, one encoder and one decoder per side). Every message is
// sent by a named function below; nothing else writes to the socket.
//
//	parent (berth create)                         init (berth init)
//	─────────────────────                         ─────────────────
//	on a throwaway thread: join namespaces
//	by path, enter the cgroups (v1 tasks
//	"0", v2 fd), private mount namespace
//	with the binary read-only; clone: new
//	namespaces, ID maps, pidfd ───────────────►  starts, reads fd 3
//	sendBootstrap(config, process) ───────────►  recvBootstrap
//	cgroups.Set(limits)                           time namespace offsets
//	  (overlaps the init's mounts)                rootfs.Setup: mounts, devices…
//	                                              … waits before a cgroup mount,
//	                                                before pivot_root at the latest
//	sendCgroupReady ──────────────────────────►  recvCgroupReady, unshare cgroupns
//	                                              pivot_root, hostname, sysctl,
//	                                              masked/read-only paths, rlimits,
//	                                              user, capabilities, no_new_privs
//	recvReady ◄─────────────────────────────────  sendReady (or sendError at any step)
//	write state.json, exit                        close the socket; wait on exec.fifo
//	                                              (berth start writes to it), execve
//
// A message is a frame with a kind and one payload field set. An error
// from the init is reported as the error of Start, prefixed by the step
// that failed.

type msgKind string

const (
	msgBootstrap   msgKind = "bootstrap"
	msgCgroupReady msgKind = "cgroup-ready"
	msgReady       msgKind = "ready"
	msgError       msgKind = "error"
	// msgExec is never sent: the parent waits for it in run mode, where the
	// socket closing on execve means success and an error frame failure.
	msgExec msgKind = "execve"
)

type frame struct {
	Kind      msgKind    `json:"kind"`
	Bootstrap *Bootstrap `json:"bootstrap,omitempty"`
	Error     string     `json:"error,omitempty"`
}

// Bootstrap is everything the init process needs: the container's config and
// the process to run. It is decided entirely by the parent.
type Bootstrap struct {
	// ID is the container's id (names the session keyring).
	ID string `json:"id"`
	// Config is the validated container config.
	Config *configs.Config `json:"config"`
	// Process is the user process to execve.
	Process ProcessSpec `json:"process"`
	// WaitFifo makes the init wait for berth start on the exec fifo (fd
	// fifoFd) before execve; false for run and Container.Run.
	WaitFifo bool `json:"wait_fifo,omitempty"`
	// CgroupReady says the parent will send cgroup-ready once it has
	// written the container's limits; the init is born in its cgroups.
	CgroupReady bool `json:"cgroup_ready,omitempty"`
	// CgroupNS makes the init unshare a cgroup namespace once in its cgroup.
	CgroupNS bool `json:"cgroup_ns,omitempty"`
	// TimeNS makes the init unshare a time namespace and write the offsets.
	TimeNS bool `json:"time_ns,omitempty"`
	// LogLevel is the slog level of the init's log lines.
	LogLevel int `json:"log_level,omitempty"`
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
}

// The init process's inherited file descriptors.
const (
	initSockFd = 3 // socket to the parent
	logFd      = 4 // JSON log lines to the parent
	fifoFd     = 5 // exec fifo, read side (only when WaitFifo)
)

// channel is one end of the protocol.
type channel struct {
	enc *json.Encoder
	dec *json.Decoder
	c   io.Closer
}

func newChannel(f *os.File) *channel {
	return &channel{enc: json.NewEncoder(f), dec: json.NewDecoder(f), c: f}
}

func (ch *channel) send(f frame) error {
	if err := ch.enc.Encode(f); err != nil {
		return fmt.Errorf("send %s: %w", f.Kind, err)
	}
	return nil
}

// recv reads the next frame and checks it is of kind want. An error frame
// from the other side is returned as an *InitError.
func (ch *channel) recv(want msgKind) (frame, error) {
	var f frame
	if err := ch.dec.Decode(&f); err != nil {
		// ECONNRESET is a close too: the init's socket closes on execve
		// with bytes it never read (a frame's trailing newline), and the
		// kernel still delivers every frame queued before the reset.
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			return f, fmt.Errorf("wait for %s: %w", want, errInitExited)
		}
		return f, fmt.Errorf("wait for %s: %w", want, err)
	}
	if f.Kind == msgError {
		return f, &InitError{Msg: f.Error}
	}
	if f.Kind != want {
		return f, fmt.Errorf("wait for %s: protocol error: got %q", want, f.Kind)
	}
	return f, nil
}

func (ch *channel) close() error { return ch.c.Close() }

// Parent side verbs.

func (ch *channel) sendBootstrap(b *Bootstrap) error {
	return ch.send(frame{Kind: msgBootstrap, Bootstrap: b})
}

func (ch *channel) sendCgroupReady() error { return ch.send(frame{Kind: msgCgroupReady}) }

func (ch *channel) recvReady() error {
	_, err := ch.recv(msgReady)
	return err
}

// Init side verbs.

func (ch *channel) recvBootstrap() (*Bootstrap, error) {
	f, err := ch.recv(msgBootstrap)
	if err != nil {
		return nil, err
	}
	if f.Bootstrap == nil || f.Bootstrap.Config == nil {
		return nil, errors.New("bootstrap: missing config")
	}
	return f.Bootstrap, nil
}

func (ch *channel) recvCgroupReady() error {
	_, err := ch.recv(msgCgroupReady)
	return err
}

func (ch *channel) sendReady() error { return ch.send(frame{Kind: msgReady}) }

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
