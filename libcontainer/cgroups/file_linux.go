package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The paths joined here are cgroupfs paths built from the mount table and the
// container's config, never paths inside a container's rootfs.

// writeFile writes data to dir/name in one write(2), as cgroup interface
// files want. The error is an *os.PathError naming the file:
// "write /sys/fs/cgroup/pids/x/pids.max: invalid argument".
func writeFile(dir, name, data string) error {
	p := filepath.Join(dir, name)
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	for {
		_, err = unix.Write(fd, []byte(data))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "write", Path: p, Err: err}
	}
	return nil
}

// readFile returns the content of dir/name, trimmed of the trailing newline.
func readFile(dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 512)
	for {
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "", &os.PathError{Op: "read", Path: p, Err: err}
		}
		if n == 0 {
			return strings.TrimSuffix(string(buf), "\n"), nil
		}
		buf = buf[:len(buf)+n]
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// readPids parses a cgroup.procs file.
func readPids(dir string) ([]int, error) {
	s, err := readFile(dir, "cgroup.procs")
	if err != nil {
		return nil, err
	}
	var pids []int
	for f := range strings.FieldsSeq(s) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, &os.PathError{Op: "parse", Path: filepath.Join(dir, "cgroup.procs"), Err: err}
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// readAllPids returns the pids of dir and of every cgroup below it.
func readAllPids(dir string) ([]int, error) {
	pids, err := readPids(dir)
	if err != nil {
		return nil, err
	}
	subs, err := subdirs(dir)
	if err != nil {
		return nil, err
	}
	for _, s := range subs {
		p, err := readAllPids(s)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		pids = append(pids, p...)
	}
	return pids, nil
}

// subdirs lists the child cgroups of dir.
func subdirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

// mkdirAll creates dir and its missing parents, and returns the directories
// it created, outermost first.
func mkdirAll(dir string) ([]string, error) {
	err := unix.Mkdir(dir, 0o755)
	switch err {
	case nil:
		return []string{dir}, nil
	case unix.EEXIST:
		return nil, nil
	case unix.ENOENT:
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		created, perr := mkdirAll(parent)
		if perr != nil {
			return created, perr
		}
		if err = unix.Mkdir(dir, 0o755); err == nil {
			return append(created, dir), nil
		} else if err == unix.EEXIST {
			return created, nil
		}
		return created, &os.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	return nil, &os.PathError{Op: "mkdir", Path: dir, Err: err}
}

// rmdirRetries is how long removeCgroup keeps trying while rmdir returns
// EBUSY: the kernel refuses to remove a cgroup until its last task has
// finished exiting, which lags the task's SIGKILL by a few milliseconds.
const (
	rmdirFirstDelay = 2 * time.Millisecond
	rmdirMaxWait    = 2 * time.Second
)

// removeCgroup removes dir and every cgroup below it, deepest first. A
// directory that is already gone is not an error.
func removeCgroup(dir string) error {
	// The common case, a leaf with no task left, needs no directory scan.
	switch err := unix.Rmdir(dir); err {
	case nil, unix.ENOENT:
		return nil
	}
	subs, err := subdirs(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, s := range subs {
		if err := removeCgroup(s); err != nil {
			return err
		}
	}
	delay, waited := rmdirFirstDelay, time.Duration(0)
	for {
		err := unix.Rmdir(dir)
		switch {
		case err == nil, err == unix.ENOENT:
			return nil
		case err == unix.EBUSY && waited < rmdirMaxWait:
			time.Sleep(delay)
			waited += delay
			delay = min(2*delay, 100*time.Millisecond)
		default:
			return &os.PathError{Op: "rmdir", Path: dir, Err: err}
		}
	}
}

// isPermission reports whether err is a permission error, which a rootless
// manager ignores.
func isPermission(err error) bool {
	return errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EROFS)
}
