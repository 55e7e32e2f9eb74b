package rootfs

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// Options are what Setup needs beyond the config.
type Options struct {
	// WaitCgroup blocks until the parent has placed the process in its cgroup;
	// Setup calls it (once, lazily) before the first mount of type "cgroup" and
	// before returning. May be nil.
	WaitCgroup func() error
	// BeforePivot runs after all mounts and devices, before pivot_root (the
	// createContainer hook point). May be nil.
	BeforePivot func() error
	// Logger for warnings (e.g. a masked path that does not exist is skipped silently, as runc).
	// May be nil: warnings are then dropped.
	Logger *slog.Logger
	// MountSources holds, by index into cfg.Mounts, detached mount trees
	// (open_tree(2) OPEN_TREE_CLONE or fsmount(2) descriptors) that the
	// parent prepared: idmapped mounts, or bind sources the container's
	// user namespace cannot reach. A non-nil entry is treated as the bind
	// mount's source (flags, propagation and attributes still apply) and is
	// moved onto the destination instead of opening Mount.Source. Setup does
	// not close them. May be nil or shorter than cfg.Mounts.
	MountSources []*os.File
	// MountLabel applies the container's SELinux mount label
	// (cfg.MountLabel) to the filesystems it mounts; the zero value
	// applies none.
	MountLabel MountLabel
}

// setup is the state of one Setup call.
type setup struct {
	cfg  *configs.Config
	opts Options
	log  *slog.Logger
	// root is an O_PATH handle on the rootfs, opened after it was bound
	// onto itself: every destination is resolved from it.
	root *os.File
	// userns is true when the process is in a user namespace: mknod is
	// not allowed and host mounts carry locked flags.
	userns bool
	// cgroupWaited is set once WaitCgroup has been called.
	cgroupWaited bool
	// euid and egid own what mknod creates: a device node with these
	// owners needs no chown.
	euid, egid int
}

