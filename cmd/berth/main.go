// Command berth is an OCI container runtime, a drop-in replacement for
// runc built on berth's libcontainer.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v3"

	"github.com/berthrt/berth/libcontainer"
)

// Set by the linker (see the Makefile).
var (
	version   = "0.1.0-dev"
	gitCommit = ""
)

const defaultRoot = "/run/berth"

func main() {
	libcontainer.Init()
	os.Exit(run(os.Args))
}

// run executes the command line and returns the exit status.
func run(args []string) int {
	g := &globals{logger: slog.New(newLogHandler(os.Stderr, "text", slog.LevelInfo))}
	app := newApp(g)
	err := app.Run(context.Background(), args)
	// The log file stays open until the error is in it: conmon and the
	// containerd shim show users the last error line of --log.
	defer g.closeLog()
	if err == nil {
		return 0
	}
	var st exitStatus
	if errors.As(err, &st) {
		return int(st)
	}
	g.logger.Error(err.Error())
	if g.logFile != nil {
		// The log went to a file: say it on stderr too, as runc does.
		fmt.Fprintln(os.Stderr, err)
	}
	return 1
}

// closeLog closes the --log file, if one was opened.
func (g *globals) closeLog() {
	if g.logFile != nil {
		_ = g.logFile.Close()
		g.logFile = nil
	}
}

// exitStatus is returned by commands whose exit status is a container's.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// globals are the parsed global flags, shared by every command.
type globals struct {
	root    string
	logger  *slog.Logger
	logFile *os.File
	debug   bool
}

func newApp(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "berth",
		Usage: "Open Container Initiative runtime",
		Description: `berth is a command line client for running applications packaged according to
the Open Container Initiative (OCI) format and is a compliant implementation of the
Open Container Initiative specification; it accepts runc's command line.`,
		Version:                   versionString(),
		DisableSliceFlagSeparator: true,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "debug", Usage: "enable debug logging"},
			&cli.StringFlag{Name: "log", Usage: "set the log file to write berth logs to (default is '/dev/stderr')"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "set the log format ('text' (default), or 'json')"},
			&cli.StringFlag{Name: "root", Value: defaultRoot, Usage: "root directory for storage of container state (this should be located in tmpfs)"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "enable systemd cgroup support"},
			&cli.StringFlag{Name: "rootless", Value: "auto", Usage: "ignore cgroup permission errors ('true', 'false', or 'auto')"},
			&cli.StringFlag{Name: "criu", Hidden: true, Usage: "ignored (removed from runc 1.4)"},
		},
		Before: func(ctx context.Context, cmd *cli.Command) (context.Context, error) {
			return ctx, g.setup(cmd)
		},
		Commands: []*cli.Command{
			createCommand(g),
			deleteCommand(g),
			eventsCommand(g),
			execCommand(g),
			featuresCommand(),
			killCommand(g),
			listCommand(g),
			pauseCommand(g),
			psCommand(g),
			resumeCommand(g),
			runCommand(g),
			specCommand(),
			startCommand(g),
			stateCommand(g),
			updateCommand(g),
		},
		CommandNotFound: func(_ context.Context, _ *cli.Command, name string) {
			fmt.Fprintf(os.Stderr, "No help topic for '%s'\n", name)
			os.Exit(1)
		},
	}
}

func versionString() string {
	v := version
	if gitCommit != "" {
		v += "\ncommit: " + gitCommit
	}
	return v + "\nspec: " + specs.Version + "\ngo: " + runtime.Version()
}

// setup applies the global flags: logging, root, cgroup driver.
func (g *globals) setup(cmd *cli.Command) error {
	g.root = cmd.String("root")
	g.debug = cmd.Bool("debug")
	level := slog.LevelInfo
	if g.debug {
		level = slog.LevelDebug
	}
	format := cmd.String("log-format")
	if format != "text" && format != "json" {
		return fmt.Errorf("--log-format: unknown log format %q", format)
	}
	var w io.Writer = os.Stderr
	if path := cmd.String("log"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("--log: %w", err)
		}
		g.logFile, w = f, f
	}
	g.logger = slog.New(newLogHandler(w, format, level))
	if cmd.Bool("systemd-cgroup") {
		return errors.New("--systemd-cgroup: the systemd cgroup driver is not supported yet")
	}
	switch cmd.String("rootless") {
	case "auto", "false":
	case "true":
		if os.Geteuid() != 0 {
			return errors.New("--rootless: rootless containers are not supported yet")
		}
	default:
		return fmt.Errorf("--rootless: invalid value %q (want true, false or auto)", cmd.String("rootless"))
	}
	return nil
}

// newLogHandler makes a slog handler whose lines parse as runc's logrus
// lines do: lowercase levels, and for JSON the keys level, msg, time (what
// containerd and conmon read).
func newLogHandler(w io.Writer, format string, level slog.Level) slog.Handler {
	opts := &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.LevelKey {
				a.Value = slog.StringValue(strings.ToLower(a.Value.String()))
			}
			return a
		},
	}
	if format == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}
