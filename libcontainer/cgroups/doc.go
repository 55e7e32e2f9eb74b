// Package cgroups places a container's processes in a cgroup, removes that
// cgroup again, and writes the cgroup's resource limits.
//
// New returns a Manager for the host it runs on: on a pure cgroup v2 host
// (cgroup2 mounted at /sys/fs/cgroup) the manager works on one directory of
// the unified hierarchy; otherwise it works on one directory in every mounted
// cgroup v1 hierarchy (found in /proc/self/mountinfo, including the
// name=systemd hierarchy) and, on a hybrid host, also in the cgroup2
// hierarchy mounted at /sys/fs/cgroup/unified.
//
// The kernel interface is the cgroup file system only: mkdir and rmdir of
// cgroup directories, and reads and writes of their interface files
// (cgroup.procs, pids.max, memory.max, freezer.state, cgroup.freeze,
// devices.allow...). Host facts (the mount table, the caller's own cgroup)
// are read once per process. Errors name the file, as in
// "write /sys/fs/cgroup/memory/x/memory.limit_in_bytes: invalid argument".
//
// Do not use this package to manage cgroups that systemd owns (use a systemd
// driver, which asks systemd over D-Bus) or to read or change cgroups that the
// caller did not create: Destroy removes the container's cgroup directories
// and every cgroup below them. On cgroup v2, device rules become an eBPF
// BPF_CGROUP_DEVICE program (github.com/cilium/ebpf) attached to the cgroup.
package cgroups
