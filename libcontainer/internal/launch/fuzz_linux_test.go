package launch

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// protocolPair is a connected socketpair: data written to in is what the
// channel out decodes, as between the parent and the init.
func protocolPair(t *testing.T, data []byte) *channel {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	in := os.NewFile(uintptr(fds[0]), "fuzz-in")
	out := newChannel(os.NewFile(uintptr(fds[1]), "fuzz-out"))
	t.Cleanup(func() { out.close() })
	go func() {
		_, _ = in.Write(data)
		in.Close()
	}()
	return out
}

// seedFrames are well-formed conversations: what sendBootstrap writes for
// a container's init and for an exec, and what the init (or the C
// bootstrap) answers.
func seedFrames(f *testing.F) [][]byte {
	f.Helper()
	cfg := &configs.Config{
		Rootfs:       "/rootfs",
		Namespaces:   configs.Namespaces{{Type: configs.NEWNS}, {Type: configs.NEWUSER}},
		UIDMappings:  []configs.IDMap{{ContainerID: 0, HostID: 1000, Size: 1}},
		MountLabel:   "system_u:object_r:container_file_t:s0:c1,c2",
		ProcessLabel: "system_u:system_r:container_t:s0:c1,c2",
		Mounts:       []*configs.Mount{{Source: "tmpfs", Destination: "/dev", Device: "tmpfs", Data: "mode=755"}},
	}
	uid := uint32(0)
	b := &Bootstrap{
		ID: "fuzz", Config: cfg, WaitStart: true, CgroupReady: true, Terminal: true,
		Process: ProcessSpec{Args: []string{"sh"}, UID: &uid, AppArmorProfile: "berth-default", Label: cfg.ProcessLabel},
	}
	enc := func(fr frame) []byte {
		data, err := json.Marshal(fr)
		if err != nil {
			f.Fatal(err)
		}
		return append(data, '\n')
	}
	config, err := json.Marshal(cfg)
	if err != nil {
		f.Fatal(err)
	}
	boot := enc(frame{Kind: msgBootstrap, Bootstrap: b, Config: config})
	exec := *b
	exec.Exec, exec.Chroot = true, true
	execBoot := enc(frame{Kind: msgBootstrap, Bootstrap: &exec})
	var conv []byte
	for _, fr := range []frame{{Kind: msgPid, Pid: 42}, {Kind: msgHooks}, {Kind: msgReady}, {Kind: msgError, Error: "rootfs: mount: invalid argument"}} {
		conv = append(conv, enc(fr)...)
	}
	return [][]byte{
		boot, execBoot, conv,
		append(append([]byte{}, boot...), enc(frame{Kind: msgCgroupReady})...),
		[]byte(`{"kind":"bootstrap","bootstrap":{"id":"x","process":{"args":["sh"]}},"config":null}` + "\n"),
		[]byte(`{"kind":"bootstrap","bootstrap":null}` + "\n"),
		[]byte(`{"kind":"console","console":"/dev/ptmx"}` + "\n"),
		[]byte(`{"kind":"bootstrap","bootstrap":{"process":{"args":[]}},"config":{"rootfs":1}}`),
	}
}

// FuzzProtocol decodes arbitrary bytes as the frames of the parent/init
// protocol, on both ends: the init's recvBootstrap (and what it derives
// from the bootstrap) and the parent's reading of the init's frames. The
// peer is berth itself, but a bug on either side, or a bootstrap that
// died half-way through a frame, must give an error, never a panic.
func FuzzProtocol(f *testing.F) {
	for _, s := range seedFrames(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ch := protocolPair(t, data)
		b, err := ch.recvBootstrap()
		if err == nil {
			if b == nil || b.Config == nil {
				t.Fatalf("recvBootstrap accepted a bootstrap without config: %+v", b)
			}
			fds := newInitFds(3, b)
			if fds.sock != 3 || b.WaitStart != (fds.execSock >= 0) || b.Chroot != (fds.root >= 0) {
				t.Fatalf("newInitFds(%+v) = %+v", b, fds)
			}
			_ = execProcess(b)
		} else if b != nil {
			t.Fatalf("recvBootstrap returned a bootstrap and error %v", err)
		}

		// The parent's side: every frame until the stream ends.
		ch = protocolPair(t, data)
		for range 64 {
			fr, err := ch.recvNext()
			if err != nil {
				var ie *InitError
				if errors.As(err, &ie) && ie.Msg != fr.Error {
					t.Fatalf("InitError %q for an error frame %q", ie.Msg, fr.Error)
				}
				if errors.As(err, &ie) {
					continue
				}
				break
			}
			if fr.Kind == msgConsole {
				if _, err := ch.takeFile(); err == nil {
					t.Fatal("a console frame from bytes alone carried a descriptor")
				}
			}
		}
	})
}
