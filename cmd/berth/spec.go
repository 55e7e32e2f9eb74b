package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v3"

	"github.com/berthrt/berth/libcontainer/specconv"
)

func specCommand() *cli.Command {
	return &cli.Command{
		Name:  "spec",
		Usage: "create a new specification file",
		Description: `The spec command creates the new specification file named "config.json" for
the bundle. Edit it, put a root filesystem in the "rootfs" directory beside
it, and run "berth run <id>" in the bundle.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "path to the root of the bundle directory"},
			&cli.BoolFlag{Name: "rootless", Usage: "generate a configuration for a rootless container"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := checkArgs(cmd, 0); err != nil {
				return err
			}
			spec := specconv.Example()
			if cmd.Bool("rootless") {
				specconv.ToRootless(spec)
			}
			path := filepath.Join(cmd.String("bundle"), specConfig)
			if _, err := os.Stat(path); err == nil {
				return errors.New(path + " exists: remove it first")
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			data, err := json.MarshalIndent(spec, "", "\t")
			if err != nil {
				return err
			}
			if err := os.WriteFile(path, data, 0o666); err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
			return nil
		},
	}
}
