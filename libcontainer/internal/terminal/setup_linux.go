package terminal

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Device numbers of the Unix98 pty nodes (<linux/major.h>,
// fs/devpts/inode.c: mknod_ptmx).
const (
	ptmxMajor     = 5   // TTYAUX_MAJOR
	ptmxMinor     = 2   // the ptmx node
	ptmxIno       = 2   // devpts always gives its ptmx inode number 2
	ptySlaveMajor = 136 // UNIX98_PTY_SLAVE_MAJOR; slave n is (136, n)
)

const (
	ptmxPath    = "/dev/pts/ptmx"
	consolePath = "/dev/console"
)

// Setup creates a pty in the container's devpts (/dev/pts/ptmx), binds its
// slave over /dev/console (creating an empty /dev/console when missing),
// applies size (nil leaves the kernel's 0x0), chowns the slave to uid (-1
// leaves it), makes the slave the process's stdin, stdout, stderr and its
// controlling terminal, and returns the master, named "/dev/pts/ptmx" as
// runc names it. The caller sends the master to the parent and closes it.
//
// Setup runs inside the container after pivot_root ("/" is the container's
// root), after setsid(2), as the container's root, on the goroutine locked
// to the thread that holds the container's mount namespace.
func Setup(uid int, size *Size) (master *os.File, err error) {
	return setup(uid, size, true)
}

// OpenExec allocates a pty for a process executed into a running container
// (berth exec --tty), from outside the container: in the devpts at
// dev/pts/ptmx below root, the container's root directory (such as
// /proc/<init>/root), resolved without leaving it or following a symlink.
// The caller gives the process the slave as its stdio and controlling
// terminal; /dev/console stays the init's, as in runc.
func OpenExec(root *os.File, size *Size) (master, slave *os.File, err error) {
	master, slave, err = openPty(root)
	if err != nil {
		return nil, nil, err
	}
	if err := setWinsize(master, slave, size); err != nil {
		master.Close()
		slave.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

func setWinsize(master, slave *os.File, size *Size) error {
	if size == nil {
		return nil
	}
	ws := &unix.Winsize{Row: size.Height, Col: size.Width}
	if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws); err != nil {
		return fmt.Errorf("set size %dx%d of %s: %w", size.Width, size.Height, slave.Name(), err)
	}
	return nil
}

func setup(uid int, size *Size, console bool) (master *os.File, err error) {
	master, slave, err := openPty(nil)
	if err != nil {
		return nil, err
	}
	defer slave.Close()
	defer func() {
		if err != nil {
			master.Close()
		}
	}()
	if uid != -1 {
		if err := unix.Fchown(int(slave.Fd()), uid, -1); err != nil {
			return nil, fmt.Errorf("chown %s to %d: %w", slave.Name(), uid, err)
		}
	}
	if err := setWinsize(master, slave, size); err != nil {
		return nil, err
	}
	if console {
		if err := mountConsole(slave); err != nil {
			return nil, err
		}
	}
	for fd := range 3 {
		if err := unix.Dup3(int(slave.Fd()), fd, 0); err != nil {
			return nil, fmt.Errorf("dup %s onto fd %d: %w", slave.Name(), fd, err)
		}
	}
	// The session has no controlling terminal yet (the init called setsid
	// and every open used O_NOCTTY): take this one.
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return nil, fmt.Errorf("make %s the controlling terminal: %w", slave.Name(), err)
	}
	return master, nil
}

// openPty allocates a pty from /dev/pts/ptmx below root (nil: "/") and
// returns its unlocked master and its slave (both close-on-exec, neither a
// controlling terminal).
func openPty(root *os.File) (master, slave *os.File, err error) {
	h, err := openIn(root, ptmxPath, unix.O_PATH)
	if err != nil {
		return nil, nil, err
	}
	defer h.Close()
	if err := checkDevice(h, unix.Mkdev(ptmxMajor, ptmxMinor), ptmxIno); err != nil {
		return nil, nil, err
	}
	master, err = reopen(root, h, unix.O_RDWR|unix.O_NOCTTY)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			master.Close()
		}
	}()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return nil, nil, fmt.Errorf("unlock pty %s: %w", ptmxPath, err)
	}
	slave, err = openPeer(root, master)
	if err != nil {
		return nil, nil, err
	}
	return master, slave, nil
}

