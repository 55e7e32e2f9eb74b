package proc

import (
	"fmt"
	"strings"
)

// sysctlPath turns a sysctl key into its path under /proc/sys. As with
// sysctl(8), a key with a slash is already a path (so that dots in a name
// survive: "net/ipv4/conf/eth0.100/forwarding"); otherwise dots separate the
// components ("net.ipv4.ip_forward"). Empty, "." and ".." components are
// refused, so that the path stays below /proc/sys.
func sysctlPath(key string) (string, error) {
	p := key
	if !strings.Contains(key, "/") {
		p = strings.ReplaceAll(key, ".", "/")
	}
	for c := range strings.SplitSeq(p, "/") {
		if c == "" || c == "." || c == ".." {
			return "", fmt.Errorf("invalid sysctl key %q", key)
		}
	}
	return p, nil
}
