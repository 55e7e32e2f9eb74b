// Package nsenter is the early bootstrap of "berth init": a C constructor
// (nsenter.c) that joins existing namespaces before the Go runtime starts,
// while the process still has a single thread. The kernel lets only a
// single-threaded process join a user namespace (setns(2): EINVAL) or a time
// namespace (EUSERS), and a Go program never is one once main runs.
//
// Import it for its side effect in every binary that starts containers;
// libcontainer's launch package does, so a program that uses libcontainer
// has it. It costs nothing to a process that was not asked: the constructor
// reads one environment variable and returns.
//
// # What it does
//
// Everything else is Go's: new namespaces and ID maps (syscall.SysProcAttr),
// cgroup placement, pidfds, joining the namespaces that a multi-threaded
// process may join. The bootstrap only
//
//  1. makes the process non-dumpable (a container's process must not
//     ptrace it while it holds berth's descriptors; execve undoes it);
//  2. joins the namespaces of the request in its order: berth puts the
//     user namespace first (the others may belong to it) and the mount
//     namespace last (it changes "/"); after joining a user namespace it
//     becomes that namespace's root, as runc does;
//  3. unshares the namespaces of the request's flags: the new namespaces
//     of a container that joins a user namespace must belong to it, so
//     they are created after the join;
//  4. forks when a pid namespace was joined or created, since setns(2)
//     and unshare(2) only move the caller's future children: the child is
//     cloned with CLONE_PARENT, so it is berth's own child and berth waits
//     for it directly; the process in between reports the child's pid and
//     exits.
//
// Then the Go runtime starts, in the child when there was a fork; or, for a
// process executed into a running container (berth exec), the bootstrap
// finishes it itself (exec.c), so that no Go runtime starts in it at all:
//
//  5. it reads the parent's ExecPlan from the socket (the parent decided
//     everything in it: user, environment, capability masks, the compiled
//     seccomp filter; it sets the rlimits and allocates the pty itself);
//  6. it applies the plan in the order of runc's setns init: session,
//     chroot, controlling terminal, session keyring, bounding set, cwd
//     (refused outside the root, CVE-2024-21626), stdio owner, LSM exec
//     labels (written through the host's /proc, opened before any join),
//     seccomp (early without no_new_privs), user, capabilities,
//     no_new_privs, program lookup in PATH, seccomp (late with
//     no_new_privs), umask;
//  7. it writes a ready frame and executes the program; the socket closes
//     on execve.
//
// # The request
//
// The parent sets one environment variable in the init's environment:
//
//	_BERTH_NSENTER=<sock> <unshare> <exec> <fd>:<type> <fd>:<type> ...
//
// all decimal: sock is the descriptor of the protocol socket to the parent
// (libcontainer/internal/launch), unshare the CLONE_NEW* flags to unshare
// (0 for none), exec 1 for a process to finish from an ExecPlan (0
// otherwise), and each fd:type pair a namespace file descriptor the init
// inherited and its CLONE_NEW* type, in the order to join. Request.Env
// builds it. The bootstrap closes each descriptor once joined.
//
// # What it writes back
//
// On the protocol socket, in the protocol's own framing (one JSON object a
// line; launch reads them):
//
//	{"kind":"pid","pid":<pid>}            the forked child's pid, as berth sees it
//	{"kind":"error","error":"nsenter: <step>: <strerror>"}
//
// and, finishing an exec'd process:
//
//	{"kind":"seccomp-listener"}           the filter's listener rides along (SCM_RIGHTS);
//	                                      the bootstrap waits for {"kind":"seccomp-done"}
//	{"kind":"ready"}                      just before execve
//	{"kind":"error","error":"<step>: <what>: <strerror>"}
//
// An error ends the process with status 1; berth reports it as the
// container start's error. When the bootstrap forks, the pid frame is the
// first thing on the socket: berth reads it before it sends anything, and
// the child writes nothing before it has read berth's first message.
//
// # When not to use it
//
// Only berth's init is meant to set the variable. A binary built without
// cgo gets a stub (Available is false): it can run containers that join no
// namespace that needs the bootstrap, and berth refuses the others with an
// error that says so.
package nsenter
