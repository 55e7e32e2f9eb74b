package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// mount mounts cfg.Mounts[i].
func (s *setup) mount(i int, m *configs.Mount) error {
	if m.Destination == "" || m.Destination[0] != '/' {
		// runc accepts relative destinations (relative to "/") with a
		// warning; the OCI spec says they are to be rejected eventually.
		s.log.Warn("mount destination is not absolute, taking it relative to /", "destination", m.Destination)
	}
	if i < len(s.opts.MountSources) && s.opts.MountSources[i] != nil {
		return s.mountTree(m, s.opts.MountSources[i])
	}
	switch {
	case isBind(m):
		return s.mountBind(m)
	case m.Device == "cgroup":
		return s.mountCgroup(m)
	case m.Device == "tmpfs":
		return s.mountTmpfs(m)
	case m.Device == "sysfs" && s.userns && !s.cfg.Namespaces.Contains(configs.NEWNET):
		// sysfs may only be mounted by the owner of the network namespace:
		// without its own netns, a container in a user namespace gets the
		// host's /sys, recursively, as runc does.
		return s.mountBind(sysfsBind(m))
	}
	return s.mountFS(m)
}

// sysfsBind is the rbind of the host's /sys that replaces sysfs mount m.
func sysfsBind(m *configs.Mount) *configs.Mount {
	b := *m
	b.Source, b.Device = "/sys", "bind"
	b.Flags |= unix.MS_BIND | unix.MS_REC
	return &b
}

// mountFS mounts a filesystem (proc, sysfs, devpts, mqueue, overlay, ...)
// with one mount(2) call onto the resolved destination.
func (s *setup) mountFS(m *configs.Mount) error {
	dest := cleanPath(m.Destination)
	var (
		dst *os.File
		err error
	)
	if m.Device == "proc" || m.Device == "sysfs" {
		dst, err = mkdirStrict(s.root, dest)
	} else {
		dst, _, err = mkdirInRoot(s.root, dest)
	}
	if err != nil {
		return err
	}
	defer dst.Close()
	if m.Device != "proc" {
		if err := checkProcTarget(dst, dest, false); err != nil {
			return err
		}
	}
	flags := uintptr(mountFlags(m))
	data := s.opts.MountLabel.labelData(m.Device, m.Data)
	if err := unix.Mount(m.Source, procFd(dst), m.Device, flags, data); err != nil {
		if m.Device == "sysfs" && s.userns && errors.Is(err, unix.EPERM) {
			// The joined netns belongs to another user namespace.
			return s.mountBind(sysfsBind(m))
		}
		return &MountError{Op: "mount", Source: m.Source, Target: dest, Device: m.Device, Flags: flags, Data: data, Err: err}
	}
	if m.Device == "mqueue" {
		if err := s.labelMountRoot(dest); err != nil {
			return err
		}
	}
	return s.afterMount(m, dest)
}

// labelMountRoot labels the root of the mount now at dest with the mount
// label, for a filesystem that takes no context= option (mqueue), as runc
// does after mounting it.
func (s *setup) labelMountRoot(dest string) error {
	if s.opts.MountLabel.File == nil {
		return nil
	}
	f, err := openInRoot(s.root, dest, unix.O_PATH)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.opts.MountLabel.labelFile(f, dest)
}

// mountFlags returns the flags m is first mounted with. /dev stays writable
// until Finalize: the device nodes and symlinks are created in it first.
func mountFlags(m *configs.Mount) int {
	if cleanPath(m.Destination) == "/dev" {
		return m.Flags &^ unix.MS_RDONLY
	}
	return m.Flags
}

// checkProcTarget refuses a mount of anything but procfs over /proc, and of
// anything onto a file inside a procfs, except the lxcfs files.
// srcIsProc says whether the mount's source is itself procfs.
func checkProcTarget(dst *os.File, dest string, srcIsProc bool) error {
	if dest == "/proc" {
		if !srcIsProc {
			return fmt.Errorf("mount destination /proc: only procfs may be mounted there")
		}
		return nil
	}
	t, err := fsType(dst)
	if err != nil {
		return err
	}
	return checkProcDest(dest, t == unix.PROC_SUPER_MAGIC)
}

// mountBind bind-mounts the host path m.Source: open_tree clones it as a
// detached tree, mount_setattr gives the tree the requested flags, and
// move_mount attaches it. The flags are in place before the mount is
// visible, and the destination is walked once.
func (s *setup) mountBind(m *configs.Mount) error {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if m.Flags&unix.MS_REC != 0 {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, m.Source, flags)
	if err != nil {
		return &MountError{Op: "open_tree", Source: m.Source, Target: cleanPath(m.Destination), Flags: uintptr(flags), Err: err}
	}
	tree := os.NewFile(uintptr(fd), m.Source)
	defer tree.Close()
	return s.mountTree(m, tree)
}

