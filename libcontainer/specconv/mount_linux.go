package specconv

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// optionKind says where a known mount option goes in a configs.Mount.
type optionKind int

const (
	optFlag        optionKind = iota // an MS_* flag of mount(2), in Flags/ClearedFlags
	optPropagation                   // an MS_* propagation, in PropagationFlags
	optRecAttr                       // a MOUNT_ATTR_* bit for mount_setattr(2) with AT_RECURSIVE, in RecAttr
	optExtension                     // a berth extension bit, in Extensions
	optIDMap                         // "idmap"/"ridmap": an idmapped mount
)

// mountOption is one known mount option: set (or, with clear, clear) value.
type mountOption struct {
	kind  optionKind
	clear bool
	value uint64
}

// mountOptions returns the table of the mount options runc knows (the 60 of
// `runc features`, plus idmap and ridmap, which runc reports as a mount
// extension). Any other option is filesystem data ("mode=755", "size=64k").
// It is built per call, so that the package holds no mutable state.
func mountOptions() map[string]mountOption {
	flag := func(v int) mountOption { return mountOption{kind: optFlag, value: uint64(v)} }
	unflag := func(v int) mountOption { return mountOption{kind: optFlag, clear: true, value: uint64(v)} }
	prop := func(v int) mountOption { return mountOption{kind: optPropagation, value: uint64(v)} }
	rec := func(v uint64) mountOption { return mountOption{kind: optRecAttr, value: v} }
	unrec := func(v uint64) mountOption { return mountOption{kind: optRecAttr, clear: true, value: v} }
	return map[string]mountOption{
		// "acl" has no MS_ flag of its own (MS_POSIXACL is for the
		// kernel's use), so, as in runc, it stays filesystem data.
		"async":         unflag(unix.MS_SYNCHRONOUS),
		"atime":         unflag(unix.MS_NOATIME),
		"bind":          flag(unix.MS_BIND),
		"defaults":      flag(0), // mount(8)'s "no flags": known, so never passed as data
		"dev":           unflag(unix.MS_NODEV),
		"diratime":      unflag(unix.MS_NODIRATIME),
		"dirsync":       flag(unix.MS_DIRSYNC),
		"exec":          unflag(unix.MS_NOEXEC),
		"iversion":      flag(unix.MS_I_VERSION),
		"lazytime":      flag(unix.MS_LAZYTIME),
		"loud":          unflag(unix.MS_SILENT),
		"mand":          flag(unix.MS_MANDLOCK),
		"noatime":       flag(unix.MS_NOATIME),
		"nodev":         flag(unix.MS_NODEV),
		"nodiratime":    flag(unix.MS_NODIRATIME),
		"noexec":        flag(unix.MS_NOEXEC),
		"noiversion":    unflag(unix.MS_I_VERSION),
		"nolazytime":    unflag(unix.MS_LAZYTIME),
		"nomand":        unflag(unix.MS_MANDLOCK),
		"norelatime":    unflag(unix.MS_RELATIME),
		"nostrictatime": unflag(unix.MS_STRICTATIME),
		"nosuid":        flag(unix.MS_NOSUID),
		"nosymfollow":   flag(unix.MS_NOSYMFOLLOW), // Linux 5.10
		"rbind":         flag(unix.MS_BIND | unix.MS_REC),
		"relatime":      flag(unix.MS_RELATIME),
		"remount":       flag(unix.MS_REMOUNT),
		"ro":            flag(unix.MS_RDONLY),
		"rw":            unflag(unix.MS_RDONLY),
		"silent":        flag(unix.MS_SILENT),
		"strictatime":   flag(unix.MS_STRICTATIME),
		"suid":          unflag(unix.MS_NOSUID),
		"symfollow":     unflag(unix.MS_NOSYMFOLLOW),
		"sync":          flag(unix.MS_SYNCHRONOUS),

		"private":     prop(unix.MS_PRIVATE),
		"rprivate":    prop(unix.MS_PRIVATE | unix.MS_REC),
		"shared":      prop(unix.MS_SHARED),
		"rshared":     prop(unix.MS_SHARED | unix.MS_REC),
		"slave":       prop(unix.MS_SLAVE),
		"rslave":      prop(unix.MS_SLAVE | unix.MS_REC),
		"unbindable":  prop(unix.MS_UNBINDABLE),
		"runbindable": prop(unix.MS_UNBINDABLE | unix.MS_REC),

		// Recursive attributes (Linux 5.12; nosymfollow 5.14).
		"rro":            rec(unix.MOUNT_ATTR_RDONLY),
		"rrw":            unrec(unix.MOUNT_ATTR_RDONLY),
		"rnosuid":        rec(unix.MOUNT_ATTR_NOSUID),
		"rsuid":          unrec(unix.MOUNT_ATTR_NOSUID),
		"rnodev":         rec(unix.MOUNT_ATTR_NODEV),
		"rdev":           unrec(unix.MOUNT_ATTR_NODEV),
		"rnoexec":        rec(unix.MOUNT_ATTR_NOEXEC),
		"rexec":          unrec(unix.MOUNT_ATTR_NOEXEC),
		"rnodiratime":    rec(unix.MOUNT_ATTR_NODIRATIME),
		"rdiratime":      unrec(unix.MOUNT_ATTR_NODIRATIME),
		"rrelatime":      rec(unix.MOUNT_ATTR_RELATIME),
		"rnorelatime":    unrec(unix.MOUNT_ATTR_RELATIME),
		"rnoatime":       rec(unix.MOUNT_ATTR_NOATIME),
		"ratime":         unrec(unix.MOUNT_ATTR_NOATIME),
		"rstrictatime":   rec(unix.MOUNT_ATTR_STRICTATIME),
		"rnostrictatime": unrec(unix.MOUNT_ATTR_STRICTATIME),
		"rnosymfollow":   rec(unix.MOUNT_ATTR_NOSYMFOLLOW),
		"rsymfollow":     unrec(unix.MOUNT_ATTR_NOSYMFOLLOW),

		"tmpcopyup": {kind: optExtension, value: configs.EXT_COPYUP},

		"idmap":  {kind: optIDMap},
		"ridmap": {kind: optIDMap, value: 1},
	}
}

