// Package seccomp compiles a container's seccomp profile (configs.Seccomp,
// from the OCI linux.seccomp object) to a classic BPF program, and loads
// it with seccomp(2) (SECCOMP_SET_MODE_FILTER).
//
// The compiler is pure Go and decides as libseccomp 2.5 does, as runc
// drives it: the same architecture dispatch (x86_64, x86 and x32 on an
// amd64 host), 64-bit argument comparisons split into their high and low
// halves, conditions on the same argument turned into separate rules,
// rules equal to the default action dropped, and unknown system call
// names skipped. A differential test (compile_diff_test.go) runs both
// programs over every system call with sampled arguments. It adds runc's
// -ENOSYS stub (libcontainer/seccomp/patchbpf): when the default action
// denies, a system call numbered above every one the profile names
// returns ENOSYS, so that libc falls back from calls it does not know the
// kernel lacks (clone3).
//
// System call numbers come from github.com/elastic/go-seccomp-bpf's
// per-architecture tables, generated from the kernel's syscall tables, and
// copied into ztables.go by go generate (internal/gentables): arrays of
// constants cost nothing when berth starts, that package's maps do.
//
// Do not use it for a filter on a foreign architecture: only the ABIs an
// amd64 kernel runs are compiled, the others are left out (an amd64
// kernel never reports them).
package seccomp
