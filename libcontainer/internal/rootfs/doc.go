// Package rootfs builds a container's root filesystem from inside the
// container's init process and makes it the process's root.
//
// # What
//
// [Setup] runs in the init process, which is already in its new mount
// namespace (and maybe a new, mapped user namespace), on a goroutine locked
// to its OS thread, before the hostname and sysctls are set. In order it:
//
//  1. sets the propagation of "/" (rslave unless the config says otherwise)
//     and makes the mount that holds the rootfs private (or slave), so that
//     nothing below leaks to the host;
//  2. bind-mounts the rootfs onto itself and opens it once: every later
//     destination is resolved from that handle;
//  3. mounts the configured mounts in order (bind/rbind, tmpfs, proc, sysfs,
//     devpts, mqueue, cgroup v1/v2, overlay and any other type), applying
//     per-mount propagation and recursive attributes after each;
//  4. unless /dev is a bind mount, creates the device nodes, the /dev
//     symlinks (fd, stdin, stdout, stderr, core) and /dev/ptmx -> pts/ptmx;
//  5. runs the createContainer hook point ([Options.BeforePivot]);
//  6. pivot_root(".", ".") and detaches the old root (or, with
//     NoPivotRoot, hides the host's procfs and sysfs, moves the rootfs onto
//     "/" and chroots), then applies rootfsPropagation to the new "/".
//
// [Finalize] runs after the hostname and sysctls are set: read-only paths,
// masked paths, a read-only /dev if asked, then the read-only root.
//
// # How (kernel interfaces)
//
// Paths inside the rootfs are never joined as strings: they are resolved
// with openat2(2) RESOLVE_IN_ROOT (through pathrs-lite) from the rootfs
// handle, and mounts are made onto the resulting O_PATH descriptors, so a
// symlink in the image (for example /etc -> /) cannot send a mount outside
// the rootfs (CVE-2021-30465). Bind mounts use the new mount API:
// open_tree(2) with OPEN_TREE_CLONE, mount_setattr(2) to set the requested
// flags on the detached tree (keeping flags the kernel locked in a user
// namespace), then move_mount(2) onto the destination descriptor: no
// remount window and no second path walk. tmpcopyup builds the tmpfs with
// fsopen(2)/fsmount(2), fills it while it is still detached and moves it in.
// Other filesystems are mounted with one mount(2) call whose target is
// /proc/thread-self/fd/N. Devices are made with mknodat(2), or bind-mounted
// from the host in a user namespace (or when mknod fails with EPERM).
// The root is switched with pivot_root(2).
//
// # When not to use it
//
// Only the container's init process may call Setup and Finalize: they
// change the calling process's mount namespace, root and working directory,
// and they assume that namespace is private to the container. Do not call
// them from a process that shares its mount namespace with the host, nor
// for "exec" into a running container (its rootfs is already set up).
// Mounts that need host privileges the init lacks (idmapped mounts, sources
// the user namespace cannot reach) must be opened by the parent and passed
// in through [Options.MountSources].
package rootfs
