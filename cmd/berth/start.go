package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/berthrt/berth/libcontainer"
)

func startCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "executes the user defined process in a created container",
		ArgsUsage: "<container-id>",
		Action: func(_ context.Context, cmd *cli.Command) error {
			id, err := containerID(cmd)
			if err != nil {
				return err
			}
			if err := checkArgs(cmd, 1); err != nil {
				return err
			}
			c, err := libcontainer.Load(g.root, id, libcontainer.WithLogger(g.logger))
			if err != nil {
				return err
			}
			st, err := c.Status()
			if err != nil {
				return err
			}
			switch st {
			case libcontainer.Created:
				var n *notifyProxy
				if host := os.Getenv("NOTIFY_SOCKET"); host != "" {
					n = &notifyProxy{host: host}
					if err := n.listen(g.root, id); err != nil {
						return err
					}
				}
				if err := c.Exec(); err != nil {
					return err
				}
				return n.forward(c, g, 0)
			case libcontainer.Stopped:
				return errors.New("cannot start a container that has stopped")
			case libcontainer.Running:
				return errors.New("cannot start an already running container")
			}
			return fmt.Errorf("cannot start a container in the %s state", st)
		},
	}
}