// openPeer opens the slave of master: with TIOCGPTPEER, which needs no path
// lookup, or, before Linux 4.13, by opening /dev/pts/N and checking that it
// is slave N of a devpts mount.
func openPeer(root, master *os.File) (*os.File, error) {
	n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		return nil, fmt.Errorf("get pty number of %s: %w", ptmxPath, err)
	}
	name := "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	dev := unix.Mkdev(ptySlaveMajor, n)
	flags := unix.O_RDWR | unix.O_NOCTTY | unix.O_CLOEXEC
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, master.Fd(), unix.TIOCGPTPEER, uintptr(flags))
	if errno == 0 {
		slave := os.NewFile(fd, name)
		if err := checkDevice(slave, dev, 0); err != nil {
			slave.Close()
			return nil, err
		}
		return slave, nil
	}
	// The kernel turns an unknown ioctl into ENOTTY; some drivers say EINVAL.
	if errno != unix.ENOTTY && errno != unix.EINVAL {
		return nil, fmt.Errorf("open peer of pty %s: %w", name, errno)
	}
	h, err := openIn(root, name, unix.O_PATH)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if err := checkDevice(h, dev, 0); err != nil {
		return nil, err
	}
	return reopen(root, h, unix.O_RDWR|unix.O_NOCTTY)
}

// mountConsole bind-mounts slave over /dev/console, which is created as an
// empty file when missing and must be a regular file or a character device
// (never a symlink or a directory: the target is resolved once, by
// descriptor, CVE-2025-52565).
func mountConsole(slave *os.File) error {
	target, err := openNoSymlinks(consolePath, unix.O_PATH)
	if errors.Is(err, unix.ENOENT) {
		target, err = createConsole()
	}
	if err != nil {
		return err
	}
	defer target.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(target.Fd()), &st); err != nil {
		return &os.PathError{Op: "stat", Path: consolePath, Err: err}
	}
	if t := st.Mode & unix.S_IFMT; t != unix.S_IFREG && t != unix.S_IFCHR {
		return fmt.Errorf("mount %s on %s: target is not a regular file or character device (mode %#o)", slave.Name(), consolePath, st.Mode)
	}
	if err := bindMount(slave, target); err != nil {
		return fmt.Errorf("mount %s on %s: %w", slave.Name(), consolePath, err)
	}
	return nil
}

// createConsole creates /dev/console as an empty regular file (mode 0666
// less the umask, as runc) and returns an O_PATH handle on it.
func createConsole() (*os.File, error) {
	dir, base := "/dev", "console"
	d, err := openNoSymlinks(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	// mknodat never follows a symlink at base; one created meanwhile makes
	// it fail with EEXIST, and the open below refuses it.
	if err := unix.Mknodat(int(d.Fd()), base, unix.S_IFREG|0o666, 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, &os.PathError{Op: "create", Path: consolePath, Err: err}
	}
	fd, err := unix.Openat(int(d.Fd()), base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: consolePath, Err: err}
	}
	return os.NewFile(uintptr(fd), consolePath), nil
}

