// Package lsm applies the Linux security modules' labels to a container's
// processes and mounts: the AppArmor profile a process execs into
// (process.apparmorProfile, berth exec --apparmor), and the SELinux labels
// (process.selinuxLabel and berth exec --process-label for the process and
// its session keyring, linux.mountLabel for the container's mounts).
//
// Kernel interfaces: AppArmor is enabled when securityfs shows
// /sys/kernel/security/apparmor and /sys/module/apparmor/parameters/enabled
// reads "Y"; a profile is applied on exec by writing "exec <profile>" to the
// calling thread's /proc/thread-self/attr/apparmor/exec (attr/exec on
// kernels without the per-module directory), as libapparmor's
// aa_change_onexec does. SELinux is enabled when selinuxfs is mounted,
// writable, at /sys/fs/selinux and the thread's attr/current is not
// "kernel"; the exec and keyring labels are written to attr/exec and
// attr/keycreate, and the mount label becomes a context="..." mount option.
//
// Every write to a /proc attribute goes through a procfs handle that
// pathrs-lite verified (a fresh, unmounted-over procfs) and a reopened
// descriptor whose fstatfs(2) says PROC_SUPER_MAGIC: a container that
// redirects /proc (CVE-2019-16884) cannot swallow the write.
//
// The attributes are per thread: the thread that writes them must be the
// one that calls execve(2) (or keyctl(2)), locked to its goroutine.
//
// Host gathers the paths and the procfs opener, so that tests can drive
// every code path against files in a temporary directory. Do not use this
// package to load or manage policy: it only names labels the host's policy
// already knows.
package lsm
