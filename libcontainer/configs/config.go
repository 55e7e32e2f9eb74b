package configs

import (
	"time"

	"golang.org/x/sys/unix"
)

// Config describes one container. Its zero value is not useful: build it with
// specconv.CreateConfig or by hand, then call Validate.
type Config struct {
	// Rootfs is the absolute host path of the container's root filesystem.
	Rootfs string `json:"rootfs"`
	// Readonlyfs remounts the root filesystem read-only once set up.
	Readonlyfs bool `json:"readonlyfs,omitempty"`
	// NoPivotRoot uses MS_MOVE and chroot instead of pivot_root, for a
	// rootfs on a ramdisk.
	NoPivotRoot bool `json:"no_pivot_root,omitempty"`
	// RootPropagation is the propagation applied to the container's root
	// mount, as MS_* flags (zero means MS_SLAVE|MS_REC for the host side and
	// private for the new root, as runc does).
	RootPropagation int `json:"rootfs_propagation,omitempty"`

	// Mounts are mounted in order, after the root filesystem is prepared.
	Mounts []*Mount `json:"mounts,omitempty"`
	// Devices are the device nodes created in /dev.
	Devices []*Device `json:"devices,omitempty"`
	// MaskPaths are paths hidden from the container (/dev/null over files,
	// a read-only tmpfs over directories).
	MaskPaths []string `json:"mask_paths,omitempty"`
	// ReadonlyPaths are paths remounted read-only inside the container.
	ReadonlyPaths []string `json:"readonly_paths,omitempty"`

	// Hostname is set in the container's UTS namespace.
	Hostname string `json:"hostname,omitempty"`
	// Domainname is set in the container's UTS namespace.
	Domainname string `json:"domainname,omitempty"`

	// Namespaces lists the namespaces the container creates or joins.
	Namespaces Namespaces `json:"namespaces,omitempty"`
	// UIDMappings maps container uids to host uids (user namespace only).
	UIDMappings []IDMap `json:"uid_mappings,omitempty"`
	// GIDMappings maps container gids to host gids (user namespace only).
	GIDMappings []IDMap `json:"gid_mappings,omitempty"`
	// TimeOffsets are the time namespace's clock offsets, keyed by clock
	// name ("monotonic", "boottime").
	TimeOffsets map[string]TimeOffset `json:"time_offsets,omitempty"`

	// Cgroups is the cgroup the container is placed in.
	Cgroups *Cgroup `json:"cgroups,omitempty"`

	// Capabilities are the init process's capability sets; nil keeps all.
	Capabilities *Capabilities `json:"capabilities,omitempty"`
	// Rlimits are applied to the init process.
	Rlimits []Rlimit `json:"rlimits,omitempty"`
	// Sysctl are kernel parameters written under /proc/sys in the container.
	Sysctl map[string]string `json:"sysctl,omitempty"`
	// NoNewPrivileges sets PR_SET_NO_NEW_PRIVS before the process starts.
	NoNewPrivileges bool `json:"no_new_privileges,omitempty"`
	// NoNewKeyring keeps the caller's session keyring instead of giving the
	// container a new one (runc's --no-new-keyring).
	NoNewKeyring bool `json:"no_new_keyring,omitempty"`
	// AppArmorProfile is the AppArmor profile the container's processes
	// exec into (process.apparmorProfile); a process's own profile
	// replaces it. The host must run AppArmor.
	AppArmorProfile string `json:"apparmor_profile,omitempty"`
	// ProcessLabel is the SELinux label the container's processes and
	// their session keyring get (process.selinuxLabel); a process's own
	// label replaces it. The host must run SELinux.
	ProcessLabel string `json:"process_label,omitempty"`
	// MountLabel is the SELinux context of the container's mounts
	// (linux.mountLabel), given as the context= option to those that take
	// one (tmpfs, devpts, ...; not proc, sysfs or mqueue), as runc does.
	MountLabel string `json:"mount_label,omitempty"`
	// OomScoreAdj is written to /proc/<pid>/oom_score_adj when set.
	OomScoreAdj *int `json:"oom_score_adj,omitempty"`
	// Umask is the init process's file mode creation mask; nil means 0022.
	Umask *uint32 `json:"umask,omitempty"`
	// ParentDeathSignal is sent to the init process when its parent dies.
	ParentDeathSignal int `json:"parent_death_signal,omitempty"`
	// Seccomp is the system call filter of the container's processes;
	// nil loads none.
	Seccomp *Seccomp `json:"seccomp,omitempty"`

	// Hooks are the OCI lifecycle hooks.
	Hooks Hooks `json:"hooks,omitempty"`
	// Labels are free-form "key=value" strings kept with the state; berth
	// stores "bundle=<path>" here, as runc does.
	Labels []string `json:"labels,omitempty"`
	// Version is the OCI spec version the config was made from.
	Version string `json:"version,omitempty"`
	// Annotations are the OCI annotations, reported by OCIState.
	Annotations map[string]string `json:"annotations,omitempty"`
	// RootlessEUID is set when the container is created by a non-root user.
	RootlessEUID bool `json:"rootless_euid,omitempty"`
	// RootlessCgroups makes cgroup permission errors non-fatal.
	RootlessCgroups bool `json:"rootless_cgroups,omitempty"`
}

