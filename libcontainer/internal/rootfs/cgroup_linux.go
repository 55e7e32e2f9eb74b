package rootfs

import (
	"errors"
	"os"
	"path"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// mountCgroup mounts the container's cgroups at m.Destination, once the
// parent has placed the process in its cgroup.
func (s *setup) mountCgroup(m *configs.Mount) error {
	if err := s.waitCgroup(); err != nil {
		return err
	}
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return err
	}
	cf, err := parseCgroupFile(f)
	f.Close()
	if err != nil {
		return err
	}
	if cgroup2Unified() {
		return s.mountCgroup2(m, cf)
	}
	return s.mountCgroup1(m, cf)
}

// mountCgroup2 mounts cgroup2 in a cgroup namespace; without one (or when
// the kernel refuses), it binds the container's own cgroup directory.
func (s *setup) mountCgroup2(m *configs.Mount, cf cgroupFile) error {
	dest := cleanPath(m.Destination)
	if s.cfg.Namespaces.Contains(configs.NEWCGROUP) {
		dst, _, err := mkdirInRoot(s.root, dest)
		if err != nil {
			return err
		}
		defer dst.Close()
		src := m.Source
		if src == "" {
			src = "cgroup2"
		}
		err = unix.Mount(src, procFd(dst), "cgroup2", uintptr(m.Flags), m.Data)
		if err == nil {
			return s.afterMount(m, dest)
		}
		if !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EBUSY) {
			return &MountError{Op: "mount", Source: src, Target: dest, Device: "cgroup2", Flags: uintptr(m.Flags), Data: m.Data, Err: err}
		}
	}
	return s.mountBind(&configs.Mount{
		Source:           path.Join("/sys/fs/cgroup", cf.v2),
		Destination:      dest,
		Device:           "bind",
		Flags:            m.Flags | unix.MS_BIND | unix.MS_REC,
		PropagationFlags: m.PropagationFlags,
	})
}

// mountCgroup1 builds a v1 cgroup tree: a tmpfs at the destination, then one
// directory per hierarchy the host mounts, holding either a fresh cgroup
// mount (in a cgroup namespace) or a bind of the container's own cgroup of
// that hierarchy. Co-mounted controllers ("cpu,cpuacct") also get one
// symlink per controller. With "ro" the whole tree ends up read-only.
func (s *setup) mountCgroup1(m *configs.Mount, cf cgroupFile) error {
	dest := cleanPath(m.Destination)
	hier, err := s.v1Hierarchies(cf)
	if err != nil {
		return err
	}
	tmpfs := &configs.Mount{
		Source: "tmpfs", Device: "tmpfs", Destination: dest,
		Flags: defaultMountFlags, Data: "mode=755", PropagationFlags: m.PropagationFlags,
	}
	if err := s.mountTmpfs(tmpfs); err != nil {
		return err
	}
	top, err := openInRoot(s.root, dest, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer top.Close()
	cgroupns := s.cfg.Namespaces.Contains(configs.NEWCGROUP)
	for _, h := range hier {
		sub := path.Join(dest, h.name)
		if cgroupns {
			err = mountCgroupV1(top, h, sub, m.Flags)
		} else {
			err = s.mountBind(&configs.Mount{
				Source: h.source, Destination: sub, Device: "bind",
				Flags: unix.MS_BIND | unix.MS_REC | m.Flags, PropagationFlags: m.PropagationFlags,
			})
		}
		if err != nil {
			return err
		}
		if strings.Contains(h.name, ",") {
			for _, c := range strings.Split(h.name, ",") {
				if err := unix.Symlinkat(h.name, int(top.Fd()), c); err != nil && !errors.Is(err, unix.EEXIST) {
					return &os.PathError{Op: "symlink", Path: path.Join(dest, c), Err: err}
				}
			}
		}
	}
	if m.Flags&unix.MS_RDONLY != 0 {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(int(top.Fd()), "", unix.AT_EMPTY_PATH, &attr); err != nil {
			return &MountError{Op: "mount_setattr", Target: dest, Flags: unix.MOUNT_ATTR_RDONLY, Err: err}
		}
	}
	return nil
}

// v1Hierarchy is one cgroup v1 hierarchy mounted on the host.
type v1Hierarchy struct {
	// name is the mount point's base name ("cpu,cpuacct", "systemd").
	name string
	// subsystems are its controllers ("cpu", "cpuacct", "name=systemd").
	subsystems []string
	// source is the host path of the container's cgroup in it.
	source string
}

// v1Hierarchies lists the host's cgroup v1 hierarchies, in mount order,
// once each, leaving out those mounted inside the rootfs.
func (s *setup) v1Hierarchies(cf cgroupFile) ([]v1Hierarchy, error) {
	rootfs := s.cfg.Rootfs
	mounts, err := mountinfo.GetMounts(func(i *mountinfo.Info) (skip, stop bool) {
		inside := i.Mountpoint == rootfs || strings.HasPrefix(i.Mountpoint, rootfs+"/")
		return i.FSType != "cgroup" || inside, false
	})
	if err != nil {
		return nil, err
	}
	var hier []v1Hierarchy
	seen := map[string]bool{}
	for _, mi := range mounts {
		subs := v1Subsystems(mi.VFSOptions, cf)
		name := path.Base(mi.Mountpoint)
		if len(subs) == 0 || seen[name] {
			continue
		}
		seen[name] = true
		rel, err := relCgroupPath(mi.Root, cf.v1[subs[0]])
		if err != nil {
			return nil, err
		}
		hier = append(hier, v1Hierarchy{name: name, subsystems: subs, source: path.Join(mi.Mountpoint, rel)})
	}
	return hier, nil
}

// mountCgroupV1 mounts hierarchy h at top/<h.name>, in a cgroup namespace
// (the mount's root is the namespace's root).
func mountCgroupV1(top *os.File, h v1Hierarchy, dest string, flags int) error {
	if err := unix.Mkdirat(int(top.Fd()), h.name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return &os.PathError{Op: "mkdir", Path: dest, Err: err}
	}
	fd, err := unix.Openat(int(top.Fd()), h.name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dest, Err: err}
	}
	dst := os.NewFile(uintptr(fd), dest)
	defer dst.Close()
	mflags := uintptr(defaultMountFlags | flags&unix.MS_RDONLY)
	data := strings.Join(h.subsystems, ",")
	if err := unix.Mount("cgroup", procFd(dst), "cgroup", mflags, data); err != nil {
		return &MountError{Op: "mount", Source: "cgroup", Target: dest, Device: "cgroup", Flags: mflags, Data: data, Err: err}
	}
	return nil
}
