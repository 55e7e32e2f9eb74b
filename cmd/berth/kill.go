package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer"
)

func killCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "kill sends the specified signal (default: SIGTERM) to the container's init process",
		ArgsUsage: "<container-id> [signal]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "send the specified signal to all processes inside the container"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			id, err := containerID(cmd)
			if err != nil {
				return err
			}
			if n := cmd.Args().Len(); n < 1 || n > 2 {
				return fmt.Errorf("kill: %q requires 1 or 2 arguments, got %d", "kill", n)
			}
			sig := unix.SIGTERM
			if s := cmd.Args().Get(1); s != "" {
				if sig, err = parseSignal(s); err != nil {
					return err
				}
			}
			c, err := libcontainer.Load(g.root, id)
			if err != nil {
				return err
			}
			if cmd.Bool("all") {
				return c.SignalAll(sig)
			}
			return c.Signal(sig)
		},
	}
}

// parseSignal accepts a number, a name ("KILL") or a name with its SIG
// prefix ("SIGKILL"), as runc does.
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("signal: invalid signal number %d", n)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("signal: unknown signal %q", s)
}
