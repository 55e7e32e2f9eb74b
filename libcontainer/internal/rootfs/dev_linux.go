package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// populateDev creates the configured device nodes, the /dev symlinks and
// /dev/ptmx in the rootfs's /dev (usually the tmpfs mounted there).
func (s *setup) populateDev() error {
	// Device modes are exact: no umask (process-wide, but the init runs
	// nothing else meanwhile).
	old := unix.Umask(0)
	defer unix.Umask(old)
	s.euid, s.egid = os.Geteuid(), os.Getegid()
	// Devices mostly share /dev: open each parent directory once.
	dirs := map[string]*os.File{}
	defer func() {
		for _, f := range dirs {
			f.Close()
		}
	}()
	parent := func(dir string) (*os.File, error) {
		if f, ok := dirs[dir]; ok {
			return f, nil
		}
		f, _, err := mkdirInRoot(s.root, dir)
		if err == nil {
			dirs[dir] = f
		}
		return f, err
	}
	for _, d := range s.cfg.Devices {
		if d.Path == "" {
			continue // a cgroup rule without a node
		}
		if err := s.createDevice(d, parent); err != nil {
			return fmt.Errorf("create device %s: %w", d.Path, err)
		}
	}
	dev, err := parent("/dev")
	if err != nil {
		return err
	}
	return devLinks(dev)
}

// createDevice makes node d: mknod outside a user namespace, otherwise (or
// when mknod is refused) a bind mount of the host's node onto an empty file.
// parent returns the (cached) handle of a directory in the rootfs.
func (s *setup) createDevice(d *configs.Device, parent func(dir string) (*os.File, error)) error {
	mode, err := deviceMode(d)
	if err != nil {
		return err
	}
	dir, base := splitDest(d.Path)
	if base == "." {
		return errors.New("device path is the root")
	}
	pdir, err := parent(dir)
	if err != nil {
		return err
	}
	pfd := int(pdir.Fd())
	if !s.userns {
		err := unix.Mknodat(pfd, base, mode, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor))))
		switch {
		case err == nil:
			if int(d.UID) == s.euid && int(d.GID) == s.egid {
				return nil // already the node's owner: mknod used our ids
			}
			if err := unix.Fchownat(pfd, base, int(d.UID), int(d.GID), unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return &os.PathError{Op: "chown", Path: d.Path, Err: err}
			}
			return nil
		case errors.Is(err, unix.EEXIST):
			return nil
		case !errors.Is(err, unix.EPERM):
			return &os.PathError{Op: "mknod", Path: d.Path, Err: err}
		}
	}
	return bindDevice(pfd, base, d.Path)
}

// bindDevice bind-mounts the host's node at hostPath onto an empty file
// parent/base. The mount point must be a regular file: a symlink planted
// there by the image is refused rather than followed.
func bindDevice(pfd int, base, hostPath string) error {
	err := unix.Mknodat(pfd, base, unix.S_IFREG|0o644, 0)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return &os.PathError{Op: "mknod", Path: hostPath, Err: err}
	}
	fd, err := unix.Openat(pfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: hostPath, Err: err}
	}
	dst := os.NewFile(uintptr(fd), hostPath)
	defer dst.Close()
	mode, err := fileMode(dst)
	if err != nil {
		return err
	}
	if t := mode & unix.S_IFMT; t == unix.S_IFLNK || t == unix.S_IFDIR {
		return fmt.Errorf("device mount point %s is not a file", hostPath)
	}
	if err := unix.Mount(hostPath, procFd(dst), "", unix.MS_BIND, ""); err != nil {
		return &MountError{Op: "mount", Source: hostPath, Target: hostPath, Flags: unix.MS_BIND, Err: err}
	}
	return nil
}

// deviceMode returns the mknod(2) mode of d: its permissions and its type.
func deviceMode(d *configs.Device) (uint32, error) {
	mode := uint32(d.FileMode.Perm())
	switch d.Type {
	case configs.CharDevice:
		return mode | unix.S_IFCHR, nil
	case configs.BlockDevice:
		return mode | unix.S_IFBLK, nil
	case configs.FifoDevice:
		return mode | unix.S_IFIFO, nil
	}
	return 0, fmt.Errorf("device type %q cannot be created", rune(d.Type))
}

// devLinks creates the /dev symlinks a process expects (fd, stdin, stdout,
// stderr, core when the host has /proc/kcore) and replaces /dev/ptmx by a
// link to the devpts instance's ptmx. Existing links are kept.
func devLinks(dev *os.File) error {
	links := [][2]string{
		{"/proc/self/fd", "fd"},
		{"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"},
	}
	if hasKcore() {
		links = append(links, [2]string{"/proc/kcore", "core"})
	}
	dfd := int(dev.Fd())
	for _, l := range links {
		if err := unix.Symlinkat(l[0], dfd, l[1]); err != nil && !errors.Is(err, unix.EEXIST) {
			return &os.PathError{Op: "symlink", Path: "/dev/" + l[1], Err: err}
		}
	}
	if err := unix.Unlinkat(dfd, "ptmx", 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "remove", Path: "/dev/ptmx", Err: err}
	}
	if err := unix.Symlinkat("pts/ptmx", dfd, "ptmx"); err != nil {
		return &os.PathError{Op: "symlink", Path: "/dev/ptmx", Err: err}
	}
	return nil
}

// reopenDevNull points the stdio descriptors that refer to the host's
// /dev/null at the container's, once the root has switched, so that no
// descriptor keeps a handle on the host's /dev.
func reopenDevNull() error {
	fd, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: "/dev/null", Err: err}
	}
	defer unix.Close(fd)
	var null unix.Stat_t
	if err := unix.Fstat(fd, &null); err != nil {
		return &os.PathError{Op: "stat", Path: "/dev/null", Err: err}
	}
	if null.Mode&unix.S_IFMT != unix.S_IFCHR || null.Rdev != unix.Mkdev(1, 3) {
		return errors.New("/dev/null in the container is not the null device")
	}
	for std := range 3 {
		var st unix.Stat_t
		if err := unix.Fstat(std, &st); err != nil {
			continue // closed: nothing to replace
		}
		if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == null.Rdev {
			if err := unix.Dup3(fd, std, 0); err != nil {
				return &os.PathError{Op: "dup3", Path: "/dev/null", Err: err}
			}
		}
	}
	return nil
}
