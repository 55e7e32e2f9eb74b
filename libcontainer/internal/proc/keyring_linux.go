package proc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Key permission bits of keyctl_setperm(3).
const (
	keyUsrSearch = 0x00080000
	keyOthSearch = 0x00000008
)

// JoinSessionKeyring gives the process a session keyring of its own named
// name (runc uses "_ses.<container id>"), so that it does not share the
// caller's keys (KEYCTL_JOIN_SESSION_KEYRING creates the keyring, or joins
// an existing one of that name that the process may search). The keyring
// keeps its default permissions (possessor all, user view and read) and
// gets search permission for the user, or for others when the container has
// its own user namespace (inUserNS), where the keyring's owner is not mapped:
// the same rule as runc's getSessionRingParams.
//
// As in runc, a kernel without keyrings (ENOSYS) is not an error: the
// keyring is a best-effort protection. Every other failure is.
func JoinSessionKeyring(name string, inUserNS bool) error {
	id, err := unix.KeyctlJoinSessionKeyring(name)
	if errors.Is(err, unix.ENOSYS) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("join session keyring %s: %w", name, err)
	}
	var add uint32 = keyUsrSearch
	if inUserNS {
		add = keyOthSearch
	}
	perm, err := keyPerm(id)
	if err != nil {
		return fmt.Errorf("describe session keyring %s: %w", name, err)
	}
	if err := unix.KeyctlSetperm(id, perm|add); err != nil {
		return fmt.Errorf("set permissions of session keyring %s: %w", name, err)
	}
	return nil
}

// keyPerm reads a key's permissions from its description,
// "type;uid;gid;perm;description" (keyctl_describe(3)).
func keyPerm(id int) (uint32, error) {
	desc, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, id)
	if err != nil {
		return 0, err
	}
	fields := strings.SplitN(desc, ";", 5)
	if len(fields) < 5 {
		return 0, fmt.Errorf("malformed key description %q", desc)
	}
	perm, err := strconv.ParseUint(fields[3], 16, 32)
	if err != nil {
		return 0, fmt.Errorf("malformed key description %q: %w", desc, err)
	}
	return uint32(perm), nil
}
