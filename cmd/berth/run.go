package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer"
)

func runCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "create and run a container",
		ArgsUsage: "<container-id>",
		Description: `The run command creates an instance of a container for a bundle and runs its
process. Without --detach it waits for the process, forwards signals to it,
deletes the container afterwards (unless --keep) and exits with its status.`,
		Flags: append(createFlags(),
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "detach from the container's process"},
			&cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
			&cli.BoolFlag{Name: "no-subreaper", Usage: "disable the use of the subreaper used to reap reparented processes"},
		),
		Action: func(_ context.Context, cmd *cli.Command) error {
			o, err := parseCreateOptions(cmd)
			if err != nil {
				return err
			}
			detach := cmd.Bool("detach")
			o.io.detach = detach
			if !detach && !cmd.Bool("no-subreaper") {
				// Reap what the container's processes leave behind when
				// it shares our pid namespace.
				if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
					return err
				}
			}
			var sigs chan os.Signal
			if !detach {
				sigs = catchSignals()
			}
			c, p, sio, err := startContainer(g, o, true)
			if err != nil || detach {
				return err
			}
			defer sio.close()
			status, err := waitForwarding(p, sigs)
			if err != nil {
				g.logger.Error("wait for container process: " + err.Error())
			}
			if !cmd.Bool("keep") {
				if err := c.Destroy(); err != nil {
					g.logger.Warn("delete container: " + err.Error())
				}
			}
			sio.wait()
			return exitStatus(status)
		},
	}
}

// catchSignals starts catching every signal into the returned channel,
// for waitForwarding, so that a signal sent to berth while the process
// starts is forwarded too, and none ends berth. It returns at once: the Go
// runtime takes a round trip between two of its threads for each of the
// 65 signals, about a millisecond when the CPUs are idle and several while
// the process starts. Nothing waits for it to finish: a signal that comes
// before its turn acts as if berth caught none, as it would if berth waited.
func catchSignals() chan os.Signal {
	sigs := make(chan os.Signal, 128)
	go signal.Notify(sigs)
	return sigs
}

// waitForwarding forwards every signal berth receives to p, except those
// that concern berth itself (SIGCHLD, SIGWINCH, SIGURG, which the Go
// runtime uses for preemption), until p exits. It returns p's exit status,
// 128+signal when a signal killed it.
func waitForwarding(p *libcontainer.Process, sigs chan os.Signal) (int, error) {
	type result struct {
		ps  *os.ProcessState
		err error
	}
	done := make(chan result, 1)
	go func() {
		ps, err := p.Wait()
		done <- result{ps, err}
	}()
	for {
		select {
		case s := <-sigs:
			switch s {
			case unix.SIGCHLD, unix.SIGWINCH, unix.SIGURG:
				continue
			}
			_ = p.Signal(s)
		case r := <-done:
			// No signal.Stop: it would take as long as catching
			// did, and berth exits next. A signal from now on waits
			// in the channel, unforwarded, and leaves berth alone.
			return exitCode(r.ps), r.err
		}
	}
}

func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return 255
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
