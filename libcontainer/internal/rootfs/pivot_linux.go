package rootfs

import (
	"errors"
	"os"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// pivotRoot makes root the process's root with pivot_root(".", "."): the
// old root ends up stacked on top of the new one at "/", where it is made
// rslave (so the detach does not propagate to the host) and detached. No
// directory for the old root is needed inside the rootfs, which may be
// read-only.
func pivotRoot(root *os.File) error {
	oldroot, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: "/", Err: err}
	}
	defer unix.Close(oldroot)
	if err := unix.Fchdir(int(root.Fd())); err != nil {
		return &os.PathError{Op: "chdir", Path: root.Name(), Err: err}
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return &MountError{Op: "pivot_root", Source: root.Name(), Target: ".", Err: err}
	}
	if err := unix.Fchdir(oldroot); err != nil {
		return &os.PathError{Op: "chdir", Path: "old root", Err: err}
	}
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return &MountError{Op: "mount", Target: "old root", Flags: unix.MS_SLAVE | unix.MS_REC, Err: err}
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return &MountError{Op: "umount2", Target: "old root", Flags: unix.MNT_DETACH, Err: err}
	}
	if err := unix.Chdir("/"); err != nil {
		return &os.PathError{Op: "chdir", Path: "/", Err: err}
	}
	return nil
}

// moveRoot is the --no-pivot path, for a rootfs on the initramfs where
// pivot_root is refused: move the rootfs onto "/" and chroot into it. The
// old root stays in the mount namespace, so the host's procfs and sysfs
// mounts are detached (or covered) first: the kernel lets a process mount a
// new procfs only if a fully visible one exists in its namespace, and a
// chrooted container must not get that from the host's (runc's no_pivot
// "must not expose bare /proc" test).
func moveRoot(rootfs string, root *os.File) error {
	if err := hideHostProcSys(rootfs); err != nil {
		return err
	}
	if err := unix.Fchdir(int(root.Fd())); err != nil {
		return &os.PathError{Op: "chdir", Path: rootfs, Err: err}
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return &MountError{Op: "mount", Source: rootfs, Target: "/", Flags: unix.MS_MOVE, Err: err}
	}
	if err := unix.Chroot("."); err != nil {
		return &os.PathError{Op: "chroot", Path: rootfs, Err: err}
	}
	if err := unix.Chdir("/"); err != nil {
		return &os.PathError{Op: "chdir", Path: "/", Err: err}
	}
	return nil
}

// hideHostProcSys detaches every full procfs and sysfs mount outside the
// rootfs, or covers it with an empty tmpfs when detaching is not allowed.
func hideHostProcSys(rootfs string) error {
	mounts, err := mountinfo.GetMounts(func(i *mountinfo.Info) (skip, stop bool) {
		inside := i.Mountpoint == rootfs || strings.HasPrefix(i.Mountpoint, rootfs+"/")
		return i.Root != "/" || (i.FSType != "proc" && i.FSType != "sysfs") || inside, false
	})
	if err != nil {
		return err
	}
	for _, m := range mounts {
		p := m.Mountpoint
		// Keep the detach from propagating to the host.
		if err := unix.Mount("", p, "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) {
				continue // under a mount detached earlier in this loop
			}
			return &MountError{Op: "mount", Target: p, Flags: unix.MS_SLAVE | unix.MS_REC, Err: err}
		}
		err := unix.Unmount(p, unix.MNT_DETACH)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EPERM) {
			// Locked in a user namespace: cover it instead.
			err = unix.Mount("tmpfs", p, "tmpfs", 0, "")
		}
		if err != nil {
			return &MountError{Op: "umount2", Target: p, Flags: unix.MNT_DETACH, Err: err}
		}
	}
	return nil
}
