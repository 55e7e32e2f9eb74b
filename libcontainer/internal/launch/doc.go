// Package launch starts a container's init process and drives it through
// setup: both ends of the two-step creation live here, the parent side
// (Start, run by berth create and run) and the init side (Main, run by the
// re-executed binary as "berth init").
//
// The parent forks exactly once: a re-exec of its own binary, read through a
// read-only bind mount in a private mount namespace so that the container can
// never write to it (CVE-2019-5736). The kernel creates the new namespaces and
// writes the ID maps at clone time (syscall.SysProcAttr); the init process
// then prepares the root filesystem, the process's credentials and limits,
// and waits on the exec fifo until berth start releases it to execve.
//
// The protocol between the two ends is declared once, in protocol.go.
//
// Namespaces given by path are joined by the forking thread when a thread
// of a multi-threaded process may join them (ipc, uts, net, pid, cgroup),
// and otherwise by the bootstrap in the init before the Go runtime starts
// (libcontainer/nsenter): a user namespace, with everything after it, the
// time namespace and the mount namespace (setns_linux.go says who does
// what). A process executed into a running container (berth exec) takes
// the same path with Bootstrap.Exec: it joins every namespace of the
// container's init and sets up only the process itself (exec_linux.go).
package launch
