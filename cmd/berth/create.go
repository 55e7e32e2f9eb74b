package main

import (
	"context"

	"github.com/urfave/cli/v3"
)

func createCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a container",
		ArgsUsage: "<container-id>",
		Description: `The create command creates an instance of a container for a bundle. The bundle
is a directory with a specification file named "config.json" and a root
filesystem. The container waits for "berth start" before it runs its process.`,
		Flags: createFlags(),
		Action: func(_ context.Context, cmd *cli.Command) error {
			o, err := parseCreateOptions(cmd)
			if err != nil {
				return err
			}
			o.io.detach = true
			_, _, _, err = startContainer(g, o, false)
			return err
		},
	}
}
