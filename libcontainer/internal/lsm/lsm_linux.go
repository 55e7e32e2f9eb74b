package lsm

import (
	"errors"
	"fmt"
	"os"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
)

// openProcAttr opens the calling thread's attr/<name> through a procfs
// handle that pathrs-lite verified (a private procfs instance, nothing
// mounted over the path), reopened with flags, and checks that the
// descriptor it returns is on procfs (fstatfs PROC_SUPER_MAGIC): the
// container's rootfs cannot redirect the write (CVE-2019-16884).
func openProcAttr(name string, flags int) (*os.File, error) {
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return nil, fmt.Errorf("open /proc: %w", err)
	}
	defer proc.Close()
	h, closer, err := proc.OpenThreadSelf("attr/" + name)
	if err != nil {
		return nil, err
	}
	defer closer()
	defer h.Close()
	f, err := pathrs.Reopen(h, flags|unix.O_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := checkProcfs(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkProcfs returns an error unless f is on a procfs.
func checkProcfs(f *os.File) error {
	var st unix.Statfs_t
	for {
		err := unix.Fstatfs(int(f.Fd()), &st)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EINTR) {
			return &os.PathError{Op: "fstatfs", Path: f.Name(), Err: err}
		}
	}
	if st.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("%s is not on procfs (filesystem magic %#x)", f.Name(), st.Type)
	}
	return nil
}

// isSELinuxFS reports whether path is a selinuxfs mount, not read-only.
func isSELinuxFS(path string) bool {
	var st unix.Statfs_t
	for {
		err := unix.Statfs(path, &st)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EINTR) {
			return false
		}
	}
	return uint32(st.Type) == uint32(unix.SELINUX_MAGIC) && st.Flags&unix.ST_RDONLY == 0
}

// writeAttr writes value in a single write(2), as procfs attribute files
// expect; an empty value is a zero-length write, which clears the
// attribute. The error is the bare errno: the caller names the file.
func writeAttr(f *os.File, value string) error {
	for {
		_, err := unix.Write(int(f.Fd()), []byte(value))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err
	}
}

// SetFileLabel sets the SELinux label of the file at path (its
// security.selinux attribute, following symlinks), as go-selinux's
// label.SetFileLabel does: nothing for an empty label or on a host
// without SELinux.
func (h *Host) SetFileLabel(path, label string) error {
	if label == "" || !h.SELinuxEnabled() {
		return nil
	}
	for {
		err := unix.Setxattr(path, "security.selinux", []byte(label), 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("set selinux label %q: %w", label, &os.PathError{Op: "setxattr", Path: path, Err: err})
		}
		return nil
	}
}
