package specconv

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// CreateOpts is what CreateConfig converts, and how.
type CreateOpts struct {
	// CgroupName is the container id. It names the cgroup when the spec
	// has no linux.cgroupsPath: /berth/<CgroupName>, or the systemd scope
	// berth-<CgroupName>.scope.
	CgroupName string
	// UseSystemdCgroup selects the systemd cgroup driver; cgroupsPath is
	// then "slice:prefix:name" (runc's --systemd-cgroup).
	UseSystemdCgroup bool
	// NoPivotRoot makes the container use MS_MOVE and chroot instead of
	// pivot_root(2), for a rootfs on a ramdisk (runc's --no-pivot).
	NoPivotRoot bool
	// NoNewKeyring keeps the caller's session keyring instead of creating
	// one for the container (runc's --no-new-keyring).
	NoNewKeyring bool
	// Spec is the OCI runtime spec to convert; it is not modified, and the
	// Config shares no memory with it.
	Spec *specs.Spec
	// RootlessEUID says that the caller is not root in the initial user
	// namespace (euid != 0).
	RootlessEUID bool
	// RootlessCgroups makes cgroup permission errors non-fatal, for a
	// caller that may not own any cgroup.
	RootlessCgroups bool
	// Logger receives warnings about accepted but questionable input
	// (relative mount destinations, ignored fields). Nil discards them.
	Logger *slog.Logger
}

// CreateConfig converts opts.Spec into a configs.Config. The current working
// directory is the bundle: a relative root.path and relative bind-mount
// sources are taken from it, and it is recorded as the label
// "bundle=<cwd>".
//
// The result is not checked against the host; call Validate on it. (One
// thing is read from the host: the ID maps of a user namespace joined by
// path, when the spec gives none.) Errors
// are *configs.FieldError values naming the spec field.
func CreateConfig(opts *CreateOpts) (*configs.Config, error) {
	if opts == nil || opts.Spec == nil {
		return nil, errors.New("create config: no spec")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cwd, err := getwd()
	if err != nil {
		return nil, fmt.Errorf("create config: %w", err)
	}
	spec := opts.Spec
	c, err := convertRoot(opts, cwd)
	if err != nil {
		return nil, err
	}
	table := mountOptions()
	for i, m := range spec.Mounts {
		c.Mounts = append(c.Mounts, convertMount(table, log, cwd, i, m))
	}
	if err := convertLinux(opts, c); err != nil {
		return nil, err
	}
	defaultRules, err := convertDevices(spec, c)
	if err != nil {
		return nil, err
	}
	if c.Cgroups, err = convertCgroup(opts, log, defaultRules); err != nil {
		return nil, err
	}
	if err := convertProcess(spec.Process, c); err != nil {
		return nil, err
	}
	c.Hooks = convertHooks(spec.Hooks)
	warnIgnored(log, spec)
	return c, nil
}

// getwd returns the working directory as the kernel knows it: unlike
// os.Getwd it never trusts $PWD, so the result is absolute and clean.
func getwd() (string, error) {
	for {
		wd, err := unix.Getwd()
		if err == unix.EINTR { //nolint:errorlint // unix.Getwd returns a bare Errno.
			continue
		}
		if err != nil {
			return "", os.NewSyscallError("getwd", err)
		}
		return wd, nil
	}
}

// convertRoot converts the fields that need no linux object: root, names,
// labels and the caller's options.
func convertRoot(opts *CreateOpts, cwd string) (*configs.Config, error) {
	spec := opts.Spec
	if spec.Root == nil {
		return nil, &configs.FieldError{Field: "root", Err: errors.New("missing")}
	}
	if spec.Root.Path == "" {
		return nil, &configs.FieldError{Field: "root.path", Err: errors.New("missing")}
	}
	rootfs := spec.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(cwd, rootfs)
	}
	return &configs.Config{
		Rootfs:          rootfs,
		Readonlyfs:      spec.Root.Readonly,
		NoPivotRoot:     opts.NoPivotRoot,
		NoNewKeyring:    opts.NoNewKeyring,
		Hostname:        spec.Hostname,
		Domainname:      spec.Domainname,
		Labels:          []string{"bundle=" + cwd},
		Version:         spec.Version,
		Annotations:     maps.Clone(spec.Annotations),
		RootlessEUID:    opts.RootlessEUID,
		RootlessCgroups: opts.RootlessCgroups,
	}, nil
}

