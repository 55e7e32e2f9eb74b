// Package libcontainer creates and runs Linux containers: it places a
// process in new namespaces and a cgroup, gives it its own root filesystem,
// credentials and limits, and manages the container's life (create, start,
// signal, pause, resume, destroy) through a state directory.
//
// A container starts in two steps. Create validates the config and makes
// the container's state directory. Start (or Run) re-executes the calling
// binary as "<binary> init": that init process is the container's first
// process; it sets the container up and then execs the user's program.
// Every program that uses this package must therefore call Init first
// thing in main (or in TestMain):
//
//	func main() {
//		libcontainer.Init() // returns only when this is not the init process
//		...
//	}
//
// The kernel interfaces used are clone(2) flags and ID maps through
// syscall.SysProcAttr, the cgroup filesystems, mount(2) and pivot_root(2),
// pidfds, and the exec socket in the state directory that berth start connects to.
//
// Do not use this package from a process that is not root (rootless
// containers are a later addition), nor from one that shares its state
// directory with runc: the state formats differ.
package libcontainer
