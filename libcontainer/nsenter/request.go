package nsenter

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// EnvName is the environment variable that carries a Request to the
// bootstrap.
const EnvName = "_BERTH_NSENTER"

// Join is one namespace to join: a descriptor the init inherits and the
// namespace's CLONE_NEW* type.
type Join struct {
	// FD is the descriptor's number in the init process.
	FD int
	// Type is the namespace's CLONE_NEW* flag; setns(2) checks that the
	// descriptor is a namespace of that type.
	Type uintptr
}

// Request is what the bootstrap does in the init before the Go runtime
// starts (see the package documentation).
type Request struct {
	// Sock is the descriptor of the protocol socket in the init, where
	// the bootstrap writes its pid and error frames.
	Sock int
	// Join lists the namespaces to join, in order.
	Join []Join
	// Unshare are the CLONE_NEW* flags of the namespaces to create once
	// joined.
	Unshare uintptr
	// Exec makes the bootstrap finish the process itself, from the
	// ExecPlan the parent sends next, instead of returning to the Go
	// runtime.
	Exec bool
}

// Env returns the request as the "NAME=value" environment entry the
// bootstrap reads.
func (r *Request) Env() string {
	var b strings.Builder
	b.WriteString(EnvName + "=")
	b.WriteString(strconv.Itoa(r.Sock))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(uint64(r.Unshare), 10))
	if r.Exec {
		b.WriteString(" 1")
	} else {
		b.WriteString(" 0")
	}
	for _, j := range r.Join {
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(j.FD))
		b.WriteByte(':')
		b.WriteString(strconv.FormatUint(uint64(j.Type), 10))
	}
	return b.String()
}

// Forks reports whether the bootstrap forks: when it joins or creates a pid
// namespace. The parent then reads the child's pid frame first.
func (r *Request) Forks() bool {
	flags := r.Unshare
	for _, j := range r.Join {
		flags |= j.Type
	}
	return flags&unix.CLONE_NEWPID != 0
}
