package rootfs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/berthrt/berth/libcontainer/configs"
)

// cleanPath makes p absolute and lexically clean ("dev/../proc/" -> "/proc").
// It is for comparing configured paths, never for building host paths.
func cleanPath(p string) string {
	return path.Clean("/" + p)
}

// splitDest splits a clean absolute container path into its parent and its
// last component ("/dev/pts" -> "/dev", "pts"; "/" -> "/", ".").
func splitDest(p string) (dir, base string) {
	p = cleanPath(p)
	if p == "/" {
		return "/", "."
	}
	return path.Dir(p), path.Base(p)
}

// dataOptions splits a comma-separated mount data string, dropping empty
// entries. A comma inside double quotes does not split: an SELinux
// context="..." option quotes its MLS range, which has commas.
func dataOptions(data string) []string {
	var (
		opts   []string
		start  int
		quoted bool
	)
	for i := 0; i <= len(data); i++ {
		switch {
		case i < len(data) && data[i] == '"':
			quoted = !quoted
		case i == len(data) || data[i] == ',' && !quoted:
			if o := data[start:i]; o != "" {
				opts = append(opts, o)
			}
			start = i + 1
		}
	}
	return opts
}

// hasDataOption reports whether data has option key, alone or as key=value.
func hasDataOption(data, key string) bool {
	for _, o := range dataOptions(data) {
		if o == key || strings.HasPrefix(o, key+"=") {
			return true
		}
	}
	return false
}

// tmpfsData returns the data for a tmpfs mounted over an existing directory
// of mode perm: when the config gives no mode= option, the new tmpfs keeps
// the mode of the directory it hides (runc chmods it after mounting; passing
// mode= to the kernel does the same in the mount call itself).
func tmpfsData(data string, existed bool, perm os.FileMode) string {
	if !existed || hasDataOption(data, "mode") {
		return data
	}
	mode := uint32(perm.Perm())
	if perm&os.ModeSticky != 0 {
		mode |= 0o1000
	}
	if perm&os.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if perm&os.ModeSetuid != 0 {
		mode |= 0o4000
	}
	opt := "mode=" + strconv.FormatUint(uint64(mode), 8)
	if data == "" {
		return opt
	}
	return data + "," + opt
}

// procAllowed reports whether dest is one of the files under /proc that
// may be covered by a mount of another type: lxcfs emulates them so that top
// and free see the container's limits. Anything else under /proc is refused
// (CVE-2019-16884, CVE-2019-19921: a mount over /proc/self/attr or /proc/sys
// can disable the LSM or redirect writes).
func procAllowed(dest string) bool {
	switch dest {
	case "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",
		"/proc/swaps", "/proc/uptime", "/proc/loadavg", "/proc/slabinfo",
		"/proc/pressure/cpu", "/proc/pressure/io", "/proc/pressure/memory",
		"/proc/net/dev", "/proc/sys/kernel/ns_last_pid":
		return true
	}
	return false
}

// checkProcDest refuses a mount of a non-procfs filesystem onto a destination
// that lives on procfs, unless it is one of the lxcfs files. dest is the
// configured (clean) destination.
func checkProcDest(dest string, onProcfs bool) error {
	if !onProcfs || procAllowed(dest) {
		return nil
	}
	return fmt.Errorf("mount destination %s is inside /proc: only a few lxcfs files may be covered there", dest)
}

// needsSetupDev reports whether berth creates /dev's content: it does unless
// /dev is a bind mount (then the host's /dev is used as is), as runc does.
func needsSetupDev(mounts []*configs.Mount) bool {
	for _, m := range mounts {
		if isBind(m) && cleanPath(m.Destination) == "/dev" {
			return false
		}
	}
	return true
}

// isBind reports whether m is a bind mount, by type or by flag.
func isBind(m *configs.Mount) bool {
	return m.Device == "bind" || m.IsBind()
}

// cgroupFile is /proc/self/cgroup parsed: the v1 path of each controller
// ("cpu" and "name=systemd" are keys) and the v2 path ("0::/path").
type cgroupFile struct {
	v1 map[string]string
	v2 string
	// hasV2 is true when the file has a "0::" line.
	hasV2 bool
}

// parseCgroupFile parses /proc/<pid>/cgroup.
func parseCgroupFile(r io.Reader) (cgroupFile, error) {
	cf := cgroupFile{v1: map[string]string{}}
	s := bufio.NewScanner(r)
	for s.Scan() {
		line := s.Text()
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			return cf, fmt.Errorf("parse cgroup line %q: want id:controllers:path", line)
		}
		if parts[0] == "0" && parts[1] == "" {
			cf.v2, cf.hasV2 = parts[2], true
			continue
		}
		for c := range strings.SplitSeq(parts[1], ",") {
			if c != "" {
				cf.v1[c] = parts[2]
			}
		}
	}
	return cf, s.Err()
}

// v1Subsystems returns the controllers a cgroup v1 mount serves, from its
// super options ("rw,cpu,cpuacct" -> [cpu cpuacct]; "rw,xattr,name=systemd"
// -> [name=systemd]), keeping those /proc/self/cgroup knows.
func v1Subsystems(superOpts string, cf cgroupFile) []string {
	var subs []string
	for o := range strings.SplitSeq(superOpts, ",") {
		if _, ok := cf.v1[o]; ok {
			subs = append(subs, o)
		}
	}
	return subs
}

// relCgroupPath returns own relative to the mount's root ("/" and "/a/b" ->
// "a/b"), or an error when own is not below root (the mount cannot show it).
func relCgroupPath(root, own string) (string, error) {
	root, own = cleanPath(root), cleanPath(own)
	if root == "/" {
		return strings.TrimPrefix(own, "/"), nil
	}
	if own == root {
		return "", nil
	}
	if rest, ok := strings.CutPrefix(own, root+"/"); ok {
		return rest, nil
	}
	return "", fmt.Errorf("cgroup %s is not below the mount root %s", own, root)
}