// KnownMountOptions returns the sorted mount options that CreateConfig
// interprets itself rather than passing to the filesystem, as listed by
// `berth features` (mountOptions). It leaves out idmap and ridmap, which the
// features document reports as a mount extension, as runc does.
func KnownMountOptions() []string {
	var names []string
	for name, o := range mountOptions() {
		if o.kind != optIDMap {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// parseMountOptions splits OCI mount options into a configs.Mount's flags,
// propagation, recursive attributes, extensions and data. Options apply in
// order, so a later "rw" undoes an earlier "ro".
func parseMountOptions(table map[string]mountOption, options []string) *configs.Mount {
	var (
		m              configs.Mount
		data           []string
		attrSet, attrC uint64
	)
	for _, name := range options {
		o, ok := table[name]
		if !ok {
			data = append(data, name)
			continue
		}
		switch o.kind {
		case optFlag:
			f := int(o.value)
			if o.clear {
				m.Flags &^= f
				m.ClearedFlags |= f
			} else {
				m.Flags |= f
				m.ClearedFlags &^= f
			}
		case optPropagation:
			m.PropagationFlags = append(m.PropagationFlags, int(o.value))
		case optRecAttr:
			if o.clear {
				attrC |= o.value
				attrSet &^= o.value
				continue
			}
			attrSet |= o.value
			attrC &^= o.value
			if o.value&unix.MOUNT_ATTR__ATIME == o.value {
				// mount_setattr(2): an access-time mode in attr_set
				// needs MOUNT_ATTR__ATIME in attr_clr too.
				attrC |= unix.MOUNT_ATTR__ATIME
			}
		case optExtension:
			if o.clear {
				m.Extensions &^= int(o.value)
			} else {
				m.Extensions |= int(o.value)
			}
		case optIDMap:
			m.IDMapping = &configs.MountIDMapping{Recursive: o.value != 0}
		}
	}
	m.Data = strings.Join(data, ",")
	if attrSet != 0 || attrC != 0 {
		m.RecAttr = &configs.MountAttr{AttrSet: attrSet, AttrClr: attrC}
	}
	return &m
}

// convertMount converts mounts[i]. A relative destination is accepted with a
// warning and taken from "/", as runc does; a relative bind-mount source is
// taken from the bundle directory cwd.
func convertMount(table map[string]mountOption, log *slog.Logger, cwd string, i int, sm specs.Mount) *configs.Mount {
	m := parseMountOptions(table, sm.Options)
	m.Source = sm.Source
	m.Device = sm.Type
	m.Destination = sm.Destination
	if !filepath.IsAbs(m.Destination) {
		m.Destination = filepath.Join("/", m.Destination)
		log.Warn("mount destination is not absolute; support for non-absolute mount destinations will be removed",
			"field", fmt.Sprintf("mounts[%d].destination", i), "destination", sm.Destination, "using", m.Destination)
	}
	// A "bind" type, or a bind/rbind option, makes a bind mount; any other
	// type given with the option means nothing to the kernel.
	if m.Device == "bind" {
		m.Flags |= unix.MS_BIND
		m.ClearedFlags &^= unix.MS_BIND
	}
	if m.Flags&unix.MS_BIND != 0 {
		m.Device = "bind"
		if !filepath.IsAbs(m.Source) {
			m.Source = filepath.Join(cwd, m.Source)
		}
	}
	if sm.UIDMappings != nil || sm.GIDMappings != nil {
		if m.IDMapping == nil {
			m.IDMapping = &configs.MountIDMapping{}
		}
		m.IDMapping.UIDMappings = idMaps(sm.UIDMappings)
		m.IDMapping.GIDMappings = idMaps(sm.GIDMappings)
	}
	return m
}