// Setup prepares the root filesystem of cfg and makes it the process's root:
// propagation of "/" (MS_SLAVE|MS_REC unless cfg.RootPropagation says otherwise, as runc's prepareRoot), bind
// the rootfs onto itself, mounts in order, default /dev (if no /dev mount
// is configured, runc still creates devices in the rootfs's /dev), devices
// (cfg.Devices: mknod, or bind from the host when in a user namespace or when mknod fails with EPERM),
// /dev symlinks (fd, stdin, stdout, stderr, core /proc/kcore if present) and /dev/ptmx -> pts/ptmx,
// then pivot_root (or MS_MOVE+chroot when cfg.NoPivotRoot), chdir("/").
//
// On error the mount namespace is left half-built; it dies with the init
// process, so nothing leaks to the host.
func Setup(cfg *configs.Config, opts Options) error {
	s := &setup{
		cfg:    cfg,
		opts:   opts,
		log:    opts.Logger,
		userns: cfg.Namespaces.Contains(configs.NEWUSER) || inUserNS(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if !s.hostNS() {
		if err := prepareRoot(cfg); err != nil {
			return err
		}
	}
	root, err := os.OpenFile(cfg.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer root.Close()
	s.root = root

	for i, m := range cfg.Mounts {
		if err := s.mount(i, m); err != nil {
			return fmt.Errorf("mounts[%d]: %w", i, err)
		}
	}
	setupDev := needsSetupDev(cfg.Mounts)
	if setupDev {
		if err := s.populateDev(); err != nil {
			return err
		}
	}
	if err := s.waitCgroup(); err != nil {
		return err
	}
	if opts.BeforePivot != nil {
		if err := opts.BeforePivot(); err != nil {
			return fmt.Errorf("before pivot_root: %w", err)
		}
	}
	if err := s.switchRoot(); err != nil {
		return err
	}
	if setupDev {
		if err := reopenDevNull(); err != nil {
			return err
		}
	}
	return nil
}

// prepareRoot sets the propagation of "/", makes the mount holding the
// rootfs private (so neither the self-bind below nor pivot_root's
// shared-parent check involve the host), and binds the rootfs onto itself
// so that it is a mount point pivot_root can use.
func prepareRoot(cfg *configs.Config) error {
	flags := uintptr(unix.MS_SLAVE | unix.MS_REC)
	if cfg.RootPropagation != 0 {
		flags = uintptr(cfg.RootPropagation)
	}
	if err := unix.Mount("", "/", "", flags, ""); err != nil {
		return &MountError{Op: "mount", Target: "/", Flags: flags, Err: err}
	}
	// runc PR 5200: with a slave root, keep the parent a slave so that host
	// mount events still reach the container.
	parentFlag := uintptr(unix.MS_PRIVATE)
	if cfg.RootPropagation&unix.MS_SLAVE != 0 {
		parentFlag = unix.MS_SLAVE
	}
	// Walk up until a mount point: MS_PRIVATE on a plain directory is EINVAL.
	for p := path.Clean(cfg.Rootfs); ; p = path.Dir(p) {
		err := unix.Mount("", p, "", parentFlag, "")
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EINVAL) || p == "/" {
			return &MountError{Op: "mount", Target: p, Flags: parentFlag, Err: err}
		}
	}
	const bindFlags = unix.MS_BIND | unix.MS_REC
	if err := unix.Mount(cfg.Rootfs, cfg.Rootfs, "", bindFlags, ""); err != nil {
		return &MountError{Op: "mount", Source: cfg.Rootfs, Target: cfg.Rootfs, Flags: bindFlags, Err: err}
	}
	return nil
}

// hostNS reports whether the container shares the caller's mount
// namespace: its mounts are then made in the host's namespace (and undone
// by the container's destruction), and nothing of "/" is changed.
func (s *setup) hostNS() bool { return !s.cfg.Namespaces.Contains(configs.NEWNS) }

// chroot makes root the process's root directory.
func chroot(root *os.File) error {
	if err := unix.Fchdir(int(root.Fd())); err != nil {
		return &os.PathError{Op: "chdir", Path: root.Name(), Err: err}
	}
	if err := unix.Chroot("."); err != nil {
		return &os.PathError{Op: "chroot", Path: root.Name(), Err: err}
	}
	if err := unix.Chdir("/"); err != nil {
		return &os.PathError{Op: "chdir", Path: "/", Err: err}
	}
	return nil
}

// waitCgroup calls Options.WaitCgroup the first time only.
func (s *setup) waitCgroup() error {
	if s.cgroupWaited || s.opts.WaitCgroup == nil {
		s.cgroupWaited = true
		return nil
	}
	s.cgroupWaited = true
	if err := s.opts.WaitCgroup(); err != nil {
		return fmt.Errorf("wait for cgroup placement: %w", err)
	}
	return nil
}

// switchRoot makes the rootfs the process's root and applies the configured
// root propagation to it.
func (s *setup) switchRoot() error {
	var err error
	if s.hostNS() {
		// Without a mount namespace of its own the container shares the
		// host's mounts: runc chroots, and so does berth.
		return chroot(s.root)
	}
	if s.cfg.NoPivotRoot {
		err = moveRoot(s.cfg.Rootfs, s.root)
	} else {
		err = pivotRoot(s.root)
	}
	if err != nil {
		return err
	}
	// The propagation asked for the container's "/" is applied only now: set
	// before the switch, a shared rootfs would have leaked every mount above
	// to the host (runc PR 4724). Private is already the case.
	if p := s.cfg.RootPropagation; p != 0 && p&unix.MS_PRIVATE == 0 {
		if err := unix.Mount("", "/", "", uintptr(p), ""); err != nil {
			return &MountError{Op: "mount", Target: "/", Flags: uintptr(p), Err: err}
		}
	}
	return nil
}
