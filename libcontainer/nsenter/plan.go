package nsenter

import (
	"encoding/binary"
	"math"
)

// ExecPlan is how the bootstrap finishes a process executed into a running
// container (berth exec) once it has joined the container's namespaces:
// the parent decided everything in it (the user from the container's
// account files, the environment, the capability sets, the compiled
// seccomp filter), so the bootstrap only makes the system calls, in runc's
// order, and executes the program. No Go runtime starts in that process.
// The parent sends it on the protocol socket (Marshal) after the pid
// frame, if any; see the package documentation for what comes back.
type ExecPlan struct {
	// RootFD, when not -1, is the descriptor of the directory to chroot
	// into: the container's root, when it is not its mount namespace's.
	RootFD int
	// Terminal makes descriptor 0, a pty slave, the controlling terminal
	// of the process's new session.
	Terminal bool

	// UID, GID and Groups are the process's credentials in the
	// container's user namespace.
	UID, GID uint32
	Groups   []uint32
	// Umask is set just before execve.
	Umask uint32
	// Caps are the capability sets; nil keeps the capabilities the
	// process has (the config has none).
	Caps *CapSets
	// NoNewPrivs sets no_new_privs; the seccomp filter is then loaded last.
	NoNewPrivs bool

	// Keyring, when not empty, is the name of the session keyring to join
	// (and create); KeyringOthers lets "others" search it, as a keyring
	// in a user namespace needs, instead of the user.
	Keyring       string
	KeyringOthers bool
	// AppArmorProfile and SELinuxLabel are what the process execs into;
	// SELinuxLabel also labels the keyring.
	AppArmorProfile string
	SELinuxLabel    string

	// Seccomp is the filter's BPF program (struct sock_filter records)
	// and SeccompFlags its seccomp(2) flags. With a listener flag, the
	// bootstrap sends the listener to the parent and waits for its answer.
	Seccomp      []byte
	SeccompFlags uint

	// Cwd is the working directory, checked to be inside the root.
	Cwd string
	// Path is the PATH the program is looked up in when Args[0] has no
	// slash.
	Path string
	// Args and Env are the program's argv and environment.
	Args, Env []string
}

// CapSets are capability sets as bit masks (bit n is capability n).
// Bounding lists what stays in the bounding set; the rest is dropped.
type CapSets struct {
	Bounding, Effective, Permitted, Inheritable, Ambient uint64
}

// Plan flags: word 1 of the plan.
const (
	planChroot = 1 << iota
	planTerminal
	planCaps
	planNoNewPrivs
	planKeyring
	planKeyringOthers
)

// Marshal encodes the plan as the bootstrap reads it: the size of the rest
// in bytes, then 64-bit words in the host's byte order (flags, uid, gid,
// umask, root fd, the five capability masks, the seccomp flags, and the
// lengths of the program and of the group list), the program, the groups,
// then strings, each its length and its bytes ending in NUL: cwd, keyring,
// AppArmor profile, SELinux label, PATH, then the count of args and each
// arg, the count of env and each entry.
func (p *ExecPlan) Marshal() []byte {
	var flags uint64
	set := func(f uint64, on bool) {
		if on {
			flags |= f
		}
	}
	set(planChroot, p.RootFD >= 0)
	set(planTerminal, p.Terminal)
	set(planCaps, p.Caps != nil)
	set(planNoNewPrivs, p.NoNewPrivs)
	set(planKeyring, p.Keyring != "")
	set(planKeyringOthers, p.KeyringOthers)
	caps := p.Caps
	if caps == nil {
		caps = &CapSets{}
	}
	root := uint64(math.MaxUint64)
	if p.RootFD >= 0 {
		root = uint64(p.RootFD)
	}
	b := make([]byte, 8, 512+len(p.Seccomp))
	put := func(v uint64) { b = binary.NativeEndian.AppendUint64(b, v) }
	for _, v := range []uint64{
		flags, uint64(p.UID), uint64(p.GID), uint64(p.Umask), root,
		caps.Bounding, caps.Effective, caps.Permitted, caps.Inheritable, caps.Ambient,
		uint64(p.SeccompFlags), uint64(len(p.Seccomp)), uint64(len(p.Groups)),
	} {
		put(v)
	}
	b = append(b, p.Seccomp...)
	for _, g := range p.Groups {
		put(uint64(g))
	}
	str := func(s string) {
		put(uint64(len(s)))
		b = append(b, s...)
		b = append(b, 0)
	}
	for _, s := range []string{p.Cwd, p.Keyring, p.AppArmorProfile, p.SELinuxLabel, p.Path} {
		str(s)
	}
	for _, list := range [][]string{p.Args, p.Env} {
		put(uint64(len(list)))
		for _, s := range list {
			str(s)
		}
	}
	binary.NativeEndian.PutUint64(b, uint64(len(b)-8))
	return b
}
