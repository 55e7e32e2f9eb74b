package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v3"

	"github.com/berthrt/berth/libcontainer"
	"github.com/berthrt/berth/libcontainer/specconv"
)

func execCommand(g *globals) *cli.Command {
	// Everything after the container id is the command and its own
	// options, as with runc.
	one := 1
	return &cli.Command{
		Name:  "exec",
		Usage: "execute new process inside the container",
		ArgsUsage: `<container-id> <command> [command options]  || -p process.json <container-id>

Where "<container-id>" is the name for the instance of the container and
"<command>" is the command to be executed in the container.
"<command>" can't be empty unless a "-p" flag provided.`,
		Description: `The exec command runs a process in a created or running container: it joins
the container's namespaces and cgroup, with the container's capabilities,
rlimits and no_new_privs unless overridden. Without --detach it waits for the
process, forwards signals to it and exits with its status (128+signal when a
signal killed it).

EXAMPLE:
For example, if the container is configured to run the linux ps command the
following will output a list of processes running in the container:

       # berth exec <container-id> ps`,
		StopOnNthArg: &one,
		// The root's setting does not reach a subcommand's flags: without
		// it "-e A=1,2" would be two values.
		DisableSliceFlagSeparator: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "console-socket", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"},
			&cli.StringFlag{Name: "pidfd-socket", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the exec process"},
			&cli.StringFlag{Name: "cwd", Usage: "current working directory in the container"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set environment variables"},
			&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-TTY"},
			&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "UID (format: <uid>[:<gid>])"},
			&cli.Int64SliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "additional gids"},
			&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "path to the process.json"},
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "detach from the container's process"},
			&cli.StringFlag{Name: "pid-file", Usage: "specify the file to write the process id to"},
			&cli.StringFlag{Name: "process-label", Usage: "set the asm process label for the process commonly used with selinux"},
			&cli.StringFlag{Name: "apparmor", Usage: "set the apparmor profile for the process"},
			&cli.BoolFlag{Name: "no-new-privs", Usage: "set the no new privileges value for the process"},
			&cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability to the bounding set for the process"},
			&cli.IntFlag{Name: "preserve-fds", Usage: "pass N additional file descriptors to the container (stdio + N in total)"},
			&cli.StringSliceFlag{Name: "cgroup", Usage: "run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>."},
			&cli.BoolFlag{Name: "ignore-paused", Usage: "allow exec in a paused container"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			return runExec(g, cmd)
		},
	}
}

// runExec is berth exec: it starts the process and, unless detached, waits
// for it and returns its exit status.
func runExec(g *globals, cmd *cli.Command) error {
	id, err := containerID(cmd)
	if err != nil {
		return err
	}
	if cmd.Args().Len() < 2 && cmd.String("process") == "" {
		return errors.New("exec: a command is required, or -p process.json")
	}
	o := ioOptions{
		detach:        cmd.Bool("detach"),
		consoleSocket: cmd.String("console-socket"),
		pidfdSocket:   cmd.String("pidfd-socket"),
		preserveFds:   int(cmd.Int("preserve-fds")),
		noListenFds:   true,
	}
	var sigs chan os.Signal
	if !o.detach {
		sigs = catchSignals()
	}
	pidFile := cmd.String("pid-file")
	if pidFile != "" {
		// Relative to where berth was started, not to the bundle.
		if pidFile, err = filepath.Abs(pidFile); err != nil {
			return fmt.Errorf("--pid-file: %w", err)
		}
	}
	sub, err := subCgroupPaths(cmd.StringSlice("cgroup"))
	if err != nil {
		return err
	}
	c, err := libcontainer.Load(g.root, id, libcontainer.WithLogger(g.logger))
	if err != nil {
		return err
	}
	switch st, err := c.Status(); {
	case err != nil:
		return err
	case st == libcontainer.Stopped:
		return errors.New("cannot exec in a stopped container")
	case st == libcontainer.Paused && !cmd.Bool("ignore-paused"):
		return errors.New("cannot exec in a paused container (use --ignore-paused to override)")
	}
	sp, userName, err := execProcessSpec(cmd, c)
	if err != nil {
		return err
	}
	p, err := execProcess(sp, userName, sub)
	if err != nil {
		return err
	}
	cfg := c.Config()
	rootUID, err := cfg.HostUID()
	if err != nil {
		return fmt.Errorf("uidMappings: %w", err)
	}
	rootGID, err := cfg.HostGID()
	if err != nil {
		return fmt.Errorf("gidMappings: %w", err)
	}
	sio, err := setupStdio(p, sp, &o, rootUID, rootGID)
	if err != nil {
		return err
	}
	defer sio.close()
	if err := c.Run(p); err != nil {
		return err
	}
	if err := sio.started(); err != nil {
		_ = p.Signal(os.Kill)
		return err
	}
	if pidFile != "" {
		if err := writePidFile(pidFile, p); err != nil {
			_ = p.Signal(os.Kill)
			return err
		}
	}
	if o.detach {
		return nil
	}
	status, err := waitForwarding(p, sigs)
	if err != nil {
		g.logger.Error("wait for exec process: " + err.Error())
	}
	sio.wait()
	return exitStatus(status)
}

