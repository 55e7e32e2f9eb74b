package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v3"

	"github.com/berthrt/berth/libcontainer"
	"github.com/berthrt/berth/libcontainer/specconv"
)

// containerID returns the command's first argument, the container id.
func containerID(cmd *cli.Command) (string, error) {
	id := cmd.Args().First()
	if id == "" {
		return "", errors.New("container id cannot be empty")
	}
	return id, nil
}

// checkArgs fails when the command got a number of arguments other than n.
func checkArgs(cmd *cli.Command, n int) error {
	if got := cmd.Args().Len(); got != n {
		return fmt.Errorf("%s: %q requires exactly %d argument(s), got %d", cmd.Name, cmd.Name, n, got)
	}
	return nil
}

// loadSpec changes into the bundle directory (relative paths in the spec
// are relative to it, as runc does) and reads its config.json.
func loadSpec(bundle string) (*specs.Spec, error) {
	if bundle != "" {
		if err := os.Chdir(bundle); err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
	}
	data, err := os.ReadFile(specConfig)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errors.New("config.json: no such file in the bundle")
		}
		return nil, fmt.Errorf("config.json: %w", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	if spec.Process == nil {
		return nil, errors.New("config.json: process: missing")
	}
	if len(spec.Process.Args) == 0 {
		return nil, errors.New("config.json: process.args: must not be empty")
	}
	return &spec, nil
}

const specConfig = "config.json"

// createOptions are the flags shared by create and run.
type createOptions struct {
	id        string
	bundle    string
	pidFile   string
	noPivot   bool
	noKeyring bool
	io        ioOptions
}

func createFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "path to the root of the bundle directory, defaults to the current directory"},
		&cli.StringFlag{Name: "pid-file", Usage: "specify the file to write the process id to"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot root to jail process inside rootfs"},
		&cli.BoolFlag{Name: "no-new-keyring", Usage: "do not create a new session keyring for the container"},
		&cli.StringFlag{Name: "console-socket", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"},
		&cli.StringFlag{Name: "pidfd-socket", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the init process"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)"},
	}
}

func parseCreateOptions(cmd *cli.Command) (*createOptions, error) {
	id, err := containerID(cmd)
	if err != nil {
		return nil, err
	}
	if err := checkArgs(cmd, 1); err != nil {
		return nil, err
	}
	o := &createOptions{
		id:        id,
		bundle:    cmd.String("bundle"),
		pidFile:   cmd.String("pid-file"),
		noPivot:   cmd.Bool("no-pivot"),
		noKeyring: cmd.Bool("no-new-keyring"),
	}
	if o.pidFile != "" {
		// Relative to where berth was started, not to the bundle.
		if o.pidFile, err = filepath.Abs(o.pidFile); err != nil {
			return nil, fmt.Errorf("--pid-file: %w", err)
		}
	}
	o.io = ioOptions{
		consoleSocket: cmd.String("console-socket"),
		pidfdSocket:   cmd.String("pidfd-socket"),
		preserveFds:   int(cmd.Int("preserve-fds")),
	}
	return o, nil
}

// startContainer creates the container from the bundle and starts its
// init: with run, the init execs the process at once; otherwise it waits
// for berth start. The caller's stdio is set up for the process (see
// stdio); for a foreground process the caller waits, then closes it. On
// error nothing is left behind.
func startContainer(g *globals, o *createOptions, run bool) (*libcontainer.Container, *libcontainer.Process, *stdio, error) {
	if err := libcontainer.ValidateID(o.id); err != nil {
		return nil, nil, nil, err
	}
	spec, err := loadSpec(o.bundle)
	if err != nil {
		return nil, nil, nil, err
	}
	n := notifySocketFor(spec, g.root, o.id)
	config, err := specconv.CreateConfig(&specconv.CreateOpts{
		CgroupName:   o.id,
		NoPivotRoot:  o.noPivot,
		NoNewKeyring: o.noKeyring,
		Spec:         spec,
		Logger:       g.logger,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	rootUID, err := config.HostUID()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("uidMappings: %w", err)
	}
	rootGID, err := config.HostGID()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("gidMappings: %w", err)
	}
	p := newProcess(spec.Process)
	sio, err := setupStdio(p, spec.Process, &o.io, rootUID, rootGID)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := libcontainer.Create(g.root, o.id, config, libcontainer.WithLogger(g.logger))
	if err != nil {
		sio.close()
		return nil, nil, nil, err
	}
	err = n.prepare(c, g.root, run)
	if err == nil {
		if run {
			err = c.Run(p)
		} else {
			err = c.Start(p)
		}
	}
	if err == nil {
		err = sio.started()
	}
	if err == nil && o.pidFile != "" {
		err = writePidFile(o.pidFile, p)
	}
	if err == nil && run {
		mainPid := 0 // the init's
		if !o.io.detach {
			mainPid = os.Getpid() // berth stays, as the process to watch
		}
		err = n.forward(c, g, mainPid)
	}
	if err != nil {
		sio.close()
		if derr := c.Destroy(); derr != nil {
			g.logger.Warn("clean up after failed create: " + derr.Error())
		}
		return nil, nil, nil, err
	}
	return c, p, sio, nil
}

// newProcess is the container's init process from the spec's process.
func newProcess(sp *specs.Process) *libcontainer.Process {
	p := &libcontainer.Process{
		Args:             sp.Args,
		Env:              sp.Env,
		Cwd:              sp.Cwd,
		UID:              sp.User.UID,
		GID:              sp.User.GID,
		AdditionalGroups: sp.User.AdditionalGids,
		Stdin:            os.Stdin,
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		Init:             true,
	}
	return p
}

// writePidFile writes the pid atomically (a temporary file, then rename),
// as a decimal number without a newline, as runc does.
func writePidFile(path string, p *libcontainer.Process) error {
	pid, err := p.Pid()
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("--pid-file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("--pid-file: %w", err)
	}
	return nil
}
