package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/berthrt/berth/libcontainer"
)

func listCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "lists containers started by berth with the given root",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "select one of: table or json"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "display only container IDs"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := checkArgs(cmd, 0); err != nil {
				return err
			}
			format := cmd.String("format")
			if format != "table" && format != "json" {
				return fmt.Errorf("--format: invalid format %q (want table or json)", format)
			}
			states, err := listStates(g, !cmd.IsSet("root"))
			if err != nil {
				return err
			}
			if cmd.Bool("quiet") {
				for _, s := range states {
					fmt.Println(s.ID)
				}
				return nil
			}
			if format == "json" {
				return json.NewEncoder(os.Stdout).Encode(states)
			}
			w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, s := range states {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
			}
			return w.Flush()
		},
	}
}

// listStates returns the state of every container in the root. A missing
// default root is an empty list; a missing root given by --root is an
// error (runc 1.5).
func listStates(g *globals, defaultRoot bool) ([]containerState, error) {
	entries, err := os.ReadDir(g.root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && defaultRoot {
			return []containerState{}, nil
		}
		return nil, fmt.Errorf("--root: %w", err)
	}
	states := []containerState{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := libcontainer.Load(g.root, e.Name())
		if err != nil {
			// A container being created or deleted right now.
			g.logger.Debug("list: skip " + e.Name() + ": " + err.Error())
			continue
		}
		cs, err := getContainerState(g.root, c)
		if err != nil {
			g.logger.Debug("list: skip " + e.Name() + ": " + err.Error())
			continue
		}
		states = append(states, *cs)
	}
	return states, nil
}
