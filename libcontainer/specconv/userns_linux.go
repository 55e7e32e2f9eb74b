package specconv

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// fillJoinedUserNS gives a config that joins a user namespace by path the
// mappings of that namespace, when the spec gives none: berth needs them
// to know which host user is the container's root (the owner of a
// foreground process's stdio pipes, for one), as runc does. Mappings given
// with the path are kept as they are. A path that does not exist is left
// to Validate, which names it.
func fillJoinedUserNS(c *configs.Config, field string) error {
	path := c.Namespaces.PathOf(configs.NEWUSER)
	if path == "" || len(c.UIDMappings) > 0 || len(c.GIDMappings) > 0 {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		return nil // Validate reports it, with the field
	}
	uid, gid, err := userNSMappings(path)
	if err != nil {
		return &configs.FieldError{Field: field, Err: err}
	}
	c.UIDMappings, c.GIDMappings = uid, gid
	return nil
}

// userNSMappings reads the ID maps of the user namespace at path from
// /proc/<pid>/{uid,gid}_map of a process in it: the pid of a
// /proc/<pid>/ns/user path, or else the first process found in that
// namespace. The process is checked to be in the namespace after its maps
// are read, so that a recycled pid cannot lend its own.
func userNSMappings(path string) (uid, gid []configs.IDMap, err error) {
	var ns unix.Stat_t
	if err := unix.Stat(path, &ns); err != nil {
		return nil, nil, fmt.Errorf("user namespace %s: %w", path, err)
	}
	var candidates []string
	if rest, ok := strings.CutPrefix(path, "/proc/"); ok {
		if pid, tail, ok := strings.Cut(rest, "/"); ok && tail == "ns/user" {
			candidates = append(candidates, pid)
		}
	}
	if candidates == nil {
		entries, err := os.ReadDir("/proc")
		if err != nil {
			return nil, nil, fmt.Errorf("user namespace %s: %w", path, err)
		}
		for _, e := range entries {
			if _, err := strconv.Atoi(e.Name()); err == nil {
				candidates = append(candidates, e.Name())
			}
		}
	}
	for _, pid := range candidates {
		dir := "/proc/" + pid
		if !sameFile(dir+"/ns/user", &ns) {
			continue
		}
		uid, err := readIDMap(dir + "/uid_map")
		if err != nil {
			continue
		}
		gid, err := readIDMap(dir + "/gid_map")
		if err != nil || !sameFile(dir+"/ns/user", &ns) {
			continue
		}
		return uid, gid, nil
	}
	return nil, nil, fmt.Errorf("user namespace %s: no process in it to read its uid and gid maps from; give linux.uidMappings and linux.gidMappings", path)
}

func sameFile(path string, st *unix.Stat_t) bool {
	var s unix.Stat_t
	return unix.Stat(path, &s) == nil && s.Dev == st.Dev && s.Ino == st.Ino
}

// readIDMap parses a uid_map or gid_map file ("inside outside count" lines).
func readIDMap(path string) ([]configs.IDMap, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []configs.IDMap
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s: malformed line %q", path, s.Text())
		}
		var v [3]int64
		for i, f := range fields {
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: malformed line %q", path, s.Text())
			}
			v[i] = n
		}
		out = append(out, configs.IDMap{ContainerID: v[0], HostID: v[1], Size: v[2]})
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New(path + ": no mapping")
	}
	return out, nil
}
