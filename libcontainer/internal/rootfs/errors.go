package rootfs

import (
	"strconv"
	"strings"
)

// MountError is a failed mount-related system call, with everything needed
// to reproduce it. Paths are the container's view (Target "/proc"), not the
// /proc/thread-self/fd/N path the call actually used.
type MountError struct {
	// Op is the system call: "mount", "open_tree", "move_mount",
	// "mount_setattr", "fsmount", "umount2" or "pivot_root".
	Op string
	// Source is the mount source ("proc", a host path), or "".
	Source string
	// Target is the mount point, as a path inside the container.
	Target string
	// Device is the filesystem type, or "" for binds and attribute changes.
	Device string
	// Flags are the MS_* (mount) or MOUNT_ATTR_* (mount_setattr) flags.
	Flags uintptr
	// Data is the filesystem data string, if any.
	Data string
	// Err is the underlying error, usually a unix.Errno.
	Err error
}

// Error reads like "mount proc on /proc (type proc, flags 0xe): operation not permitted".
func (e *MountError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Source != "" {
		b.WriteString(" ")
		b.WriteString(e.Source)
		b.WriteString(" on")
	}
	if e.Target != "" {
		b.WriteString(" ")
		b.WriteString(e.Target)
	}
	var details []string
	if e.Device != "" {
		details = append(details, "type "+e.Device)
	}
	if e.Flags != 0 {
		details = append(details, "flags 0x"+strconv.FormatUint(uint64(e.Flags), 16))
	}
	if e.Data != "" {
		details = append(details, "data "+strconv.Quote(e.Data))
	}
	if len(details) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(details, ", "))
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error, so errors.Is(err, unix.EPERM) works.
func (e *MountError) Unwrap() error { return e.Err }