// mountTree attaches the detached tree (the source of bind mount m) at
// m.Destination with m's flags.
func (s *setup) mountTree(m *configs.Mount, tree *os.File) error {
	dest := cleanPath(m.Destination)
	mode, err := fileMode(tree)
	if err != nil {
		return err
	}
	var dst *os.File
	if mode&unix.S_IFMT == unix.S_IFDIR {
		dst, _, err = mkdirInRoot(s.root, dest)
	} else {
		dst, err = createFileInRoot(s.root, dest)
	}
	if err != nil {
		return err
	}
	defer dst.Close()
	srcType, err := fsType(tree)
	if err != nil {
		return err
	}
	if err := checkProcTarget(dst, dest, srcType == unix.PROC_SUPER_MAGIC); err != nil {
		return err
	}
	if attr, ok := bindAttr(mountFlags(m), m.ClearedFlags); ok {
		if err := setattrKeepLocked(tree, attr, m.ClearedFlags, m.Source, dest); err != nil {
			return err
		}
	}
	if err := moveMount(tree, dst, m.Source, dest); err != nil {
		return err
	}
	return s.afterMount(m, dest)
}

// setattrKeepLocked applies attr to the detached tree. In a user namespace
// the kernel refuses (EPERM) to clear flags it locked on mounts inherited
// from the host; the retry keeps the source's flags, like mount(8) does,
// unless the config explicitly asked to clear one of them.
func setattrKeepLocked(tree *os.File, attr unix.MountAttr, cleared int, source, dest string) error {
	err := unix.MountSetattr(int(tree.Fd()), "", unix.AT_EMPTY_PATH, &attr)
	if errors.Is(err, unix.EPERM) {
		var st unix.Statfs_t
		if serr := unix.Fstatfs(int(tree.Fd()), &st); serr != nil {
			return &os.PathError{Op: "statfs", Path: source, Err: serr}
		}
		if retry, ok := keepLocked(attr, statfsAttr(st.Flags), cleared); ok {
			attr = retry
			err = unix.MountSetattr(int(tree.Fd()), "", unix.AT_EMPTY_PATH, &attr)
		}
	}
	if err != nil {
		return &MountError{Op: "mount_setattr", Source: source, Target: dest, Flags: uintptr(attr.Attr_set), Err: err}
	}
	return nil
}

// moveMount attaches the detached tree onto dst.
func moveMount(tree, dst *os.File, source, dest string) error {
	const flags = unix.MOVE_MOUNT_F_EMPTY_PATH | unix.MOVE_MOUNT_T_EMPTY_PATH
	if err := unix.MoveMount(int(tree.Fd()), "", int(dst.Fd()), "", flags); err != nil {
		return &MountError{Op: "move_mount", Source: source, Target: dest, Err: err}
	}
	return nil
}

// afterMount applies m's propagation flags, one by one, and its recursive
// attributes to the mount now at dest. The destination is opened again: the
// handle used to mount names the directory underneath, not the new mount.
func (s *setup) afterMount(m *configs.Mount, dest string) error {
	if len(m.PropagationFlags) == 0 && m.RecAttr == nil {
		return nil
	}
	f, err := openInRoot(s.root, dest, unix.O_PATH)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range m.PropagationFlags {
		if err := unix.Mount("", procFd(f), "", uintptr(p), ""); err != nil {
			return &MountError{Op: "mount", Target: dest, Flags: uintptr(p), Err: err}
		}
	}
	if m.RecAttr != nil {
		attr := unix.MountAttr{Attr_set: m.RecAttr.AttrSet, Attr_clr: m.RecAttr.AttrClr, Propagation: m.RecAttr.Propagation}
		if err := unix.MountSetattr(int(f.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			return &MountError{Op: "mount_setattr", Target: dest, Flags: uintptr(attr.Attr_set), Err: err}
		}
	}
	return nil
}

// mountTmpfs mounts a tmpfs. Over an existing directory, and unless the data
// sets mode=, the tmpfs takes the directory's mode.
func (s *setup) mountTmpfs(m *configs.Mount) error {
	dest := cleanPath(m.Destination)
	dst, existed, err := mkdirInRoot(s.root, dest)
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := checkProcTarget(dst, dest, false); err != nil {
		return err
	}
	var perm os.FileMode
	if existed {
		mode, err := fileMode(dst)
		if err != nil {
			return err
		}
		perm = unixPerm(mode)
	}
	data := tmpfsData(s.opts.MountLabel.labelData("tmpfs", m.Data), existed, perm)
	flags := mountFlags(m)
	if m.Extensions&configs.EXT_COPYUP != 0 {
		err = tmpfsCopyUp(m.Source, dst, dest, flags, data)
	} else if err = unix.Mount(m.Source, procFd(dst), "tmpfs", uintptr(flags), data); err != nil {
		err = &MountError{Op: "mount", Source: m.Source, Target: dest, Device: "tmpfs", Flags: uintptr(flags), Data: data, Err: err}
	}
	if err != nil {
		return err
	}
	return s.afterMount(m, dest)
}

// unixPerm converts st_mode permission bits to an os.FileMode.
func unixPerm(mode uint32) os.FileMode {
	perm := os.FileMode(mode & 0o777)
	if mode&unix.S_ISVTX != 0 {
		perm |= os.ModeSticky
	}
	if mode&unix.S_ISGID != 0 {
		perm |= os.ModeSetgid
	}
	if mode&unix.S_ISUID != 0 {
		perm |= os.ModeSetuid
	}
	return perm
}
