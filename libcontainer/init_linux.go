package libcontainer

import (
	"os"
	"runtime"

	"github.com/berthrt/berth/libcontainer/internal/capabilities"
	"github.com/berthrt/berth/libcontainer/internal/launch"
)

// isInit reports whether this process is a container's init, re-executed
// by Start as "<binary> init".
func isInit() bool { return len(os.Args) > 1 && os.Args[1] == "init" }

func init() {
	if isInit() {
		// The init must stay on the main thread: namespaces unshared
		// during setup and the credentials set by capset(2) are per
		// thread, and execve runs from this one.
		runtime.GOMAXPROCS(1)
		runtime.LockOSThread()
	}
}

// Init runs the container init process when this process is one, and
// never returns in that case. Otherwise it returns at once. Call it first
// in main, and in TestMain for tests that start containers.
func Init() {
	if isInit() {
		launch.Main()
	}
}

// KnownCapabilities returns the names of the capabilities this kernel knows
// ("CAP_CHOWN", …), as berth features lists them.
func KnownCapabilities() []string { return capabilities.Known() }