// bindMount bind-mounts the file behind src onto the file behind dst.
func bindMount(src, dst *os.File) error {
	tree, err := unix.OpenTree(int(src.Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err == nil {
		defer unix.Close(tree)
		err = unix.MoveMount(tree, "", int(dst.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
		if err != nil {
			return fmt.Errorf("move_mount: %w", err)
		}
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("open_tree: %w", err)
	}
	// Before Linux 5.2: mount(2) through the descriptors' magic links. The
	// calling goroutine is locked to its thread, so thread-self is stable.
	return unix.Mount(procFd(src), procFd(dst), "", unix.MS_BIND, "")
}

// openIn opens the absolute path p below root (nil: "/") without following
// any symlink on the way or at its end, nor leaving root
// (RESOLVE_IN_ROOT). It returns an *os.File named p.
func openIn(root *os.File, p string, flags int) (*os.File, error) {
	dir, rel := unix.AT_FDCWD, p
	var resolve uint64 = unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS
	if root != nil {
		dir, rel = int(root.Fd()), strings.TrimPrefix(p, "/")
		resolve |= unix.RESOLVE_IN_ROOT
	}
	how := unix.OpenHow{Flags: uint64(flags | unix.O_NOFOLLOW | unix.O_CLOEXEC), Resolve: resolve}
	for {
		fd, err := unix.Openat2(dir, rel, &how)
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), p), nil
		case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
			continue // a concurrent rename raced with the lookup
		case errors.Is(err, unix.ENOSYS):
			return openNoSymlinksCompatIn(dir, p, flags)
		default:
			return nil, &os.PathError{Op: "open", Path: p, Err: err}
		}
	}
}

// openNoSymlinks is openIn below "/".
func openNoSymlinks(p string, flags int) (*os.File, error) { return openIn(nil, p, flags) }

// openNoSymlinksCompat is openNoSymlinks for kernels without openat2(2)
// (before 5.6): one component at a time, each with O_NOFOLLOW.
func openNoSymlinksCompat(p string, flags int) (*os.File, error) {
	return openNoSymlinksCompatIn(unix.AT_FDCWD, p, flags)
}

// openNoSymlinksCompatIn walks p from root (AT_FDCWD: "/"); ".." is
// refused, so that it cannot leave root.
func openNoSymlinksCompatIn(root int, p string, flags int) (*os.File, error) {
	dir, err := unix.Openat(root, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if root == unix.AT_FDCWD {
		dir, err = unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: "/", Err: err}
	}
	parts := strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
	for i, part := range parts {
		if part == ".." {
			unix.Close(dir)
			return nil, &os.PathError{Op: "open", Path: p, Err: unix.EXDEV}
		}
		fl := unix.O_PATH | unix.O_DIRECTORY
		if i == len(parts)-1 {
			fl = flags
		}
		fd, err := unix.Openat(dir, part, fl|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(dir)
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: p, Err: err}
		}
		dir = fd
	}
	return os.NewFile(uintptr(dir), p), nil
}

// reopen opens the file behind the O_PATH handle h again with flags,
// through /proc/thread-self/fd, and checks that it got the same inode. In a
// container without /proc it reopens h's path, still without symlinks, and
// the same check catches a swap between the two opens.
func reopen(root, h *os.File, flags int) (*os.File, error) {
	fd, err := unix.Open(procFd(h), flags|unix.O_CLOEXEC, 0)
	var f *os.File
	switch {
	case err == nil:
		f = os.NewFile(uintptr(fd), h.Name())
	case errors.Is(err, unix.ENOENT):
		if f, err = openIn(root, h.Name(), flags); err != nil {
			return nil, err
		}
	default:
		return nil, &os.PathError{Op: "reopen", Path: h.Name(), Err: err}
	}
	var want, got unix.Stat_t
	err = unix.Fstat(int(h.Fd()), &want)
	if err == nil {
		err = unix.Fstat(int(f.Fd()), &got)
	}
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "stat", Path: h.Name(), Err: err}
	}
	if want.Dev != got.Dev || want.Ino != got.Ino {
		f.Close()
		return nil, fmt.Errorf("reopen %s: got another file", h.Name())
	}
	return f, nil
}

// checkDevice checks that f is character device dev on a devpts mount and,
// when ino is not 0, that its inode number is ino.
func checkDevice(f *os.File, dev uint64, ino uint64) error {
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &sfs); err != nil {
		return &os.PathError{Op: "statfs", Path: f.Name(), Err: err}
	}
	if sfs.Type != unix.DEVPTS_SUPER_MAGIC {
		return fmt.Errorf("check %s: not on a devpts mount (filesystem magic %#x)", f.Name(), sfs.Type)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return &os.PathError{Op: "stat", Path: f.Name(), Err: err}
	}
	rdev := uint64(st.Rdev) // Rdev is uint32 on some architectures
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || rdev != dev {
		return fmt.Errorf("check %s: not character device %d:%d (mode %#o, device %d:%d)",
			f.Name(), unix.Major(dev), unix.Minor(dev), st.Mode, unix.Major(rdev), unix.Minor(rdev))
	}
	if ino != 0 && st.Ino != ino {
		return fmt.Errorf("check %s: inode %d, want %d", f.Name(), st.Ino, ino)
	}
	return nil
}

// procFd returns the magic link naming f's descriptor.
func procFd(f *os.File) string {
	return "/proc/thread-self/fd/" + strconv.Itoa(int(f.Fd()))
}
