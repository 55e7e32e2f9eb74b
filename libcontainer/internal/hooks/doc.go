// Package hooks runs the OCI lifecycle hooks of a container (runtime-spec
// v1.3.0, config.md "POSIX-platform Hooks" and runtime.md "Lifecycle"): each
// hook is a host program started with its own argv and environment and the
// container's state JSON on its standard input.
//
// The kernel interfaces are those of os/exec: fork and execve(2) of the
// hook, wait4(2) for its exit and kill(2) (SIGKILL) when its timeout
// expires. The hook's stdout and stderr go to unlinked temporary files, not
// pipes, so a hook that leaves a background process holding them cannot
// block its caller; their last 4 KiB are quoted in the error of a failed
// hook.
//
// The package runs hooks where it is called: in the caller's namespaces, as
// the caller. Hooks that the spec places in the container namespace
// (createContainer, startContainer) must be run from a process that has
// joined it. RunAll stops at the first failure, as every hook point but
// poststop requires; for poststop, whose failures the spec wants logged as
// warnings while the remaining hooks run, call Run for each hook.
//
// Do not use this package to run the container's own processes: it sets no
// namespaces, credentials or limits, and a timeout kills only the hook
// process itself (as runc does), not the children it started.
package hooks
