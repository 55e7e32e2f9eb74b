package cgroups

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

const (
	// cgroupRoot is where the cgroup hierarchies are mounted.
	cgroupRoot = "/sys/fs/cgroup"
	// hybridUnified is where a hybrid host mounts the cgroup2 hierarchy.
	hybridUnified = "/sys/fs/cgroup/unified"
)

func isCgroup2(dir string) bool {
	var st unix.Statfs_t
	for {
		err := unix.Statfs(dir, &st)
		if err == unix.EINTR {
			continue
		}
		return err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
	}
}

// IsCgroup2UnifiedMode reports whether the host is pure cgroup v2: cgroup2
// is mounted at /sys/fs/cgroup. It is computed once per process.
var IsCgroup2UnifiedMode = sync.OnceValue(func() bool {
	return isCgroup2(cgroupRoot)
})

// IsCgroup2HybridMode reports whether a cgroup2 hierarchy is mounted at
// /sys/fs/cgroup/unified beside v1 controllers. It is computed once per
// process.
var IsCgroup2HybridMode = sync.OnceValue(func() bool {
	return !IsCgroup2UnifiedMode() && isCgroup2(hybridUnified)
})

// hostFacts returns this host's facts. The mount table and the caller's own
// cgroup are read at most once per process, and only when first needed: a
// v2 manager with an absolute path reads neither.
var hostFacts = sync.OnceValue(func() *host {
	h := &host{
		unified: IsCgroup2UnifiedMode(),
		mounts: sync.OnceValues(func() ([]v1Mount, error) {
			data, err := os.ReadFile("/proc/self/mountinfo")
			if err != nil {
				return nil, err
			}
			return parseMountinfo(data)
		}),
		own: sync.OnceValues(func() (map[string]string, error) {
			data, err := os.ReadFile("/proc/self/cgroup")
			if err != nil {
				return nil, err
			}
			return parseProcCgroup(data)
		}),
	}
	switch {
	case h.unified:
		h.unifiedRoot = cgroupRoot
	case IsCgroup2HybridMode():
		h.unifiedRoot = hybridUnified
	}
	return h
})

// New returns the manager for c on this host. paths, when non-nil, are the
// paths saved in a container's state (Load) and are used as they are.
func New(c *configs.Cgroup, paths map[string]string) (Manager, error) {
	return newManager(hostFacts(), c, paths)
}

func newManager(h *host, c *configs.Cgroup, paths map[string]string) (Manager, error) {
	if c == nil {
		return nil, errors.New("new cgroup manager: no cgroup config")
	}
	if c.Systemd {
		return nil, fmt.Errorf("new cgroup manager: systemd driver: %w", errors.ErrUnsupported)
	}
	if h.unified {
		return newV2(h, c, paths)
	}
	return newV1(h, c, paths)
}
