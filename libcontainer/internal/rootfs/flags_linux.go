package rootfs

import "golang.org/x/sys/unix"

// stNoSymfollow is ST_NOSYMFOLLOW of statfs(2) (Linux 5.10), missing from
// x/sys/unix.
const stNoSymfollow = 0x2000

// defaultMountFlags are the flags of the cgroup mounts runc makes.
const defaultMountFlags = unix.MS_NOEXEC | unix.MS_NOSUID | unix.MS_NODEV

// msAtime are the MS_* flags that choose how atime is updated.
const msAtime = unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME

// flagBit is one on/off mount flag in its three spellings.
type flagBit struct {
	ms   int    // MS_* of mount(2)
	attr uint64 // MOUNT_ATTR_* of mount_setattr(2)
	st   int64  // ST_* of statfs(2)
}

// attrPlain returns the on/off mount flags (atime aside).
func attrPlain() [5]flagBit {
	return [...]flagBit{
		{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY, unix.ST_RDONLY},
		{unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID, unix.ST_NOSUID},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV, unix.ST_NODEV},
		{unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC, unix.ST_NOEXEC},
		{unix.MS_NOSYMFOLLOW, unix.MOUNT_ATTR_NOSYMFOLLOW, stNoSymfollow},
	}
}

// attrAll is every plain attribute of attrPlain.
const attrAll = unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV |
	unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NOSYMFOLLOW

// bindAttr turns a bind mount's MS_* flags into the mount_setattr(2) change
// that makes the bind carry exactly those flags, as "mount --bind -o ..."
// means and runc implements: requested flags set, the other on/off flags
// cleared, atime left alone unless an atime flag is given. With MS_REMOUNT
// (the user wrote "remount") only the requested and the explicitly cleared
// flags change ("mount --bind -o remount,..."). ok is false when the
// flags ask for nothing, so the bind keeps the source's flags untouched.
func bindAttr(flags, cleared int) (attr unix.MountAttr, ok bool) {
	const ignore = unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT
	if flags&^ignore == 0 && cleared == 0 {
		return attr, false
	}
	for _, f := range attrPlain() {
		switch {
		case flags&f.ms != 0:
			attr.Attr_set |= f.attr
		case flags&unix.MS_REMOUNT == 0 || cleared&f.ms != 0:
			attr.Attr_clr |= f.attr
		}
	}
	if flags&msAtime != 0 {
		attr.Attr_clr |= unix.MOUNT_ATTR__ATIME | unix.MOUNT_ATTR_NODIRATIME
		switch {
		case flags&unix.MS_NOATIME != 0:
			attr.Attr_set |= unix.MOUNT_ATTR_NOATIME
		case flags&unix.MS_STRICTATIME != 0:
			attr.Attr_set |= unix.MOUNT_ATTR_STRICTATIME
		default:
			attr.Attr_set |= unix.MOUNT_ATTR_RELATIME
		}
		if flags&unix.MS_NODIRATIME != 0 {
			attr.Attr_set |= unix.MOUNT_ATTR_NODIRATIME
		}
	}
	return attr, true
}

// statfsAttr returns the on/off MOUNT_ATTR_* bits of a mount from its
// statfs(2) f_flags. In a user namespace the kernel locks these on mounts
// inherited from a more privileged namespace: they can be set, never
// cleared.
func statfsAttr(stFlags int64) uint64 {
	var attr uint64
	for _, f := range attrPlain() {
		if stFlags&f.st != 0 {
			attr |= f.attr
		}
	}
	return attr
}

// keepLocked adapts attr so that it no longer clears flags the source mount
// has (locked ones among them). It fails when the config explicitly asked
// to clear one of them: the result would not match the request.
func keepLocked(attr unix.MountAttr, srcAttr uint64, cleared int) (unix.MountAttr, bool) {
	var clearedAttr uint64
	for _, f := range attrPlain() {
		if cleared&f.ms != 0 {
			clearedAttr |= f.attr
		}
	}
	if clearedAttr&srcAttr != 0 {
		return attr, false
	}
	attr.Attr_clr &^= srcAttr & attrAll
	return attr, true
}
