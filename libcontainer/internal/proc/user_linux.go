package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// The container's account databases, read from the current root.
const (
	passwdPath = "/etc/passwd"
	groupPath  = "/etc/group"
)

// maxDBSize caps how much of /etc/passwd or /etc/group is read, so that an
// image cannot make init read forever.
const maxDBSize = 64 << 20

// LookupUser resolves the OCI process.user fields against the container's
// /etc/passwd, read from the current root ("/" is the container's root after
// pivot_root). The IDs are used as given, whether or not they have an entry;
// Home is the passwd entry's home directory, or "/" when there is none
// (runc's prepareEnv). The additional gids are used as given: runc does not
// add the user's /etc/group memberships to a numeric OCI user either.
func LookupUser(uid, gid uint32, additional []uint32) (*User, error) {
	return LookupUserIn("/", uid, gid, additional)
}

// LookupUserIn is LookupUser with the account files read below root, a
// directory (a container's root seen from outside, such as
// /proc/<pid>/root), without leaving it.
func LookupUserIn(root string, uid, gid uint32, additional []uint32) (*User, error) {
	passwd, err := openDB(root, passwdPath)
	if err != nil {
		return nil, err
	}
	defer closeDB(passwd)
	return lookupUser(uid, gid, additional, passwd), nil
}

// LookupUserString resolves the libcontainer API's user string (runc's
// Process.User): "name", "uid", "uid:gid", "name:group" or "", against the
// container's /etc/passwd and /etc/group read from the current root. Names
// must have an entry; numbers need none. When no group is given the user's
// primary group comes from passwd and the supplementary groups from the
// group file's member lists; an empty string means the current user. This
// is moby/sys/user's GetExecUser, as in runc.
func LookupUserString(spec string) (*User, error) {
	return lookupUserStringIn("/", spec, os.Getuid(), os.Getgid())
}

// LookupUserStringIn is LookupUserString with the account files read below
// root, for a process that is not the container's (the current user, when
// spec is empty, is then the container's root).
func LookupUserStringIn(root, spec string) (*User, error) {
	return lookupUserStringIn(root, spec, 0, 0)
}

func lookupUserStringIn(root, spec string, uid, gid int) (*User, error) {
	passwd, err := openDB(root, passwdPath)
	if err != nil {
		return nil, err
	}
	defer closeDB(passwd)
	group, err := openDB(root, groupPath)
	if err != nil {
		return nil, err
	}
	defer closeDB(group)
	return lookupUserString(spec, uid, gid, passwd, group)
}

// LookupGroups resolves group names or numbers (runc's
// Process.AdditionalGroups, `exec --additional-gids`) against the
// container's /etc/group, read from the current root. Names must have an
// entry; numbers need none. The result is sorted and has no duplicates.
func LookupGroups(groups []string) ([]int, error) {
	return lookupGroupsIn("/", groups)
}

func lookupGroupsIn(root string, groups []string) ([]int, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	group, err := openDB(root, groupPath)
	if err != nil {
		return nil, err
	}
	defer closeDB(group)
	return lookupGroups(groups, group)
}

// dbFile is an open account database, limited to maxDBSize.
type dbFile struct {
	io.Reader
	f *os.File
}

// openDB opens name (absolute, inside root) for reading without leaving
// root: symlinks resolve as if root were "/", magic links are refused
// (openat2 RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS), and only a regular file
// is accepted, so a FIFO or a device cannot block or feed init. It returns
// a nil io.Reader, not a typed nil, when the file does not exist, because
// moby/sys/user treats a nil reader as "no file".
func openDB(root, name string) (io.Reader, error) {
	f, err := openInRoot(root, name)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "fstat", Path: name, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.Close()
		return nil, fmt.Errorf("open %s: not a regular file", name)
	}
	return &dbFile{Reader: io.LimitReader(f, maxDBSize), f: f}, nil
}

func closeDB(r io.Reader) {
	if db, ok := r.(*dbFile); ok {
		db.f.Close()
	}
}

func openInRoot(root, name string) (*os.File, error) {
	const flags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY
	dir, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	fd, err := unix.Openat2(int(dir.Fd()), name, &unix.OpenHow{
		Flags:   flags,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOSYS) {
		// Before Linux 5.6: pathrs-lite resolves in userspace, one
		// component at a time, and stays inside root even when the
		// container changes it meanwhile (berth exec reads the files
		// from outside the container).
		h, err := pathrs.OpenatInRoot(dir, name)
		if err != nil {
			return nil, err
		}
		defer h.Close()
		return pathrs.Reopen(h, flags)
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// SetupUser switches the process to u: setgroups(u.AdditionalGids),
// setresgid and setresuid, in that order (each through package syscall, so
// every thread of the process switches). The calling thread keeps its
// permitted capabilities across the switch (PR_SET_KEEPCAPS is set before and
// cleared after), so that the caller can then apply the configured
// capabilities on that thread; its effective set is empty afterwards, as
// the kernel clears it on a switch away from uid 0.
//
// setgroups is skipped when the kernel refuses it because the user
// namespace has /proc/self/setgroups set to "deny" (Linux 3.19 and later):
// runc skips it silently too, as the user did not ask for groups explicitly.
//
// Call it on the thread that will call execve, with that thread locked.
func SetupUser(u *User) (retErr error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_KEEPCAPS: %w", err)
	}
	defer func() {
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil && retErr == nil {
			retErr = fmt.Errorf("prctl PR_SET_KEEPCAPS: %w", err)
		}
	}()

	// These act on the calling thread only, on purpose: syscall.Setgroups
	// and friends stop every thread of the runtime to change them all
	// (go.dev/issue/1435), which costs a signal round trip per thread on
	// every container start. Only the thread that calls execve matters:
	// execve ends the others, and no other code runs meanwhile.
	if err := unix.Setgroups(u.AdditionalGids); err != nil {
		if !errors.Is(err, unix.EPERM) || !setgroupsDenied() {
			return fmt.Errorf("setgroups %v: %w", u.AdditionalGids, err)
		}
	}
	if err := setresgidThread(u.GID); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("setresgid %d: gid is not mapped in the user namespace: %w", u.GID, err)
		}
		return fmt.Errorf("setresgid %d: %w", u.GID, err)
	}
	if err := setresuidThread(u.UID); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("setresuid %d: uid is not mapped in the user namespace: %w", u.UID, err)
		}
		return fmt.Errorf("setresuid %d: %w", u.UID, err)
	}
	return nil
}

// setresgidThread and setresuidThread change the calling thread's ids
// only: unix.Setresgid and unix.Setresuid are syscall.Setresgid and
// syscall.Setresuid, which change every thread of the process (through
// libc's setxid broadcast under cgo), a signal round trip per thread.
func setresgidThread(gid int) error {
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)); e != 0 {
		return e
	}
	return nil
}

func setresuidThread(uid int) error {
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
		return e
	}
	return nil
}

// setgroupsDenied reports whether setgroups(2) is disabled in the current
// user namespace (user_namespaces(7), "/proc/[pid]/setgroups"). It is only
// consulted after setgroups failed with EPERM, so a forged file cannot make
// init skip groups it could have set; and it is read through a verified
// procfs (readSelf), so that a mount over the container's /proc/self cannot
// forge "deny" either (CVE-2025-52881 class).
func setgroupsDenied() bool {
	b, err := readSelf("setgroups")
	return err == nil && string(b) == "deny\n"
}
