package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// Finalize runs after the hostname and sysctls are set: readonly paths, masked
// paths, then the read-only root (cfg.Readonlyfs), as runc orders them.
// A /dev mount configured read-only is made read-only here too (it stayed
// writable for the device nodes). It must run after Setup, in the new root.
//
// Paths are resolved in the new root by descriptor and mounts are made
// with open_tree/move_mount/mount_setattr, without going through the
// container's /proc: that procfs is the container's own, and a missing or
// odd one must not change what gets masked (CVE-2025-52881 class).
func Finalize(cfg *configs.Config) error { return FinalizeWith(cfg, Options{}) }

// FinalizeWith is Finalize with Setup's options: their MountLabel labels
// the tmpfs of masked directories, as runc's maskPath does.
func FinalizeWith(cfg *configs.Config, opts Options) error {
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open root: %w", err)
	}
	defer root.Close()
	for _, p := range cfg.ReadonlyPaths {
		if err := readonlyPath(root, p); err != nil {
			return fmt.Errorf("readonly path %s: %w", p, err)
		}
	}
	if len(cfg.MaskPaths) > 0 {
		mk := masker{root: root, data: opts.MountLabel.labelData("tmpfs", "")}
		defer mk.close()
		for _, p := range cfg.MaskPaths {
			if err := mk.mask(p); err != nil {
				return fmt.Errorf("mask path %s: %w", p, err)
			}
		}
	}
	for _, m := range cfg.Mounts {
		if cleanPath(m.Destination) == "/dev" {
			if m.Flags&unix.MS_RDONLY != 0 {
				if err := setReadonly(root, "/dev"); err != nil {
					return err
				}
			}
			break
		}
	}
	if cfg.Readonlyfs && !cfg.Namespaces.Contains(configs.NEWNS) {
		// The root is then a directory of a host mount: making it
		// read-only would make that host mount read-only.
		return errors.New("root.readonly: needs a mount namespace")
	}
	if cfg.Readonlyfs {
		return setReadonly(root, "/")
	}
	return nil
}

// openExisting opens p in root, reporting (nil, nil) when it does not exist.
func openExisting(root *os.File, p string) (*os.File, error) {
	f, err := openInRoot(root, p, unix.O_PATH)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return nil, nil
	}
	return f, err
}

// readonlyPath binds p onto itself, read-only; a missing p is skipped.
// Only the top mount becomes read-only, as runc's remount does.
func readonlyPath(root *os.File, p string) error {
	dst, err := openExisting(root, p)
	if dst == nil {
		return err
	}
	defer dst.Close()
	fd, err := unix.OpenTree(int(dst.Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_EMPTY_PATH)
	if err != nil {
		return &MountError{Op: "open_tree", Source: p, Target: p, Err: err}
	}
	tree := os.NewFile(uintptr(fd), p)
	defer tree.Close()
	// Setting a flag is always allowed, even on a mount locked in a user
	// namespace: only clearing one is not. No retry needed.
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return &MountError{Op: "mount_setattr", Target: p, Flags: unix.MOUNT_ATTR_RDONLY, Err: err}
	}
	return moveMount(tree, dst, p, p)
}

// setReadonly makes the mount at p read-only, keeping its other flags.
func setReadonly(root *os.File, p string) error {
	f, err := openInRoot(root, p, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer f.Close()
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(int(f.Fd()), "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return &MountError{Op: "mount_setattr", Target: p, Flags: unix.MOUNT_ATTR_RDONLY, Err: err}
	}
	return nil
}

// masker hides paths: files get a bind of /dev/null, directories a
// read-only tmpfs. All masked directories share one tmpfs superblock.
type masker struct {
	root *os.File
	// null is an O_PATH handle on the container's /dev/null, verified to be
	// the null device, opened on first use.
	null *os.File
	// tmpfs is the read-only tmpfs on the first masked directory, cloned
	// onto the others.
	tmpfs *os.File
	// data is the tmpfs's mount data: the mount label, if any.
	data string
}

func (mk *masker) close() {
	if mk.null != nil {
		mk.null.Close()
	}
	if mk.tmpfs != nil {
		mk.tmpfs.Close()
	}
}

// mask hides p; a missing p is skipped silently, as runc does.
func (mk *masker) mask(p string) error {
	dst, err := openExisting(mk.root, p)
	if dst == nil {
		return err
	}
	defer dst.Close()
	mode, err := fileMode(dst)
	if err != nil {
		return err
	}
	if mode&unix.S_IFMT == unix.S_IFDIR {
		return mk.maskDir(dst, p)
	}
	if mk.null == nil {
		if mk.null, err = openDevNull(mk.root); err != nil {
			return err
		}
	}
	return cloneOnto(mk.null, dst, p)
}

// maskDir mounts the shared read-only tmpfs on directory dst. The first
// one is created detached and moved there; later ones are clones of that
// attached mount (cloning a still-detached mount needs Linux 6.15).
func (mk *masker) maskDir(dst *os.File, p string) error {
	if mk.tmpfs != nil {
		return cloneOnto(mk.tmpfs, dst, p)
	}
	t, err := newTmpfs(unix.MS_RDONLY, mk.data)
	if err != nil {
		return &MountError{Op: "fsmount", Source: "tmpfs", Target: p, Device: "tmpfs", Flags: unix.MS_RDONLY, Data: mk.data, Err: err}
	}
	defer t.Close()
	if err := moveMount(t, dst, "tmpfs", p); err != nil {
		return err
	}
	mk.tmpfs, err = openInRoot(mk.root, p, unix.O_PATH|unix.O_DIRECTORY)
	return err
}

// cloneOnto binds the file or mount behind src onto dst.
func cloneOnto(src, dst *os.File, p string) error {
	fd, err := unix.OpenTree(int(src.Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return &MountError{Op: "open_tree", Source: src.Name(), Target: p, Err: err}
	}
	tree := os.NewFile(uintptr(fd), src.Name())
	defer tree.Close()
	return moveMount(tree, dst, src.Name(), p)
}

// openDevNull opens the container's /dev/null and checks it is the null
// device: the container can create /dev before Finalize, and a symlink or
// another file there would be bound over the masked paths, unmasking them
// or exposing the target (CVE-2025-31133).
func openDevNull(root *os.File) (*os.File, error) {
	dir, err := openInRoot(root, "/dev", unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	fd, err := unix.Openat(int(dir.Fd()), "null", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: "/dev/null", Err: err}
	}
	f := os.NewFile(uintptr(fd), "/dev/null")
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "stat", Path: "/dev/null", Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		f.Close()
		return nil, errors.New("/dev/null is not the null device (1:3)")
	}
	return f, nil
}
