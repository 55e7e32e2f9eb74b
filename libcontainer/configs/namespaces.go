package configs

import "golang.org/x/sys/unix"

// NamespaceType is a kind of Linux namespace, spelled as runc's
// libcontainer spells it (the OCI spec's "network" is NEWNET).
type NamespaceType string

// The namespace kinds berth knows.
const (
	NEWNET    NamespaceType = "NEWNET"
	NEWPID    NamespaceType = "NEWPID"
	NEWNS     NamespaceType = "NEWNS"
	NEWUTS    NamespaceType = "NEWUTS"
	NEWIPC    NamespaceType = "NEWIPC"
	NEWUSER   NamespaceType = "NEWUSER"
	NEWCGROUP NamespaceType = "NEWCGROUP"
	NEWTIME   NamespaceType = "NEWTIME"
)

// NamespaceTypes lists every namespace kind in the order runc joins them:
// user first (so the others are owned by it), mount last.
func NamespaceTypes() []NamespaceType {
	return []NamespaceType{NEWUSER, NEWIPC, NEWUTS, NEWNET, NEWPID, NEWCGROUP, NEWTIME, NEWNS}
}

// CloneFlag returns the CLONE_NEW* flag of the namespace kind.
func (t NamespaceType) CloneFlag() uintptr {
	switch t {
	case NEWNET:
		return unix.CLONE_NEWNET
	case NEWPID:
		return unix.CLONE_NEWPID
	case NEWNS:
		return unix.CLONE_NEWNS
	case NEWUTS:
		return unix.CLONE_NEWUTS
	case NEWIPC:
		return unix.CLONE_NEWIPC
	case NEWUSER:
		return unix.CLONE_NEWUSER
	case NEWCGROUP:
		return unix.CLONE_NEWCGROUP
	case NEWTIME:
		return unix.CLONE_NEWTIME
	}
	return 0
}

// ProcName returns the namespace's file name under /proc/<pid>/ns.
func (t NamespaceType) ProcName() string {
	switch t {
	case NEWNET:
		return "net"
	case NEWPID:
		return "pid"
	case NEWNS:
		return "mnt"
	case NEWUTS:
		return "uts"
	case NEWIPC:
		return "ipc"
	case NEWUSER:
		return "user"
	case NEWCGROUP:
		return "cgroup"
	case NEWTIME:
		return "time"
	}
	return ""
}

// Namespace is one namespace the container creates (Path empty) or joins.
type Namespace struct {
	Type NamespaceType `json:"type"`
	Path string        `json:"path,omitempty"`
}

// Namespaces is the container's list of namespaces.
type Namespaces []Namespace

// Contains reports whether the list has a namespace of kind t.
func (n Namespaces) Contains(t NamespaceType) bool { return n.index(t) >= 0 }

// PathOf returns the path to join for kind t, or "" when it is new or absent.
func (n Namespaces) PathOf(t NamespaceType) string {
	if i := n.index(t); i >= 0 {
		return n[i].Path
	}
	return ""
}

// CloneFlags returns the CLONE_NEW* flags of the namespaces to create.
func (n Namespaces) CloneFlags() uintptr {
	var flags uintptr
	for _, ns := range n {
		if ns.Path == "" {
			flags |= ns.Type.CloneFlag()
		}
	}
	return flags
}

func (n Namespaces) index(t NamespaceType) int {
	for i, ns := range n {
		if ns.Type == t {
			return i
		}
	}
	return -1
}
