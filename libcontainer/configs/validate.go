package configs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrCgroupV1NoUnified is the error (wrapped in a *FieldError for
// "linux.resources.unified") for unified cgroup v2 resources on a host whose
// cgroups are not v2.
var ErrCgroupV1NoUnified = errors.New("cgroup v2 is not enabled on this host, can't use unified resources")

// ValidateOptions carries the host facts that Validate depends on, so that a
// caller (or a test) can decide them. A nil field is asked of this host.
type ValidateOptions struct {
	// CgroupV2 reports whether the host runs cgroup v2 in unified mode.
	CgroupV2 func() bool
	// NamespaceSupported reports whether the kernel has namespaces of kind t.
	NamespaceSupported func(t NamespaceType) bool
	// IsHostNetNS reports whether the network namespace file at path is the
	// caller's own network namespace.
	IsHostNetNS func(path string) (bool, error)
}

// Validate checks the config before anything is created, with the host facts
// asked of this host. It returns a *FieldError naming the first offending
// field, in OCI spelling ("mounts[3].destination", "linux.uidMappings").
//
// Validate is pure except for these host checks: the rootfs and namespace
// paths must exist, the kernel must support the namespace kinds used, the
// cgroup version decides whether unified resources are allowed, and a joined
// network namespace is compared with the caller's own.
func (c *Config) Validate() error { return c.ValidateWith(ValidateOptions{}) }

// ValidateWith is Validate with host facts given by the caller.
func (c *Config) ValidateWith(o ValidateOptions) error {
	o.fillDefaults()
	checks := []func(*Config, *ValidateOptions) error{
		(*Config).checkRootfs,
		(*Config).checkNamespaces,
		(*Config).checkUserNamespace,
		(*Config).checkTimeNamespace,
		(*Config).checkUTS,
		(*Config).checkMaskedPaths,
		(*Config).checkSysctl,
		(*Config).checkMounts,
		(*Config).checkDevices,
		(*Config).checkProcess,
		(*Config).checkHooks,
		(*Config).checkCgroups,
		(*Config).checkRootless,
	}
	for _, check := range checks {
		if err := check(c, &o); err != nil {
			return err
		}
	}
	return nil
}

func (o *ValidateOptions) fillDefaults() {
	if o.CgroupV2 == nil {
		o.CgroupV2 = hostCgroupV2
	}
	if o.NamespaceSupported == nil {
		o.NamespaceSupported = hostNamespaceSupported
	}
	if o.IsHostNetNS == nil {
		o.IsHostNetNS = hostIsHostNetNS
	}
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// checkRootfs: the rootfs must be an existing directory named by an absolute
// path that does not go through a symlink (runc refuses symlinked rootfs
// paths too, because later steps compare mount points against it).
func (c *Config) checkRootfs(*ValidateOptions) error {
	const field = "root.path"
	if c.Rootfs == "" {
		return fieldErr(field, "missing")
	}
	if !filepath.IsAbs(c.Rootfs) {
		return fieldErr(field, "%q is not an absolute path", c.Rootfs)
	}
	fi, err := os.Stat(c.Rootfs)
	if err != nil {
		return &FieldError{Field: field, Err: err}
	}
	if !fi.IsDir() {
		return fieldErr(field, "%s is not a directory", c.Rootfs)
	}
	resolved, err := filepath.EvalSymlinks(c.Rootfs)
	if err != nil {
		return &FieldError{Field: field, Err: err}
	}
	if resolved != filepath.Clean(c.Rootfs) {
		return fieldErr(field, "%s goes through a symlink (it resolves to %s)", c.Rootfs, resolved)
	}
	return nil
}

func (c *Config) checkNamespaces(o *ValidateOptions) error {
	for i, ns := range c.Namespaces {
		typeField := fmt.Sprintf("linux.namespaces[%d].type", i)
		if ns.Type.CloneFlag() == 0 {
			return fieldErr(typeField, "unknown namespace type %q", string(ns.Type))
		}
		if slices.IndexFunc(c.Namespaces[:i], func(n Namespace) bool { return n.Type == ns.Type }) >= 0 {
			return fieldErr(typeField, "duplicate namespace %q", string(ns.Type))
		}
		if !o.NamespaceSupported(ns.Type) {
			return fieldErr(typeField, "%s namespaces aren't enabled in the kernel", ns.Type.ProcName())
		}
		if ns.Path == "" {
			continue
		}
		pathField := fmt.Sprintf("linux.namespaces[%d].path", i)
		if !filepath.IsAbs(ns.Path) {
			return fieldErr(pathField, "%q is not an absolute path", ns.Path)
		}
		if _, err := os.Stat(ns.Path); err != nil {
			return &FieldError{Field: pathField, Err: err}
		}
	}
	return nil
}

// checkUserNamespace: a new user namespace needs both mappings; mappings
// without a user namespace are refused rather than silently dropped. Joining
// an existing user namespace needs no mappings (it has its own).
func (c *Config) checkUserNamespace(*ValidateOptions) error {
	if c.Namespaces.Contains(NEWUSER) {
		if c.Namespaces.PathOf(NEWUSER) == "" {
			if len(c.UIDMappings) == 0 {
				return fieldErr("linux.uidMappings", "user namespace enabled, but no uid mappings found")
			}
			if len(c.GIDMappings) == 0 {
				return fieldErr("linux.gidMappings", "user namespace enabled, but no gid mappings found")
			}
		}
	} else {
		if len(c.UIDMappings) > 0 {
			return fieldErr("linux.uidMappings", "uid/gid mappings requires user namespace")
		}
		if len(c.GIDMappings) > 0 {
			return fieldErr("linux.gidMappings", "uid/gid mappings requires user namespace")
		}
	}
	if err := checkIDMaps("linux.uidMappings", c.UIDMappings); err != nil {
		return err
	}
	return checkIDMaps("linux.gidMappings", c.GIDMappings)
}

func checkIDMaps(field string, maps []IDMap) error {
	for i, m := range maps {
		if m.Size <= 0 {
			return fieldErr(fmt.Sprintf("%s[%d].size", field, i), "must be greater than zero")
		}
		if m.ContainerID < 0 || m.HostID < 0 {
			return fieldErr(fmt.Sprintf("%s[%d]", field, i), "ids must not be negative")
		}
	}
	return nil
}

// checkTimeNamespace: offsets exist only for a time namespace the container
// creates; the kernel takes them through /proc/self/timens_offsets before the
// first process enters it (time_namespaces(7)).
func (c *Config) checkTimeNamespace(*ValidateOptions) error {
	const field = "linux.timeOffsets"
	if len(c.TimeOffsets) == 0 {
		return nil
	}
	if !c.Namespaces.Contains(NEWTIME) {
		return fieldErr(field, "time namespace offsets specified, but time namespace isn't enabled in the config")
	}
	if c.Namespaces.PathOf(NEWTIME) != "" {
		return fieldErr(field, "time namespace offsets can only be set for a new time namespace, not a joined one")
	}
	for _, clock := range sortedKeys(c.TimeOffsets) {
		if clock != "monotonic" && clock != "boottime" {
			return fieldErr(fmt.Sprintf("%s[%q]", field, clock), "unknown clock, want \"monotonic\" or \"boottime\"")
		}
		if c.TimeOffsets[clock].Nanosecs >= 1e9 {
			return fieldErr(fmt.Sprintf("%s[%q].nanosecs", field, clock), "must be below 1000000000")
		}
	}
	return nil
}

func (c *Config) checkUTS(*ValidateOptions) error {
	if c.Namespaces.Contains(NEWUTS) {
		return nil
	}
	if c.Hostname != "" {
		return fieldErr("hostname", "unable to set hostname without a private UTS namespace")
	}
	if c.Domainname != "" {
		return fieldErr("domainname", "unable to set domainname without a private UTS namespace")
	}
	return nil
}

func (c *Config) checkMaskedPaths(*ValidateOptions) error {
	for _, l := range []struct {
		field string
		paths []string
	}{
		{"linux.maskedPaths", c.MaskPaths},
		{"linux.readonlyPaths", c.ReadonlyPaths},
	} {
		if len(l.paths) > 0 && !c.Namespaces.Contains(NEWNS) {
			return fieldErr(l.field, "unable to restrict sys entries without a private MNT namespace")
		}
		for i, p := range l.paths {
			if !filepath.IsAbs(p) {
				return fieldErr(fmt.Sprintf("%s[%d]", l.field, i), "%q is not an absolute path", p)
			}
		}
	}
	return nil
}

// isIPCSysctl reports whether s is one of the kernel.* sysctls that belong
// to the IPC namespace (ipc/ipc_sysctl.c); fs.mqueue.* is namespaced with
// them (ipc/mq_sysctl.c).
func isIPCSysctl(s string) bool {
	switch s {
	case "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
		"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced":
		return true
	}
	return strings.HasPrefix(s, "fs.mqueue.")
}

// checkSysctl allows only sysctls that the container's own namespaces
// isolate, so that a container cannot change the host's settings through
// /proc/sys (the same rules as runc).
func (c *Config) checkSysctl(o *ValidateOptions) error {
	var hostNet *bool
	for _, key := range sortedKeys(c.Sysctl) {
		field := fmt.Sprintf("linux.sysctl[%q]", key)
		s := sysctlDots(key)
		switch {
		case isIPCSysctl(s):
			if !c.Namespaces.Contains(NEWIPC) {
				return fieldErr(field, "sysctl %q is not allowed in the hosts ipc namespace", s)
			}
		case strings.HasPrefix(s, "net."):
			// "Host" means the caller's network namespace: joining it by
			// path is no better than sharing it.
			if hostNet == nil {
				h, err := c.sharesNetNS(o)
				if err != nil {
					return &FieldError{Field: field, Err: fmt.Errorf("invalid netns path: %w", err)}
				}
				hostNet = &h
			}
			if *hostNet {
				return fieldErr(field, "sysctl %q not allowed in host network namespace", s)
			}
		case strings.HasPrefix(s, "user."):
			// /proc/sys/user holds per-user-namespace limits.
			if !c.Namespaces.Contains(NEWUSER) {
				return fieldErr(field, "sysctl %q is not allowed in the hosts user namespace", s)
			}
		case s == "kernel.domainname" && c.Namespaces.Contains(NEWUTS):
			// Namespaced, and the spec has no dedicated field for it.
		case s == "kernel.hostname" && c.Namespaces.Contains(NEWUTS):
			return fieldErr(field, "sysctl %q is not allowed as it conflicts with the OCI %q field", s, "hostname")
		default:
			return fieldErr(field, "sysctl %q is not in a separate kernel namespace", s)
		}
	}
	return nil
}

func (c *Config) sharesNetNS(o *ValidateOptions) (bool, error) {
	if !c.Namespaces.Contains(NEWNET) {
		return true, nil
	}
	path := c.Namespaces.PathOf(NEWNET)
	if path == "" {
		return false, nil
	}
	return o.IsHostNetNS(path)
}

// sysctlDots turns the slash-separated form sysctl(8) also accepts
// ("net/ipv4/conf/eno2.100/rp_filter") into the dotted form
// ("net.ipv4.conf.eno2/100.rp_filter"): the separator is whichever of '.' and
// '/' comes first, and the other one is then part of a name.
func sysctlDots(key string) string {
	i := strings.IndexAny(key, "./")
	if i < 0 || key[i] == '.' {
		return key
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, key)
}

func (c *Config) checkMounts(*ValidateOptions) error {
	for i, m := range c.Mounts {
		if m == nil {
			return fieldErr(fmt.Sprintf("mounts[%d]", i), "missing")
		}
		if !filepath.IsAbs(m.Destination) {
			return fieldErr(fmt.Sprintf("mounts[%d].destination", i), "%q is not an absolute path", m.Destination)
		}
		// The strings cross into C and the kernel, where a NUL would
		// silently cut them short.
		for _, f := range []struct{ name, val string }{
			{"source", m.Source}, {"destination", m.Destination}, {"type", m.Device}, {"options", m.Data},
		} {
			if strings.IndexByte(f.val, 0) >= 0 {
				return fieldErr(fmt.Sprintf("mounts[%d].%s", i, f.name), "contains a NUL byte")
			}
		}
		if err := c.checkIDMappedMount(i, m); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) checkIDMappedMount(i int, m *Mount) error {
	if !m.IsIDMapped() {
		return nil
	}
	if !m.IsBind() {
		return fieldErr(fmt.Sprintf("mounts[%d].options", i), "idmapped mounts are only supported for bind mounts")
	}
	if c.RootlessEUID {
		return fieldErr(fmt.Sprintf("mounts[%d]", i), "idmapped mounts need CAP_SYS_ADMIN in the initial user namespace, not available to a rootless container")
	}
	id := m.IDMapping
	if id.UserNSPath != "" {
		if len(id.UIDMappings) > 0 || len(id.GIDMappings) > 0 {
			return fieldErr(fmt.Sprintf("mounts[%d]", i), "idmapped mount has both a user namespace path and mappings")
		}
		return nil
	}
	if len(id.UIDMappings) == 0 {
		return fieldErr(fmt.Sprintf("mounts[%d].uidMappings", i), "idmapped mount needs uid mappings")
	}
	if len(id.GIDMappings) == 0 {
		return fieldErr(fmt.Sprintf("mounts[%d].gidMappings", i), "idmapped mount needs gid mappings")
	}
	if err := checkIDMaps(fmt.Sprintf("mounts[%d].uidMappings", i), id.UIDMappings); err != nil {
		return err
	}
	return checkIDMaps(fmt.Sprintf("mounts[%d].gidMappings", i), id.GIDMappings)
}

func (c *Config) checkDevices(*ValidateOptions) error {
	for _, d := range c.Devices {
		if d == nil {
			return fieldErr("linux.devices", "nil device")
		}
		if d.Path == "" {
			continue // a cgroup rule only, as in AllowedDevices
		}
		if !filepath.IsAbs(d.Path) {
			return fieldErr("linux.devices", "device path %q is not absolute", d.Path)
		}
		switch d.Type {
		case CharDevice, BlockDevice, FifoDevice:
		default:
			return fieldErr("linux.devices", "device %s: unknown type %q", d.Path, string(d.Type))
		}
	}
	return nil
}

func (c *Config) checkProcess(*ValidateOptions) error {
	for i, r := range c.Rlimits {
		if j := slices.IndexFunc(c.Rlimits[:i], func(o Rlimit) bool { return o.Type == r.Type }); j >= 0 {
			return fieldErr(fmt.Sprintf("process.rlimits[%d].type", i), "duplicate rlimit %s (also process.rlimits[%d])", rlimitName(r.Type), j)
		}
		if r.Soft > r.Hard {
			return fieldErr(fmt.Sprintf("process.rlimits[%d]", i), "soft limit %d is above hard limit %d", r.Soft, r.Hard)
		}
	}
	if c.OomScoreAdj != nil && (*c.OomScoreAdj < -1000 || *c.OomScoreAdj > 1000) {
		return fieldErr("process.oomScoreAdj", "%d is outside [-1000, 1000]", *c.OomScoreAdj)
	}
	if c.Umask != nil && *c.Umask&^0o777 != 0 {
		return fieldErr("process.user.umask", "%#o has bits outside 0777", *c.Umask)
	}
	return nil
}

// hookNames returns the hook points in the order the spec lists them.
func hookNames() []HookName {
	return []HookName{Prestart, CreateRuntime, CreateContainer, StartContainer, Poststart, Poststop}
}

// checkHooks applies the spec's rules: "path ... MUST be absolute" and
// "timeout ... MUST be greater than zero".
func (c *Config) checkHooks(*ValidateOptions) error {
	for _, name := range sortedKeys(c.Hooks) {
		if !slices.Contains(hookNames(), name) {
			return fieldErr("hooks", "unknown hook kind %q", string(name))
		}
	}
	for _, name := range hookNames() {
		for i, h := range c.Hooks[name] {
			if !filepath.IsAbs(h.Path) {
				return fieldErr(fmt.Sprintf("hooks.%s[%d].path", name, i), "%q is not an absolute path", h.Path)
			}
			if h.Timeout != nil && *h.Timeout <= 0 {
				return fieldErr(fmt.Sprintf("hooks.%s[%d].timeout", name, i), "must be greater than zero")
			}
		}
	}
	return nil
}

func (c *Config) checkCgroups(o *ValidateOptions) error {
	cg := c.Cgroups
	if cg == nil {
		return nil
	}
	if (cg.Name != "" || cg.Parent != "") && cg.Path != "" {
		return fieldErr("linux.cgroupsPath", "either a path or a parent and name may be set, not both (path %q, parent %q, name %q)", cg.Path, cg.Parent, cg.Name)
	}
	if cg.Systemd && cg.Path != "" {
		return fieldErr("linux.cgroupsPath", "the systemd driver takes a parent and name, not a path (%q)", cg.Path)
	}
	r := cg.Resources
	if r == nil {
		return nil
	}
	if r.Unified != nil && !o.CgroupV2() {
		return &FieldError{Field: "linux.resources.unified", Err: ErrCgroupV1NoUnified}
	}
	if r.MemorySwap > 0 {
		if r.Memory <= 0 {
			return fieldErr("linux.resources.memory.swap", "unable to set swap limit without memory limit")
		}
		if r.MemorySwap < r.Memory {
			return fieldErr("linux.resources.memory.swap", "memory+swap limit (%d) should be >= memory limit (%d)", r.MemorySwap, r.Memory)
		}
	}
	for i, d := range r.Devices {
		field := fmt.Sprintf("linux.resources.devices[%d]", i)
		if d == nil {
			return fieldErr(field, "missing")
		}
		switch d.Type {
		case WildcardDevice, CharDevice, BlockDevice:
		default:
			return fieldErr(field+".type", "invalid cgroup device type %q", string(d.Type))
		}
		if d.Permissions == "" || strings.Trim(d.Permissions, "rwm") != "" {
			return fieldErr(field+".access", "%q is not a combination of r, w and m", d.Permissions)
		}
	}
	return nil
}

func (c *Config) checkRootless(*ValidateOptions) error {
	if c.RootlessEUID && !c.Namespaces.Contains(NEWUSER) {
		return fieldErr("linux.namespaces", "rootless container requires user namespaces")
	}
	return nil
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// rlimitName spells an RLIMIT_* number for error messages
// (include/uapi/asm-generic/resource.h).
func rlimitName(t int) string {
	names := [...]string{
		"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE",
		"RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",
		"RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
		"RLIMIT_RTPRIO", "RLIMIT_RTTIME",
	}
	if t >= 0 && t < len(names) {
		return names[t]
	}
	return fmt.Sprintf("rlimit %d", t)
}
