package cgroups

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/berthrt/berth/libcontainer/configs"
)

// host is what the managers need to know about the machine. Production code
// gets one from hostFacts (read once per process); tests build one from fake
// /proc/self/mountinfo and /proc/self/cgroup content.
type host struct {
	// unified is true on a pure cgroup v2 host.
	unified bool
	// unifiedRoot is where the cgroup2 hierarchy is mounted:
	// /sys/fs/cgroup (pure v2), /sys/fs/cgroup/unified (hybrid) or "".
	unifiedRoot string
	// mounts returns the cgroup v1 hierarchies. Only called on v1.
	mounts func() ([]v1Mount, error)
	// own returns the caller's cgroup by controller, as in
	// /proc/self/cgroup ("" is the unified hierarchy). Only called for a
	// relative cgroup path.
	own func() (map[string]string, error)
}

// v1Mount is one mounted cgroup v1 hierarchy.
type v1Mount struct {
	// Mountpoint is where the hierarchy is mounted.
	Mountpoint string
	// Root is the hierarchy's directory shown at Mountpoint (the mountinfo
	// root field).
	Root string
	// Controllers are the controllers bound to the hierarchy ("cpu",
	// "cpuacct"), or its name ("name=systemd").
	Controllers []string
}

// v1Controllers are the kernel's cgroup v1 controller names, used to tell
// controllers from other options in a cgroup mount's super options.
var v1Controllers = []string{
	"blkio", "cpu", "cpuacct", "cpuset", "debug", "devices", "freezer",
	"hugetlb", "memory", "misc", "net_cls", "net_prio", "perf_event",
	"pids", "rdma",
}

// joinedNames are the named v1 hierarchies a container is placed in.
var joinedNames = []string{"name=systemd"}

// parseMountinfo returns the cgroup v1 hierarchies in data, the content of
// /proc/self/mountinfo. When a hierarchy is mounted more than once, the first
// mount wins. Only lines of type "cgroup" are parsed in full.
func parseMountinfo(data []byte) ([]v1Mount, error) {
	var out []v1Mount
	seen := map[string]bool{}
	for line := range bytes.Lines(data) {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - cgroup cgroup rw,cpu
		sep := bytes.Index(line, []byte(" - cgroup "))
		if sep < 0 {
			continue
		}
		post := strings.Fields(string(line[sep+3:]))
		pre := strings.Fields(string(line[:sep]))
		if len(post) < 3 || post[0] != "cgroup" || len(pre) < 5 {
			return nil, fmt.Errorf("parse mountinfo line %q: too few fields", strings.TrimSpace(string(line)))
		}
		var ctrls []string
		for opt := range strings.SplitSeq(post[2], ",") {
			if slices.Contains(v1Controllers, opt) || slices.Contains(joinedNames, opt) {
				ctrls = append(ctrls, opt)
			}
		}
		if len(ctrls) == 0 || seen[ctrls[0]] {
			continue
		}
		for _, c := range ctrls {
			seen[c] = true
		}
		out = append(out, v1Mount{
			Mountpoint:  unescapeMountinfo(pre[4]),
			Root:        unescapeMountinfo(pre[3]),
			Controllers: ctrls,
		})
	}
	return out, nil
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space) in
// a mountinfo path field.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// parseProcCgroup parses /proc/<pid>/cgroup content into a map from
// controller ("memory", "name=systemd", "" for the unified hierarchy) to the
// cgroup path.
func parseProcCgroup(data []byte) (map[string]string, error) {
	out := map[string]string{}
	for line := range bytes.Lines(data) {
		l := strings.TrimSuffix(string(line), "\n")
		if l == "" {
			continue
		}
		// hierarchy-ID:controller-list:cgroup-path
		_, rest, ok := strings.Cut(l, ":")
		ctrls, p, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 {
			return nil, fmt.Errorf("parse cgroup line %q: want id:controllers:path", l)
		}
		if ctrls == "" {
			out[""] = p
			continue
		}
		for c := range strings.SplitSeq(ctrls, ",") {
			out[c] = p
		}
	}
	return out, nil
}

// innerPath returns the cgroup path that c asks for: c.Path, or Parent/Name
// when Path is empty. The result is cleaned; it is absolute (from each
// hierarchy's root) or relative (to the caller's own cgroup).
func innerPath(c *configs.Cgroup) (string, error) {
	if c.Path != "" {
		if c.Name != "" || c.Parent != "" {
			return "", errors.New("cgroup: set either path or parent and name, not both")
		}
		return cleanPath(c.Path), nil
	}
	if c.Name == "" {
		return "", errors.New("cgroup: path and name are both empty")
	}
	return cleanPath(path.Join(c.Parent, c.Name)), nil
}

// cleanPath cleans p without letting ".." climb above its start: an
// absolute p stays under "/", a relative one is cleaned as if it were
// absolute and made relative again.
func cleanPath(p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	return strings.TrimPrefix(path.Clean("/"+p), "/")
}

// hierarchyPath places inner in a hierarchy mounted at mnt whose mountinfo
// root is root. An absolute inner is taken from the hierarchy's root; a
// relative one from own, the caller's cgroup in that hierarchy.
func hierarchyPath(mnt, root, inner, own string, haveOwn bool) (string, error) {
	if path.IsAbs(inner) {
		return path.Join(mnt, inner), nil
	}
	if !haveOwn {
		return "", fmt.Errorf("resolve cgroup %q under %s: caller's own cgroup unknown", inner, mnt)
	}
	// The caller's cgroup is given from the hierarchy's root; the mount
	// shows the hierarchy from root, so strip root from it.
	own, root = path.Clean(own), path.Clean(root)
	var rel string
	switch {
	case root == "/":
		rel = own
	case own == root:
		rel = "/"
	case strings.HasPrefix(own, root+"/"):
		rel = own[len(root):]
	default:
		return "", fmt.Errorf("resolve cgroup %q under %s: own cgroup %s is outside the mount's root %s", inner, mnt, own, root)
	}
	return path.Join(mnt, rel, inner), nil
}

// v1Paths returns the directory of c in every joined v1 hierarchy, keyed by
// controller (comounted controllers share a directory), plus the unified
// hierarchy under "" on a hybrid host.
func (h *host) v1Paths(c *configs.Cgroup) (map[string]string, error) {
	inner, err := innerPath(c)
	if err != nil {
		return nil, err
	}
	mounts, err := h.mounts()
	if err != nil {
		return nil, err
	}
	var own map[string]string
	if !path.IsAbs(inner) {
		if own, err = h.own(); err != nil {
			return nil, err
		}
	}
	paths := make(map[string]string, 16)
	for _, m := range mounts {
		o, ok := own[m.Controllers[0]]
		dir, err := hierarchyPath(m.Mountpoint, m.Root, inner, o, ok)
		if err != nil {
			return nil, err
		}
		for _, ctrl := range m.Controllers {
			paths[ctrl] = dir
		}
	}
	if h.unifiedRoot != "" {
		o, ok := own[""]
		dir, err := hierarchyPath(h.unifiedRoot, "/", inner, o, ok)
		if err != nil {
			return nil, err
		}
		paths[""] = dir
	}
	return paths, nil
}

// v2Path returns the directory of c in the unified hierarchy.
func (h *host) v2Path(c *configs.Cgroup) (string, error) {
	inner, err := innerPath(c)
	if err != nil {
		return "", err
	}
	var own map[string]string
	if !path.IsAbs(inner) {
		if own, err = h.own(); err != nil {
			return "", err
		}
	}
	o, ok := own[""]
	return hierarchyPath(h.unifiedRoot, "/", inner, o, ok)
}
