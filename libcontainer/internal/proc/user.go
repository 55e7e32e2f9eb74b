package proc

import (
	"fmt"
	"io"
	"slices"

	"github.com/moby/sys/user"
)

// User is the resolved identity of the container process.
type User struct {
	// UID and GID are the container user and group IDs.
	UID, GID int
	// AdditionalGids are the supplementary groups, set with setgroups(2).
	AdditionalGids []int
	// Home is the user's home directory from /etc/passwd, or "/" when the
	// user has no entry there. SetupEnv puts it in HOME.
	Home string
}

// defaultHome is the home of a user with no passwd entry, as in runc.
const defaultHome = "/"

// lookupUser is LookupUser with the passwd file given (nil when there is
// none). The IDs are used as given; only the home directory is looked up.
// As runc's prepareEnv does, a passwd file that cannot be parsed only costs
// the home directory: it falls back to "/".
func lookupUser(uid, gid uint32, additional []uint32, passwd io.Reader) *User {
	u := &User{UID: int(uid), GID: int(gid), Home: defaultHome}
	for _, g := range additional {
		u.AdditionalGids = append(u.AdditionalGids, int(g))
	}
	if passwd == nil {
		return u
	}
	entries, err := user.ParsePasswdFilter(passwd, func(e user.User) bool { return e.Uid == u.UID })
	if err == nil && len(entries) > 0 {
		// The first match wins, as with getpwuid(3).
		u.Home = entries[0].Home
	}
	return u
}

// lookupUserString is LookupUserString with the current IDs and the passwd
// and group files given (nil when there is none).
func lookupUserString(spec string, uid, gid int, passwd, group io.Reader) (*User, error) {
	defaults := &user.ExecUser{Uid: uid, Gid: gid, Home: defaultHome}
	eu, err := user.GetExecUser(spec, defaults, passwd, group)
	if err != nil {
		return nil, fmt.Errorf("look up user %q: %w", spec, err)
	}
	return &User{UID: eu.Uid, GID: eu.Gid, AdditionalGids: eu.Sgids, Home: eu.Home}, nil
}

// lookupGroups is LookupGroups with the group file given (nil when there is
// none).
func lookupGroups(groups []string, group io.Reader) ([]int, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	gids, err := user.GetAdditionalGroups(groups, group)
	if err != nil {
		return nil, fmt.Errorf("look up groups: %w", err)
	}
	// GetAdditionalGroups returns them in map order.
	slices.Sort(gids)
	return gids, nil
}
