package libcontainer_test

import (
	"log"
	"os"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer"
	"github.com/berthrt/berth/libcontainer/configs"
	"github.com/berthrt/berth/libcontainer/specconv"
)

// This example creates a container from a config, runs a shell in it as
// the user "daemon", waits for it and destroys the container. The program
// must call libcontainer.Init first thing in main (see TestMain).
func Example() {
	config := &configs.Config{
		Rootfs: "/var/lib/containers/busybox/rootfs",
		Namespaces: configs.Namespaces{
			{Type: configs.NEWNS},
			{Type: configs.NEWUTS},
			{Type: configs.NEWIPC},
			{Type: configs.NEWPID},
			{Type: configs.NEWNET},
		},
		Cgroups:  &configs.Cgroup{Path: "/berth-example/container-id", Resources: &configs.Resources{Devices: configs.DeviceRules(specconv.AllowedDevices())}},
		Devices:  specconv.AllowedDevices(),
		Hostname: "example",
		Mounts: []*configs.Mount{
			{Source: "proc", Destination: "/proc", Device: "proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
			{Source: "tmpfs", Destination: "/dev", Device: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755"},
		},
	}

	container, err := libcontainer.Create("/run/containers", "container-id", config)
	if err != nil {
		log.Fatal(err)
	}
	defer container.Destroy()

	process := &libcontainer.Process{
		Args:   []string{"/bin/sh", "-c", "echo hello from $(hostname)"},
		Env:    []string{"PATH=/bin"},
		User:   "daemon",
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Init:   true,
	}
	if err := container.Run(process); err != nil {
		log.Fatal(err)
	}
	if _, err := process.Wait(); err != nil {
		log.Fatal(err)
	}
}
