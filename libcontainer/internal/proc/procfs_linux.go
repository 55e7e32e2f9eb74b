package proc

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
)

// WriteSysctls writes each value to /proc/sys/<key> (see sysctlPath for the
// key syntax), in key order. The file is found through a procfs handle that
// is checked to be a real procfs with nothing mounted over the path
// (pathrs-lite procfs, the CVE-2019-19921 / CVE-2025-52881 hardening), then
// reopened for writing, so a container cannot redirect the write. An error
// names the key: `write sysctl net.ipv4.ip_forward: permission denied`.
func WriteSysctls(sysctl map[string]string) error {
	if len(sysctl) == 0 {
		return nil
	}
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return fmt.Errorf("open /proc: %w", err)
	}
	defer proc.Close()
	for _, key := range slices.Sorted(maps.Keys(sysctl)) {
		p, err := sysctlPath(key)
		if err != nil {
			return err
		}
		h, err := proc.OpenRoot("sys/" + p)
		if err != nil {
			return fmt.Errorf("open sysctl %s: %w", key, err)
		}
		err = writeHandle(h, sysctl[key])
		h.Close()
		if err != nil {
			return fmt.Errorf("write sysctl %s: %w", key, err)
		}
	}
	return nil
}

// readSelf reads /proc/self/<name> through a verified procfs handle
// (not the container's /proc, which the container may have covered). The
// error is wrapped with the file's name.
func readSelf(name string) ([]byte, error) {
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return nil, fmt.Errorf("open /proc: %w", err)
	}
	defer proc.Close()
	h, err := proc.OpenSelf(name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer h.Close()
	f, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("reopen %s: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return b, nil
}

// writeHandle reopens the O_PATH handle h for writing and writes s in one
// write(2), as procfs files expect. The error is the bare errno, since the
// caller names the file.
func writeHandle(h *os.File, s string) error {
	f, err := pathrs.Reopen(h, unix.O_WRONLY|unix.O_CLOEXEC)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write([]byte(s)); err != nil {
		if pe, ok := errors.AsType[*os.PathError](err); ok {
			return pe.Err
		}
		return err
	}
	return nil
}