// convertLinux converts the linux object but for devices and resources.
func convertLinux(opts *CreateOpts, c *configs.Config) error {
	l := opts.Spec.Linux
	if l == nil {
		return nil
	}
	if err := convertNamespaces(l.Namespaces, c); err != nil {
		return err
	}
	c.UIDMappings = idMaps(l.UIDMappings)
	c.GIDMappings = idMaps(l.GIDMappings)
	for i, ns := range l.Namespaces {
		if ns.Type == specs.UserNamespace {
			if err := fillJoinedUserNS(c, fmt.Sprintf("linux.namespaces[%d].path", i)); err != nil {
				return err
			}
		}
	}
	shareUserNSWithIDMappedMounts(c)
	if l.TimeOffsets != nil {
		c.TimeOffsets = make(map[string]configs.TimeOffset, len(l.TimeOffsets))
		for clock, o := range l.TimeOffsets {
			c.TimeOffsets[clock] = configs.TimeOffset{Secs: o.Secs, Nanosecs: o.Nanosecs}
		}
	}
	c.Sysctl = maps.Clone(l.Sysctl)
	c.MaskPaths = slices.Clone(l.MaskedPaths)
	c.ReadonlyPaths = slices.Clone(l.ReadonlyPaths)
	c.MountLabel = l.MountLabel
	prop, err := rootPropagation(l.RootfsPropagation)
	if err != nil {
		return err
	}
	// Without pivot_root the old root stays reachable, and a private
	// propagation would hide host unmounts from it (runc refuses it too).
	if opts.NoPivotRoot && prop&unix.MS_PRIVATE != 0 {
		return &configs.FieldError{Field: "linux.rootfsPropagation", Err: errors.New("[r]private is not safe without pivot_root")}
	}
	c.RootPropagation = prop
	c.Seccomp, err = Seccomp(l.Seccomp)
	return err
}

// namespaceType maps an OCI namespace type to berth's; ok is false for an
// unknown type.
func namespaceType(t specs.LinuxNamespaceType) (_ configs.NamespaceType, ok bool) {
	switch t {
	case specs.PIDNamespace:
		return configs.NEWPID, true
	case specs.NetworkNamespace:
		return configs.NEWNET, true
	case specs.MountNamespace:
		return configs.NEWNS, true
	case specs.IPCNamespace:
		return configs.NEWIPC, true
	case specs.UTSNamespace:
		return configs.NEWUTS, true
	case specs.UserNamespace:
		return configs.NEWUSER, true
	case specs.CgroupNamespace:
		return configs.NEWCGROUP, true
	case specs.TimeNamespace:
		return configs.NEWTIME, true
	}
	return "", false
}

// KnownNamespaces returns the sorted OCI namespace types CreateConfig
// accepts, as listed by `berth features`.
func KnownNamespaces() []string {
	return []string{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}
}

func convertNamespaces(in []specs.LinuxNamespace, c *configs.Config) error {
	for i, ns := range in {
		field := fmt.Sprintf("linux.namespaces[%d].type", i)
		t, ok := namespaceType(ns.Type)
		if !ok {
			return &configs.FieldError{Field: field, Err: fmt.Errorf("unknown namespace %q", string(ns.Type))}
		}
		if c.Namespaces.Contains(t) {
			return &configs.FieldError{Field: field, Err: fmt.Errorf("duplicate namespace %q", string(ns.Type))}
		}
		c.Namespaces = append(c.Namespaces, configs.Namespace{Type: t, Path: ns.Path})
	}
	return nil
}

// shareUserNSWithIDMappedMounts gives an idmapped mount without mappings of
// its own ("idmap" alone) the container's user namespace: its mappings, or
// the path of the user namespace it joins.
func shareUserNSWithIDMappedMounts(c *configs.Config) {
	if !c.Namespaces.Contains(configs.NEWUSER) {
		return
	}
	for _, m := range c.Mounts {
		id := m.IDMapping
		if id == nil || id.UIDMappings != nil || id.GIDMappings != nil {
			continue
		}
		if p := c.Namespaces.PathOf(configs.NEWUSER); p != "" {
			id.UserNSPath = p
			continue
		}
		id.UIDMappings = slices.Clone(c.UIDMappings)
		id.GIDMappings = slices.Clone(c.GIDMappings)
	}
}

func idMaps(in []specs.LinuxIDMapping) []configs.IDMap {
	if in == nil {
		return nil
	}
	out := make([]configs.IDMap, len(in))
	for i, m := range in {
		out[i] = configs.IDMap{ContainerID: int64(m.ContainerID), HostID: int64(m.HostID), Size: int64(m.Size)}
	}
	return out
}

// rootPropagation maps linux.rootfsPropagation to the MS_* flags applied to
// the container's root mount. The spec's values apply to the whole tree, so
// they are recursive; the r-prefixed spellings are accepted as synonyms.
func rootPropagation(p string) (int, error) {
	switch p {
	case "":
		return 0, nil
	case "shared", "rshared":
		return unix.MS_SHARED | unix.MS_REC, nil
	case "slave", "rslave":
		return unix.MS_SLAVE | unix.MS_REC, nil
	case "private", "rprivate":
		return unix.MS_PRIVATE | unix.MS_REC, nil
	case "unbindable", "runbindable":
		return unix.MS_UNBINDABLE | unix.MS_REC, nil
	}
	return 0, &configs.FieldError{Field: "linux.rootfsPropagation", Err: fmt.Errorf("unknown propagation %q, want shared, slave, private or unbindable", p)}
}

