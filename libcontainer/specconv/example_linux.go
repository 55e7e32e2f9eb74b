package specconv

import (
	"sync"

	"golang.org/x/sys/unix"
)

// hostCgroupV2 reports whether /sys/fs/cgroup is a cgroup2 mount (unified
// mode), where Example adds a cgroup namespace as runc does.
var hostCgroupV2 = sync.OnceValue(func() bool {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		return false
	}
	return st.Type == unix.CGROUP2_SUPER_MAGIC
})
