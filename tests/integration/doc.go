// Package integration holds berth's end-to-end tests: each test builds a
// busybox bundle, drives the built bin/berth binary (BERTH_BINARY) as root,
// and checks what the container saw and what it left behind.
//
// Every container gets an absolute cgroupsPath under /berth-test, and
// TestMain checks at the end that no container, mount, cgroup or process
// is left over. Tests skip, with the reason, when not run as root or when
// the binary or busybox is missing.
package integration
