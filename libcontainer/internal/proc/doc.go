// Package proc holds the small steps the container's init process takes to
// set up its own credentials, limits and environment right before execve:
// user and group lookup in the container's /etc/passwd and /etc/group, the
// switch to that user, resource limits, sysctls, no_new_privs, the session
// keyring, the environment and the lookup of the program to run.
//
// Everything here acts on the calling process, and expects to run inside the
// container: in its namespaces, after pivot_root (so "/" is the container's
// root filesystem), as the container's root. The kernel interfaces are
// setgroups(2), setresgid(2), setresuid(2) (through package syscall, which
// applies them to every thread of the process), setrlimit(2), prctl(2)
// (PR_SET_KEEPCAPS, PR_SET_NO_NEW_PRIVS: per thread), keyctl(2) and writes
// to /proc/sys and /proc/self opened through a verified procfs handle
// (github.com/cyphar/filepath-securejoin/pathrs-lite/procfs).
//
// The per-thread steps (SetupUser's PR_SET_KEEPCAPS, SetNoNewPrivs) must run
// on the OS thread that calls execve: lock it with runtime.LockOSThread
// first.
//
// Do not use this package on the host side of a container, or in a process
// that must keep its identity: SetupUser and SetNoNewPrivs cannot be undone.
package proc
