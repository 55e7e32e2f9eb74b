// Package capabilities turns the capability names of a container's
// configuration ("CAP_KILL") into the five Linux capability sets and applies
// them to the calling thread.
//
// It is used by the container's init process, after pivot_root and before
// execve, in two steps that bracket the switch to the container user:
//
//	caps, unknown, err := capabilities.New(cfg.Capabilities) // warn about unknown
//	caps.ApplyBoundingSet()  // prctl(PR_CAPBSET_DROP), while still privileged
//	... setgroups/setresgid/setresuid with PR_SET_KEEPCAPS ...
//	caps.ApplyCaps()         // capset(2) + prctl(PR_CAP_AMBIENT)
//
// The kernel interfaces are capset(2) and prctl(2) through
// github.com/moby/sys/capability. All of them act on the calling thread only,
// so both steps must run on the OS thread that later calls execve (lock it
// with runtime.LockOSThread before the first step).
//
// Do not use this package to inspect or change another process's
// capabilities, or in a process that must keep its privileges afterwards:
// it drops capabilities for good.
package capabilities
