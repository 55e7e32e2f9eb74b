package rootfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// tmpfsCopyUp mounts a tmpfs at dst holding a copy of what it hides
// ("tmpcopyup"). The tmpfs is built detached with fsopen/fsmount, filled
// while nobody can see it, given its final flags, then moved onto dst: no
// scratch directory on the host, no window with a half-filled mount.
func tmpfsCopyUp(source string, dst *os.File, dest string, flags int, data string) error {
	mnt, err := newTmpfs(flags&^unix.MS_RDONLY, data)
	if err != nil {
		return &MountError{Op: "fsmount", Source: source, Target: dest, Device: "tmpfs", Flags: uintptr(flags), Data: data, Err: err}
	}
	defer mnt.Close()
	src, err := reopenDir(dst)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := copyOwner(src, mnt); err != nil {
		return fmt.Errorf("tmpcopyup %s: %w", dest, err)
	}
	if err := copyDir(src, mnt); err != nil {
		return fmt.Errorf("tmpcopyup %s: %w", dest, err)
	}
	if flags&unix.MS_RDONLY != 0 {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(int(mnt.Fd()), "", unix.AT_EMPTY_PATH, &attr); err != nil {
			return &MountError{Op: "mount_setattr", Target: dest, Flags: unix.MOUNT_ATTR_RDONLY, Err: err}
		}
	}
	return moveMount(mnt, dst, source, dest)
}

// newTmpfs creates a detached tmpfs with the given MS_* flags and data.
func newTmpfs(flags int, data string) (*os.File, error) {
	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fsfd)
	for _, o := range dataOptions(data) {
		if k, v, ok := strings.Cut(o, "="); ok {
			// fsconfig(2) takes the value alone: the quotes that
			// protect commas in mount(2) data are not part of it.
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			err = unix.FsconfigSetString(fsfd, k, v)
		} else {
			err = unix.FsconfigSetFlag(fsfd, o)
		}
		if err != nil {
			return nil, fmt.Errorf("option %s: %w", o, err)
		}
	}
	for _, sb := range [...]struct {
		ms  int
		key string
	}{{unix.MS_SYNCHRONOUS, "sync"}, {unix.MS_DIRSYNC, "dirsync"}, {unix.MS_LAZYTIME, "lazytime"}} {
		if flags&sb.ms != 0 {
			if err := unix.FsconfigSetFlag(fsfd, sb.key); err != nil {
				return nil, fmt.Errorf("option %s: %w", sb.key, err)
			}
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, err
	}
	fd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, int(msToAttr(flags)))
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "tmpfs"), nil
}

// msToAttr converts MS_* flags to the MOUNT_ATTR_* flags of fsmount(2).
func msToAttr(flags int) uint64 {
	var attr uint64
	for _, f := range attrPlain() {
		if flags&f.ms != 0 {
			attr |= f.attr
		}
	}
	switch {
	case flags&unix.MS_NOATIME != 0:
		attr |= unix.MOUNT_ATTR_NOATIME
	case flags&unix.MS_STRICTATIME != 0:
		attr |= unix.MOUNT_ATTR_STRICTATIME
	}
	if flags&unix.MS_NODIRATIME != 0 {
		attr |= unix.MOUNT_ATTR_NODIRATIME
	}
	return attr
}

// reopenDir opens the directory behind O_PATH handle f for reading.
func reopenDir(f *os.File) (*os.File, error) {
	fd, err := unix.Openat(int(f.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: f.Name(), Err: err}
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// copyOwner gives directory dst the owner of directory src.
func copyOwner(src, dst *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &st); err != nil {
		return &os.PathError{Op: "stat", Path: src.Name(), Err: err}
	}
	if err := unix.Fchownat(int(dst.Fd()), "", int(st.Uid), int(st.Gid), unix.AT_EMPTY_PATH); err != nil {
		return &os.PathError{Op: "chown", Path: "/", Err: err}
	}
	return nil
}

// copyDir copies the content of directory src (opened for reading) into
// directory dst (any handle), keeping types, modes, owners, times and
// symlinks. Every step is relative to a descriptor and never follows a
// symlink, so the image cannot redirect the copy.
func copyDir(src, dst *os.File) error {
	entries, err := src.ReadDir(-1)
	if err != nil {
		return err
	}
	sfd, dfd := int(src.Fd()), int(dst.Fd())
	for _, e := range entries {
		name := e.Name()
		var st unix.Stat_t
		if err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "stat", Path: name, Err: err}
		}
		if err := copyEntry(sfd, dfd, name, &st); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := unix.Fchownat(dfd, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "chown", Path: name, Err: err}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			// After chown, which clears set-id bits.
			if err := unix.Fchmodat(dfd, name, st.Mode&0o7777, 0); err != nil {
				return &os.PathError{Op: "chmod", Path: name, Err: err}
			}
		}
		ts := []unix.Timespec{st.Atim, st.Mtim}
		if err := unix.UtimesNanoAt(dfd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "utimes", Path: name, Err: err}
		}
	}
	return nil
}

// copyEntry creates dst/name as a copy of src/name, recursing into
// directories.
func copyEntry(sfd, dfd int, name string, st *unix.Stat_t) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := unix.Mkdirat(dfd, name, 0o700); err != nil {
			return &os.PathError{Op: "mkdir", Path: name, Err: err}
		}
		sub, err := openAt(sfd, name, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return err
		}
		defer sub.Close()
		dsub, err := openAt(dfd, name, unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return err
		}
		defer dsub.Close()
		return copyDir(sub, dsub)
	case unix.S_IFREG:
		in, err := openAt(sfd, name, unix.O_RDONLY)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := openAt(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		return err
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(sfd, name, buf)
		if err != nil {
			return &os.PathError{Op: "readlink", Path: name, Err: err}
		}
		if err := unix.Symlinkat(string(buf[:n]), dfd, name); err != nil {
			return &os.PathError{Op: "symlink", Path: name, Err: err}
		}
		return nil
	default:
		if err := unix.Mknodat(dfd, name, st.Mode, int(st.Rdev)); err != nil {
			return &os.PathError{Op: "mknod", Path: name, Err: err}
		}
		return nil
	}
}

// openAt opens name in directory dirfd without following a final symlink.
func openAt(dirfd int, name string, flags int) (*os.File, error) {
	fd, err := unix.Openat(dirfd, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			err = fmt.Errorf("%w (a symlink appeared during the copy)", err)
		}
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}
