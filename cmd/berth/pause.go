package main

import (
	"context"

	"github.com/urfave/cli/v3"

	"github.com/berthrt/berth/libcontainer"
)

func pauseCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "pause",
		Usage: "pause suspends all processes inside the container",
		ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container to be
paused.`,
		Description: "The pause command suspends all processes in the instance of the container.",
		Action: func(_ context.Context, cmd *cli.Command) error {
			c, err := loadOne(g, cmd)
			if err != nil {
				return err
			}
			return c.Pause()
		},
	}
}

func resumeCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "resume",
		Usage: "resumes all processes that have been previously paused",
		ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container to be
resumed.`,
		Description: "The resume command resumes all processes in the instance of the container.",
		Action: func(_ context.Context, cmd *cli.Command) error {
			c, err := loadOne(g, cmd)
			if err != nil {
				return err
			}
			return c.Resume()
		},
	}
}

// loadOne loads the container named by the command's only argument.
func loadOne(g *globals, cmd *cli.Command) (*libcontainer.Container, error) {
	id, err := containerID(cmd)
	if err != nil {
		return nil, err
	}
	if err := checkArgs(cmd, 1); err != nil {
		return nil, err
	}
	return libcontainer.Load(g.root, id, libcontainer.WithLogger(g.logger))
}
