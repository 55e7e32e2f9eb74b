package configs

// Mount is one entry of the container's mount list, with its options already
// split into kernel flags, propagation, recursive attributes and data.
type Mount struct {
	// Source is the mount source: a host path for binds, a name otherwise.
	Source string `json:"source"`
	// Destination is the absolute path inside the container.
	Destination string `json:"destination"`
	// Device is the filesystem type ("bind" for bind mounts).
	Device string `json:"device"`
	// Flags are the MS_* flags for mount(2).
	Flags int `json:"flags"`
	// ClearedFlags are MS_* flags the options explicitly cleared ("rw",
	// "suid", ...), so that a bind remount keeps only what was asked.
	ClearedFlags int `json:"cleared_flags,omitempty"`
	// PropagationFlags are applied one by one after mounting (MS_SHARED,
	// MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE, each maybe with MS_REC).
	PropagationFlags []int `json:"propagation_flags,omitempty"`
	// Data is the comma-separated filesystem data ("mode=755,size=65536k").
	Data string `json:"data,omitempty"`
	// RecAttr holds recursive mount attributes (rro, rnosuid, ...) applied
	// with mount_setattr(AT_RECURSIVE).
	RecAttr *MountAttr `json:"rec_attr,omitempty"`
	// Extensions are berth's option bits (EXT_COPYUP for tmpcopyup).
	Extensions int `json:"extensions,omitempty"`
	// IDMapping makes the mount an idmapped mount (mounts[].uidMappings,
	// gidMappings and the "idmap"/"ridmap" options); nil for a plain mount.
	IDMapping *MountIDMapping `json:"id_mapping,omitempty"`
}

// MountIDMapping says how an idmapped mount maps IDs: either through
// explicit mappings or through an existing user namespace.
type MountIDMapping struct {
	// UIDMappings and GIDMappings are the mount's ID mappings.
	UIDMappings []IDMap `json:"uid_mappings,omitempty"`
	GIDMappings []IDMap `json:"gid_mappings,omitempty"`
	// UserNSPath is a user namespace whose mappings the mount uses, set
	// when the container joins an existing user namespace and the mount has
	// no mappings of its own.
	UserNSPath string `json:"userns_path,omitempty"`
	// Recursive applies the mapping to every submount ("ridmap").
	Recursive bool `json:"recursive,omitempty"`
}

// IsIDMapped reports whether the mount is an idmapped mount.
func (m *Mount) IsIDMapped() bool { return m.IDMapping != nil }

// MountAttr mirrors struct mount_attr of mount_setattr(2).
type MountAttr struct {
	AttrSet     uint64 `json:"attr_set,omitempty"`
	AttrClr     uint64 `json:"attr_clr,omitempty"`
	Propagation uint64 `json:"propagation,omitempty"`
}

// EXT_COPYUP copies the content shadowed by a tmpfs mount into it
// (the "tmpcopyup" option).
const EXT_COPYUP = 1 << iota //nolint:revive // runc's name, kept for readers who know it.

// IsBind reports whether the mount is a bind mount.
func (m *Mount) IsBind() bool { return m.Flags&msBind != 0 }

const msBind = 0x1000 // unix.MS_BIND, spelled here to keep this file portable.
