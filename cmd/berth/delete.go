package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v3"

	"github.com/berthrt/berth/libcontainer"
)

func deleteCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "delete any resources held by the container often used with detached container",
		ArgsUsage: "<container-id>",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "forcibly deletes the container if it is still running (uses SIGKILL)"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			id, err := containerID(cmd)
			if err != nil {
				return err
			}
			if err := checkArgs(cmd, 1); err != nil {
				return err
			}
			force := cmd.Bool("force")
			c, err := libcontainer.Load(g.root, id, libcontainer.WithLogger(g.logger))
			if err != nil {
				if errors.Is(err, libcontainer.ErrNotExist) && force {
					// A container whose create never finished has a
					// directory but no state: remove what is there.
					if err := libcontainer.ValidateID(id); err == nil {
						return os.RemoveAll(filepath.Join(g.root, id))
					}
					return nil
				}
				return err
			}
			st, err := c.Status()
			if err != nil {
				return err
			}
			switch st {
			case libcontainer.Stopped, libcontainer.Created:
			default:
				if !force {
					return fmt.Errorf("cannot delete container %s that is not stopped: %s", id, st)
				}
			}
			return c.Destroy()
		},
	}
}
