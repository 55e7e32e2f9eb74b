package launch

import (
	"github.com/berthrt/berth/libcontainer/internal/lsm"
	"github.com/berthrt/berth/libcontainer/internal/rootfs"
)

// mountLabel is how rootfs applies the container's SELinux mount label
// (linux.mountLabel): a context= option on the filesystems that take one,
// a file label on mqueue's root. No label, no cost.
func (p *initProc) mountLabel() rootfs.MountLabel {
	label := p.cfg.MountLabel
	if label == "" {
		return rootfs.MountLabel{}
	}
	var h lsm.Host
	return rootfs.MountLabel{
		Data: func(data string) string { return lsm.FormatMountLabel(data, label) },
		File: func(path string) error { return h.SetFileLabel(path, label) },
	}
}
