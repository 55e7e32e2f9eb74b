// Package configs holds the normalised, kernel-ready description of a
// container: its root filesystem, namespaces, cgroup, mounts, devices, process
// credentials and limits.
//
// A Config is plain data. It is produced from an OCI runtime spec by package
// specconv, checked once by Validate before the first fork, stored in the
// container's state, and read by the init process. Every decision that
// depends on the host (is a user namespace in use, which cgroup driver, which
// devices) is taken before a Config is built and stored in it as a value, so
// that nothing downstream has to decide again.
//
// The package makes no system calls except in Validate's host checks, and
// imports nothing else of berth: it is the ground floor of the module.
package configs
