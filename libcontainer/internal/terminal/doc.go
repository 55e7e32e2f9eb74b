// Package terminal gives a container's process a pseudo-terminal when
// process.terminal is true, and carries the terminal's master end to
// whoever drives it.
//
// # What
//
// The init side, [Setup], runs inside the container after pivot_root: it
// allocates a pty from the container's own devpts instance, binds the
// slave over /dev/console, makes the slave the process's stdin, stdout,
// stderr and controlling terminal, and returns the master. For berth exec,
// [OpenExec] allocates the pty from outside, in the devpts below the
// container's root directory (openat2 RESOLVE_IN_ROOT), and /dev/console
// stays the init's: the bootstrap makes the slave the exec'd process's
// controlling terminal. The master then
// travels to the parent with [SendFd] and [RecvFd], and from the parent
// either to the caller's --console-socket ([SendToConsoleSocket], one
// SCM_RIGHTS message whose data is the master's name, as runc sends it) or
// to a [Proxy], which wires the master to the caller's own terminal for a
// foreground container.
//
// # How (kernel interfaces)
//
// The pty comes from /dev/pts/ptmx, opened as an O_PATH handle without
// following symlinks (openat2(2) RESOLVE_NO_SYMLINKS), checked to be the
// ptmx node of a real devpts mount (fstatfs(2) DEVPTS_SUPER_MAGIC, device
// 5:2, inode 2) and only then reopened read-write, so a hostile image
// cannot make the init open another device (CVE-2025-52565). The slave is
// taken with ioctl(2) TIOCGPTPEER (Linux 4.13), with TIOCGPTN and a checked
// open of /dev/pts/N as the fallback. /dev/console is resolved the same way
// and the slave is bind-mounted onto that descriptor with open_tree(2) and
// move_mount(2) (mount(2) through /proc/thread-self/fd on older kernels).
// The terminal's controls are termios(3) ioctls (TCGETS, TCSETS,
// TIOCGWINSZ, TIOCSWINSZ, TIOCSCTTY, TIOCSPTLCK) and descriptors cross
// processes as SCM_RIGHTS messages on AF_UNIX sockets (unix(7)).
//
// # When not to use it
//
// Setup changes the calling process's mounts, its stdio and its session's
// controlling terminal: call it only from a container's init (or the
// process of an exec), after pivot_root and setsid(2), on the thread that
// holds the container's mount namespace. Do not use it to give berth
// itself a terminal. Proxy is for a foreground process whose caller sits
// at a terminal (or pipes); a detached container hands its master to the
// console socket instead and berth keeps no copy.
package terminal
