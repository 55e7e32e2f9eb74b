package cgroups

import (
	"context"
	"errors"

	"github.com/berthrt/berth/libcontainer/configs"
)

// Manager controls one container's cgroup. Implementations: v1 (fs, with the
// hybrid unified hierarchy) and v2 (fs2). A Manager is safe for concurrent use.
type Manager interface {
	// Apply creates the cgroup directories (and any missing parents) and
	// moves pid into them. A pid of -1 only creates the directories.
	Apply(pid int) error
	// Set writes the limits in r, enabling the v2 controllers they need in
	// the parents' cgroup.subtree_control. Fields that are zero (or nil)
	// are left alone; a non-nil r.Devices is the whole device policy
	// (v1 devices.allow/deny, v2 an eBPF device filter). Limits not
	// implemented yet fail with an error wrapping errors.ErrUnsupported
	// rather than being dropped.
	Set(r *configs.Resources) error
	// Destroy removes the cgroup directories and every cgroup below them.
	// It retries briefly while the kernel reports EBUSY (tasks still
	// exiting) and is not an error when the directories are already gone.
	// Parents that Apply created are left in place.
	Destroy() error
	// Path returns the directory of one controller ("memory", "cpu",
	// "name=systemd"; "" is the unified hierarchy) on v1, or the one cgroup
	// directory on v2 whatever subsystem is asked for. It returns "" for a
	// v1 controller that is not mounted.
	Path(subsystem string) string
	// GetPaths returns the directories by controller name, to be saved in a
	// container's state and passed back to New. The key "" is the unified
	// hierarchy (the only key on v2).
	GetPaths() map[string]string
	// GetPids returns the pids in the cgroup itself, not in its descendants.
	GetPids() ([]int, error)
	// GetAllPids returns the pids in the cgroup and in all its descendants.
	GetAllPids() ([]int, error)
	// Freeze freezes (Frozen) or thaws (Thawed) every task in the cgroup
	// and waits until the kernel reports the new state.
	Freeze(state FreezerState) error
	// GetFreezerState returns the cgroup's freezer state, or Undefined when
	// there is no freezer controller.
	GetFreezerState() (FreezerState, error)
	// Exists reports whether the cgroup directory exists.
	Exists() bool
	// ApplyThread creates the cgroup directories and moves the calling OS
	// thread alone into every v1 hierarchy, by writing "0" to each
	// directory's tasks file. Moving the current thread skips the global
	// lock that moving a process takes (cgroup_threadgroup_rwsem), whose
	// first use after an idle spell waits for an RCU grace period: 5 to
	// 20 ms measured here, on every container start. A child forked by the
	// thread is born in those cgroups. The cgroup v2 hierarchy cannot take
	// a single thread: for it, ApplyThread returns a directory fd for
	// clone3 CLONE_INTO_CGROUP, or -1 when there is no v2 hierarchy.
	//
	// The caller runs it on a thread locked with runtime.LockOSThread that
	// it never unlocks, so that the Go runtime discards the thread: no
	// other goroutine may run in the container's cgroups.
	ApplyThread() (cgroupFD int, err error)
	// CgroupFD opens the cgroup directory (creating it when missing) with
	// O_PATH|O_DIRECTORY|O_CLOEXEC, for clone3 CLONE_INTO_CGROUP
	// (syscall.SysProcAttr.UseCgroupFD). The caller closes the fd. On v1 it
	// returns -1 and ErrNotV2.
	CgroupFD() (int, error)
	// GetStats reads the cgroup's usage counters. A controller that is not
	// there leaves its part zero.
	GetStats() (*Stats, error)
	// NotifyOOM returns a channel that receives a value each time the
	// kernel's OOM killer acts in the cgroup (v1: an eventfd on
	// memory.oom_control; v2: memory.events watched with inotify). The
	// channel is closed when ctx is done or the cgroup is removed.
	NotifyOOM(ctx context.Context) (<-chan struct{}, error)
	// NotifyMemoryPressure is NotifyOOM for memory pressure at level (v1
	// memory.pressure_level); v2 has no such events and returns an error
	// wrapping errors.ErrUnsupported.
	NotifyMemoryPressure(ctx context.Context, level PressureLevel) (<-chan struct{}, error)
}

// PressureLevel is a v1 memory pressure level.
type PressureLevel string

// The memory pressure levels of memory.pressure_level.
const (
	LowPressure      PressureLevel = "low"
	MediumPressure   PressureLevel = "medium"
	CriticalPressure PressureLevel = "critical"
)

// FreezerState is the state of a cgroup's freezer.
type FreezerState string

// The freezer states.
const (
	// Undefined means that the state is unknown or that there is no freezer.
	Undefined FreezerState = ""
	// Frozen means that every task in the cgroup is frozen.
	Frozen FreezerState = "FROZEN"
	// Thawed means that the tasks in the cgroup run.
	Thawed FreezerState = "THAWED"
)

// ErrNotV2 is returned by Manager.CgroupFD on a cgroup v1 host, where one
// directory cannot place a process in every controller.
var ErrNotV2 = errors.New("cgroup v2 only")
