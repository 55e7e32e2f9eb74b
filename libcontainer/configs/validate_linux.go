package configs

import (
	"errors"
	"io/fs"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// hostCgroupV2 reports whether /sys/fs/cgroup is a cgroup2 mount (unified
// mode). A hybrid host, with cgroup2 at /sys/fs/cgroup/unified, is not.
var hostCgroupV2 = sync.OnceValue(func() bool {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		return false
	}
	return st.Type == unix.CGROUP2_SUPER_MAGIC
})

// hostNamespaceSupported reports whether the kernel has namespaces of kind t:
// each kind the kernel supports has a file in /proc/self/ns.
func hostNamespaceSupported(t NamespaceType) bool {
	_, err := os.Stat("/proc/self/ns/" + t.ProcName())
	return !errors.Is(err, fs.ErrNotExist)
}

// hostIsHostNetNS reports whether the namespace file at path is the caller's
// network namespace: namespace files are the same namespace when their device
// and inode numbers match (namespaces(7)).
func hostIsHostNetNS(path string) (bool, error) {
	const self = "/proc/self/ns/net"
	var st1, st2 unix.Stat_t
	if err := unix.Stat(self, &st1); err != nil {
		return false, &os.PathError{Op: "stat", Path: self, Err: err}
	}
	if err := unix.Stat(path, &st2); err != nil {
		return false, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return st1.Dev == st2.Dev && st1.Ino == st2.Ino, nil
}