// IDMap maps a range of IDs inside a user namespace to the host.
type IDMap struct {
	ContainerID int64 `json:"container_id"`
	HostID      int64 `json:"host_id"`
	Size        int64 `json:"size"`
}

// TimeOffset is a time namespace clock offset.
type TimeOffset struct {
	Secs     int64  `json:"secs"`
	Nanosecs uint32 `json:"nanosecs"`
}

// Capabilities are the five Linux capability sets, as names ("CAP_KILL").
type Capabilities struct {
	Bounding    []string `json:"bounding,omitempty"`
	Effective   []string `json:"effective,omitempty"`
	Inheritable []string `json:"inheritable,omitempty"`
	Permitted   []string `json:"permitted,omitempty"`
	Ambient     []string `json:"ambient,omitempty"`
}

// Rlimit is one resource limit (RLIMIT_* as its number).
type Rlimit struct {
	Type int    `json:"type"`
	Hard uint64 `json:"hard"`
	Soft uint64 `json:"soft"`
}

// HookName names a point in the container's life where hooks run.
type HookName string

// The hook points of the OCI runtime spec v1.3.0.
const (
	Prestart        HookName = "prestart"
	CreateRuntime   HookName = "createRuntime"
	CreateContainer HookName = "createContainer"
	StartContainer  HookName = "startContainer"
	Poststart       HookName = "poststart"
	Poststop        HookName = "poststop"
)

// Hooks maps each hook point to the commands run there, in order.
type Hooks map[HookName][]Command

// Command is a hook: a program run with the container state on stdin.
type Command struct {
	Path    string         `json:"path"`
	Args    []string       `json:"args,omitempty"`
	Env     []string       `json:"env,omitempty"`
	Dir     string         `json:"dir,omitempty"`
	Timeout *time.Duration `json:"timeout,omitempty"`
}

// HostUID returns the host uid that the container's root maps to.
func (c *Config) HostUID() (int, error) { return c.hostID(c.UIDMappings, 0) }

// HostGID returns the host gid that the container's root group maps to.
func (c *Config) HostGID() (int, error) { return c.hostID(c.GIDMappings, 0) }

// HostUIDFor returns the host uid that container uid id maps to.
func (c *Config) HostUIDFor(id int) (int, error) { return c.hostID(c.UIDMappings, int64(id)) }

// HostGIDFor returns the host gid that container gid id maps to.
func (c *Config) HostGIDFor(id int) (int, error) { return c.hostID(c.GIDMappings, int64(id)) }

func (c *Config) hostID(maps []IDMap, id int64) (int, error) {
	if !c.Namespaces.Contains(NEWUSER) {
		return int(id), nil
	}
	for _, m := range maps {
		if id >= m.ContainerID && id < m.ContainerID+m.Size {
			return int(m.HostID + id - m.ContainerID), nil
		}
	}
	return -1, ErrNoMapping
}

// Label returns the value of label key ("key=value"), or "".
func (c *Config) Label(key string) string {
	for _, l := range c.Labels {
		if len(l) > len(key) && l[len(key)] == '=' && l[:len(key)] == key {
			return l[len(key)+1:]
		}
	}
	return ""
}

// DefaultUmask is the file mode creation mask used when none is configured.
const DefaultUmask uint32 = unix.S_IWGRP | unix.S_IWOTH
