package proc

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultPath is the PATH given to a process whose environment has none: the
// value of runc's and crun's default spec.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// SetupEnv returns the environment the container process is started with:
// env without duplicates (the last entry of a name wins, in the position of
// that last entry, as os/exec's dedupEnv and runc's prepareEnv do), with
// PATH set to DefaultPath when env has none, and HOME set to u.Home when env
// has none or an empty one (runc's env.bats: "empty HOME env var is
// overridden"). Other empty values are kept. env itself is not modified.
//
// Entries without "=" are kept as they are; CheckEnv rejects them.
func SetupEnv(env []string, u *User) []string {
	out := make([]string, 0, len(env)+2)
	seen := make(map[string]bool, len(env))
	var hasPath, hasHome bool
	// Walk backwards so that the last occurrence of each name is kept.
	for i := len(env) - 1; i >= 0; i-- {
		kv := env[i]
		name, val, _ := strings.Cut(kv, "=")
		if seen[name] {
			continue
		}
		seen[name] = true
		switch name {
		case "PATH":
			hasPath = true
		case "HOME":
			if val == "" {
				continue // overridden below
			}
			hasHome = true
		}
		out = append(out, kv)
	}
	slices.Reverse(out)
	if !hasPath {
		out = append(out, "PATH="+DefaultPath)
	}
	if !hasHome {
		home := defaultHome
		if u != nil && u.Home != "" {
			home = u.Home
		}
		out = append(out, "HOME="+home)
	}
	return out
}

// CheckEnv checks that every entry of env is NAME=VALUE with a non-empty
// name and no NUL byte, which execve needs. runc refuses such an
// environment with the same errors.
func CheckEnv(env []string) error {
	for _, kv := range env {
		name, _, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			return fmt.Errorf("invalid environment variable %q: missing '='", kv)
		case name == "":
			return fmt.Errorf("invalid environment variable %q: name cannot be empty", kv)
		case strings.IndexByte(kv, 0) >= 0:
			return fmt.Errorf("invalid environment variable %q: contains nul byte (\\x00)", name)
		}
	}
	return nil
}

// SearchPath is the PATH that LookPath searches for env: its last PATH
// entry, or DefaultPath when it has none.
func SearchPath(env []string) string {
	if path, ok := pathOf(env); ok {
		return path
	}
	return DefaultPath
}

// pathOf returns the value of the last PATH entry of env, and whether there
// is one.
func pathOf(env []string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "PATH="); ok {
			return v, true
		}
	}
	return "", false
}