// rlimitType maps an RLIMIT_* name to its number (getrlimit(2)).
func rlimitType(name string) (int, bool) {
	switch name {
	case "RLIMIT_AS":
		return unix.RLIMIT_AS, true
	case "RLIMIT_CORE":
		return unix.RLIMIT_CORE, true
	case "RLIMIT_CPU":
		return unix.RLIMIT_CPU, true
	case "RLIMIT_DATA":
		return unix.RLIMIT_DATA, true
	case "RLIMIT_FSIZE":
		return unix.RLIMIT_FSIZE, true
	case "RLIMIT_LOCKS":
		return unix.RLIMIT_LOCKS, true
	case "RLIMIT_MEMLOCK":
		return unix.RLIMIT_MEMLOCK, true
	case "RLIMIT_MSGQUEUE":
		return unix.RLIMIT_MSGQUEUE, true
	case "RLIMIT_NICE":
		return unix.RLIMIT_NICE, true
	case "RLIMIT_NOFILE":
		return unix.RLIMIT_NOFILE, true
	case "RLIMIT_NPROC":
		return unix.RLIMIT_NPROC, true
	case "RLIMIT_RSS":
		return unix.RLIMIT_RSS, true
	case "RLIMIT_RTPRIO":
		return unix.RLIMIT_RTPRIO, true
	case "RLIMIT_RTTIME":
		return unix.RLIMIT_RTTIME, true
	case "RLIMIT_SIGPENDING":
		return unix.RLIMIT_SIGPENDING, true
	case "RLIMIT_STACK":
		return unix.RLIMIT_STACK, true
	}
	return 0, false
}

// convertProcess converts the parts of the process object that configs.Config
// holds; args, env, cwd, user and terminal are left to the caller.
func convertProcess(p *specs.Process, c *configs.Config) error {
	if p == nil {
		return nil
	}
	rl, err := Rlimits(p.Rlimits)
	if err != nil {
		return err
	}
	c.Rlimits = rl
	c.Capabilities = Capabilities(p.Capabilities)
	c.NoNewPrivileges = p.NoNewPrivileges
	c.OomScoreAdj = clone(p.OOMScoreAdj)
	c.Umask = clone(p.User.Umask)
	c.AppArmorProfile = p.ApparmorProfile
	c.ProcessLabel = p.SelinuxLabel
	return nil
}

func convertHooks(h *specs.Hooks) configs.Hooks {
	if h == nil {
		return nil
	}
	out := configs.Hooks{}
	for _, kind := range []struct {
		name  configs.HookName
		hooks []specs.Hook
	}{
		{configs.Prestart, h.Prestart}, //nolint:staticcheck // SA1019: prestart is deprecated but still run, as the spec requires.
		{configs.CreateRuntime, h.CreateRuntime},
		{configs.CreateContainer, h.CreateContainer},
		{configs.StartContainer, h.StartContainer},
		{configs.Poststart, h.Poststart},
		{configs.Poststop, h.Poststop},
	} {
		for _, sh := range kind.hooks {
			cmd := configs.Command{Path: sh.Path, Args: slices.Clone(sh.Args), Env: slices.Clone(sh.Env)}
			if sh.Timeout != nil {
				d := time.Duration(*sh.Timeout) * time.Second
				cmd.Timeout = &d
			}
			out[kind.name] = append(out[kind.name], cmd)
		}
	}
	return out
}

// warnIgnored reports the spec fields that configs.Config cannot hold yet.
func warnIgnored(log *slog.Logger, spec *specs.Spec) {
	var fields []string
	if l := spec.Linux; l != nil {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"linux.intelRdt", l.IntelRdt != nil},
			{"linux.personality", l.Personality != nil},
			{"linux.memoryPolicy", l.MemoryPolicy != nil},
			{"linux.netDevices", len(l.NetDevices) > 0},
		} {
			if f.set {
				fields = append(fields, f.name)
			}
		}
	}
	if p := spec.Process; p != nil {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"process.scheduler", p.Scheduler != nil},
			{"process.ioPriority", p.IOPriority != nil},
			{"process.execCPUAffinity", p.ExecCPUAffinity != nil},
		} {
			if f.set {
				fields = append(fields, f.name)
			}
		}
	}
	for _, f := range fields {
		log.Warn("spec field is not supported yet and is ignored", "field", f)
	}
}