// execProcessSpec is the process to execute: process.json (-p) as it is,
// as runc takes it; otherwise the container's own process from its
// bundle's config.json with the flags applied over it. userName is the
// user that --user names by name, if it does.
func execProcessSpec(cmd *cli.Command, c *libcontainer.Container) (_ *specs.Process, userName string, _ error) {
	if path := cmd.String("process"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, "", fmt.Errorf("--process: %w", err)
		}
		sp, err := parseProcess(data)
		if err != nil {
			return nil, "", fmt.Errorf("--process %s: %w", path, err)
		}
		return sp, "", nil
	}
	cfg := c.Config()
	sp, err := loadProcess(cfg.Label("bundle"))
	if err != nil {
		return nil, "", err
	}
	sp.Args = cmd.Args().Slice()[1:]
	if cwd := cmd.String("cwd"); cwd != "" {
		sp.Cwd = cwd
	}
	if ap := cmd.String("apparmor"); ap != "" {
		sp.ApparmorProfile = ap
	}
	if l := cmd.String("process-label"); l != "" {
		sp.SelinuxLabel = l
	}
	if caps := cmd.StringSlice("cap"); len(caps) > 0 {
		if sp.Capabilities == nil {
			sp.Capabilities = &specs.LinuxCapabilities{}
		}
		pc := sp.Capabilities
		for _, cp := range caps {
			pc.Bounding = append(pc.Bounding, cp)
			pc.Effective = append(pc.Effective, cp)
			pc.Permitted = append(pc.Permitted, cp)
			// Ambient capabilities need the inheritable set, which
			// --cap leaves alone: only when the spec has one (runc).
			if pc.Inheritable != nil {
				pc.Ambient = append(pc.Ambient, cp)
			}
		}
	}
	sp.Env = append(sp.Env, cmd.StringSlice("env")...)
	// Never a terminal unless asked for, whatever the container's own.
	sp.Terminal = cmd.Bool("tty")
	sp.ConsoleSize = nil
	if cmd.IsSet("no-new-privs") {
		sp.NoNewPrivileges = cmd.Bool("no-new-privs")
	}
	if u := cmd.String("user"); u != "" {
		if userName, err = parseExecUser(u, &sp.User); err != nil {
			return nil, "", err
		}
	}
	for _, gid := range cmd.Int64Slice("additional-gids") {
		if gid < 0 || gid > 1<<32-1 {
			return nil, "", fmt.Errorf("--additional-gids: %d is not a valid gid", gid)
		}
		sp.User.AdditionalGids = append(sp.User.AdditionalGids, uint32(gid))
	}
	return sp, userName, nil
}

// parseProcess decodes a process.json (berth exec -p): the OCI process
// object, whose args must not be empty.
func parseProcess(data []byte) (*specs.Process, error) {
	var sp specs.Process
	if err := json.Unmarshal(data, &sp); err != nil {
		return nil, err
	}
	if len(sp.Args) == 0 {
		return nil, errors.New("args: must not be empty")
	}
	return &sp, nil
}

// loadProcess reads the process object of the bundle's config.json, and
// nothing else of it: decoding the whole spec would cost the exec about a
// millisecond more, mostly in encoding/json's first look at its types.
func loadProcess(bundle string) (*specs.Process, error) {
	path := filepath.Join(bundle, specConfig)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the container's config.json: %w", err)
	}
	var spec struct {
		Process *specs.Process `json:"process"`
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if spec.Process == nil {
		return nil, fmt.Errorf("%s: process: missing", path)
	}
	return spec.Process, nil
}

// parseExecUser applies --user "uid[:gid]" to u. A name, "name[:group]"
// (which runc refuses), is returned instead, to be resolved in the
// container's /etc/passwd and /etc/group.
func parseExecUser(s string, u *specs.User) (string, error) {
	uidStr, gidStr, hasGID := strings.Cut(s, ":")
	if uidStr == "" || hasGID && gidStr == "" {
		return "", fmt.Errorf("--user %q: want <uid>[:<gid>]", s)
	}
	uid, uidErr := strconv.ParseUint(uidStr, 10, 32)
	gid, gidErr := strconv.ParseUint(gidStr, 10, 32)
	if uidErr != nil || hasGID && gidErr != nil {
		return s, nil
	}
	u.UID = uint32(uid)
	if hasGID {
		u.GID = uint32(gid)
	}
	return "", nil
}

// execProcess is the library's process for sp, as user userName when it
// is not empty, placed in the sub-cgroups sub.
func execProcess(sp *specs.Process, userName string, sub map[string]string) (*libcontainer.Process, error) {
	p := &libcontainer.Process{
		Args:             sp.Args,
		Env:              sp.Env,
		Cwd:              sp.Cwd,
		UID:              sp.User.UID,
		GID:              sp.User.GID,
		AdditionalGroups: sp.User.AdditionalGids,
		User:             userName,
		Capabilities:     specconv.Capabilities(sp.Capabilities),
		NoNewPrivileges:  &sp.NoNewPrivileges,
		AppArmorProfile:  sp.ApparmorProfile,
		Label:            sp.SelinuxLabel,
		SubCgroupPaths:   sub,
	}
	rl, err := specconv.Rlimits(sp.Rlimits)
	if err != nil {
		return nil, err
	}
	p.Rlimits = rl
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	return p, nil
}

// subCgroupPaths parses --cgroup values, "[<controller>[,<controller>...]:]<path>":
// one path for every controller, or one per controller, as runc does.
func subCgroupPaths(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	paths := make(map[string]string, len(args))
	for _, a := range args {
		ctrls, path, ok := strings.Cut(a, ":")
		if !ok {
			if len(args) != 1 {
				return nil, fmt.Errorf("--cgroup %s: a path without <controller>: must be the only --cgroup", a)
			}
			paths[""] = a
			continue
		}
		for _, ctrl := range strings.Split(ctrls, ",") {
			if ctrl == "" {
				return nil, fmt.Errorf("--cgroup %s: empty controller", a)
			}
			if _, dup := paths[ctrl]; dup {
				return nil, fmt.Errorf("--cgroup %s: controller %s given twice", a, ctrl)
			}
			paths[ctrl] = path
		}
	}
	return paths, nil
}
