package rootfs

import (
	"os"
)

// MountLabel applies the container's SELinux mount label
// (linux.mountLabel). rootfs does not speak to the security module itself:
// the init fills this in from package lsm.
type MountLabel struct {
	// Data returns a filesystem's mount data with the label added (a
	// context="..." option); nil adds nothing.
	Data func(data string) string
	// File labels the file at path (its security.selinux attribute); it
	// does nothing on a host without SELinux. Nil does nothing.
	File func(path string) error
}

// labelData adds the mount label to the data of filesystem type device,
// where runc adds it: every filesystem the container mounts but proc and
// sysfs (SELinux cannot label them), mqueue (labelled as a file instead,
// see labelFile) and cgroup; bind mounts carry no data.
func (l MountLabel) labelData(device, data string) string {
	if l.Data == nil {
		return data
	}
	switch device {
	case "proc", "sysfs", "mqueue", "cgroup", "cgroup2", "bind":
		return data
	}
	return l.Data(data)
}

// labelFile labels the root of the mount at dst, as runc labels an mqueue
// mount once it is mounted.
func (l MountLabel) labelFile(dst *os.File, dest string) error {
	if l.File == nil {
		return nil
	}
	if err := l.File(procFd(dst)); err != nil {
		return &os.PathError{Op: "label", Path: dest, Err: err}
	}
	return nil
}
