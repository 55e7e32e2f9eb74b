package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// procFd returns the magic link naming fd f, for mount(2) calls whose
// target (or source) must be an already resolved descriptor. The calling
// goroutine is locked to its thread, so thread-self is stable.
func procFd(f *os.File) string {
	return "/proc/thread-self/fd/" + strconv.Itoa(int(f.Fd()))
}

// openInRoot opens p (a container path) inside root with
// openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS): ".." and absolute symlinks
// stay inside root, whatever the image contains. One system call on the
// fast path; pathrs-lite is the fallback on kernels without openat2.
func openInRoot(root *os.File, p string, flags int) (*os.File, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	rel := strings.TrimLeft(p, "/")
	if rel == "" {
		rel = "."
	}
	for range 32 {
		fd, err := unix.Openat2(int(root.Fd()), rel, &how)
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), p), nil
		case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
			// A concurrent rename raced with the lookup; the kernel
			// asks us to retry.
			continue
		case errors.Is(err, unix.ENOSYS):
			return openInRootCompat(root, p, flags)
		default:
			return nil, &os.PathError{Op: "openat2", Path: p, Err: err}
		}
	}
	return nil, &os.PathError{Op: "openat2", Path: p, Err: unix.EAGAIN}
}

// openInRootCompat is openInRoot for kernels older than 5.6.
func openInRootCompat(root *os.File, p string, flags int) (*os.File, error) {
	f, err := pathrs.OpenatInRoot(root, p)
	if err != nil || flags&unix.O_PATH != 0 {
		return f, err
	}
	defer f.Close()
	return pathrs.Reopen(f, flags)
}

// mkdirInRoot returns an O_PATH handle on directory p inside root, creating
// it and its parents (mode 0755) when missing. existed reports whether p
// was already there.
func mkdirInRoot(root *os.File, p string) (f *os.File, existed bool, err error) {
	f, err = openInRoot(root, p, unix.O_PATH|unix.O_DIRECTORY)
	if err == nil {
		return f, true, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	// Fast path, the usual case: only the last component is missing.
	if f, err := mkdirLast(root, p); err == nil {
		return f, false, nil
	}
	// A dangling symlink on the way names a directory to create inside the
	// root, as runc does (its mounts.bats "dangling symlink" cases):
	// resolve the links lexically within the root first. The creation
	// itself is still confined to root by MkdirAllHandle, so a racing swap
	// of a component cannot send it outside.
	want := p
	if joined, jerr := securejoin.SecureJoin(procFd(root), p); jerr == nil {
		want = "/" + strings.TrimLeft(strings.TrimPrefix(joined, procFd(root)), "/")
	}
	f, err = pathrs.MkdirAllHandle(root, want, 0o755)
	if err != nil {
		return nil, false, fmt.Errorf("mkdir %s: %w", p, err)
	}
	return f, false, nil
}

// mkdirLast creates the last component of p in its existing parent and
// opens it, never following a symlink there. Any failure sends the caller
// to the general path.
func mkdirLast(root *os.File, p string) (*os.File, error) {
	dir, base := splitDest(p)
	if base == "." {
		return nil, unix.EEXIST
	}
	parent, err := openInRoot(root, dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	if err := unix.Mkdirat(int(parent.Fd()), base, 0o755); err != nil {
		return nil, err
	}
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), p), nil
}

// createFileInRoot returns an O_PATH handle on p inside root, creating an
// empty regular file (and the parent directories) when p is missing: the
// mount point for a bind-mounted file or device.
func createFileInRoot(root *os.File, p string) (*os.File, error) {
	f, err := openInRoot(root, p, unix.O_PATH)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	dir, base := splitDest(p)
	parent, _, err := mkdirInRoot(root, dir)
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	// mknodat never follows a symlink at base: a dangling one is EEXIST and
	// the open below resolves it inside root.
	if err := unix.Mknodat(int(parent.Fd()), base, unix.S_IFREG|0o644, 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, &os.PathError{Op: "mknod", Path: p, Err: err}
	}
	return openInRoot(root, p, unix.O_PATH)
}

// mkdirStrict returns an O_PATH handle on directory p, which must be a real
// directory (not a symlink) or missing (then it is created). proc and sysfs
// are mounted only on such a directory (CVE-2019-16884, CVE-2019-19921).
func mkdirStrict(root *os.File, p string) (*os.File, error) {
	dir, base := splitDest(p)
	if base == "." {
		return nil, fmt.Errorf("mount destination %s: cannot mount over the rootfs", p)
	}
	parent, _, err := mkdirInRoot(root, dir)
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	pfd := int(parent.Fd())
	var st unix.Stat_t
	err = unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT):
		if err := unix.Mkdirat(pfd, base, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, &os.PathError{Op: "mkdir", Path: p, Err: err}
		}
	case err != nil:
		return nil, &os.PathError{Op: "stat", Path: p, Err: err}
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return nil, fmt.Errorf("mount destination %s is a symlink", p)
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return nil, fmt.Errorf("mount destination %s is not a directory", p)
	}
	fd, err := unix.Openat(pfd, base, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

// fsType returns the filesystem magic of the file behind f.
func fsType(f *os.File) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return 0, &os.PathError{Op: "statfs", Path: f.Name(), Err: err}
	}
	return st.Type, nil
}

// fileMode returns the st_mode of the file behind f.
func fileMode(f *os.File) (uint32, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, &os.PathError{Op: "stat", Path: f.Name(), Err: err}
	}
	return st.Mode, nil
}

// inUserNS reports whether this process runs in a user namespace other
// than the initial one (its uid_map is not the identity over all ids).
var inUserNS = sync.OnceValue(func() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) != 3 || f[0] != "0" || f[1] != "0" || f[2] != "4294967295"
})

// cgroup2Unified reports whether /sys/fs/cgroup is a pure cgroup v2 mount.
var cgroup2Unified = sync.OnceValue(func() bool {
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
})

// hasKcore reports whether the host has /proc/kcore (CONFIG_PROC_KCORE).
var hasKcore = sync.OnceValue(func() bool {
	_, err := os.Stat("/proc/kcore")
	return err == nil
})
