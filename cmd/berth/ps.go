package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/berthrt/berth/libcontainer"
)

func psCommand(g *globals) *cli.Command {
	first := 1
	return &cli.Command{
		Name:      "ps",
		Usage:     "ps displays the processes running inside a container",
		ArgsUsage: `<container-id> [ps options]`,
		// Flags after the container id are ps's ("berth ps ID -e -x").
		StopOnNthArg:              &first,
		DisableSliceFlagSeparator: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "select one of: table or json"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			id, err := containerID(cmd)
			if err != nil {
				return err
			}
			format := cmd.String("format")
			if format != "table" && format != "json" {
				return fmt.Errorf("--format: invalid format option %q (want table or json)", format)
			}
			c, err := libcontainer.Load(g.root, id, libcontainer.WithLogger(g.logger))
			if err != nil {
				return err
			}
			pids, err := c.Processes()
			if err != nil {
				return err
			}
			if format == "json" {
				if pids == nil {
					pids = []int{} // "[]", as runc prints for no process
				}
				return json.NewEncoder(os.Stdout).Encode(pids)
			}
			psArgs := cmd.Args().Slice()[1:]
			if len(psArgs) == 0 {
				psArgs = []string{"-ef"}
			}
			return psTable(os.Stdout, psArgs, pids)
		},
	}
}

// psTable runs the host's ps with args and prints its header and the lines
// of the processes in pids, found by ps's PID column.
func psTable(w io.Writer, args []string, pids []int) error {
	var stderr bytes.Buffer
	ps := exec.Command("ps", args...)
	ps.Stderr = &stderr
	out, err := ps.Output()
	if err != nil {
		return fmt.Errorf("ps %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(string(out), "\n")
	col := slices.Index(strings.Fields(lines[0]), "PID")
	if col < 0 {
		return errors.New("ps: no PID column in the output (ps options must keep it)")
	}
	if _, err := fmt.Fprintln(w, lines[0]); err != nil {
		return err
	}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if col >= len(f) {
			return fmt.Errorf("ps: no PID column in line %q", line)
		}
		pid, err := strconv.Atoi(f[col])
		if err != nil {
			return fmt.Errorf("ps: parse the PID of line %q: %w", line, err)
		}
		if slices.Contains(pids, pid) {
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
		}
	}
	return nil
}
