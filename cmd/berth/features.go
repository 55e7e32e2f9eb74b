package main

import (
	"context"
	"encoding/json"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/urfave/cli/v3"

	"github.com/berthrt/berth/libcontainer"
	"github.com/berthrt/berth/libcontainer/cgroups"
	"github.com/berthrt/berth/libcontainer/specconv"
)

func featuresCommand() *cli.Command {
	return &cli.Command{
		Name:  "features",
		Usage: "show the enabled features",
		Description: `Show the enabled features, as the OCI runtime features document (JSON)
defines them. The output is experimental and may change.`,
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := checkArgs(cmd, 0); err != nil {
				return err
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "    ")
			return enc.Encode(runtimeFeatures())
		},
	}
}

func runtimeFeatures() *features.Features {
	f, t := false, true
	v1, v2 := !cgroups.IsCgroup2UnifiedMode(), true
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
		MountOptions:  specconv.KnownMountOptions(),
		Linux: &features.Linux{
			Namespaces:   []string{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"},
			Capabilities: libcontainer.KnownCapabilities(),
			Cgroup: &features.Cgroup{
				V1:          &v1,
				V2:          &v2,
				Systemd:     &f,
				SystemdUser: &f,
				Rdma:        &f,
			},
			Seccomp:         libcontainer.SeccompFeatures(),
			Apparmor:        &features.Apparmor{Enabled: &t},
			Selinux:         &features.Selinux{Enabled: &t},
			IntelRdt:        &features.IntelRdt{Enabled: &f},
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &f}},
			NetDevices:      &features.NetDevices{Enabled: &f},
		},
		Annotations: map[string]string{
			"org.opencontainers.runc.checkpoint.enabled": "false",
			"org.berthrt.berth.version":                  version,
		},
		PotentiallyUnsafeConfigAnnotations: []string{"bundle", "org.systemd.property.", "org.criu.config"},
	}
}
