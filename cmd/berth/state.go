package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/berthrt/berth/libcontainer"
)

// containerState is what state and list -f json print: the OCI state plus
// runc's extra fields.
type containerState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
}

func stateCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "state",
		Usage:     "output the state of a container",
		ArgsUsage: "<container-id>",
		Action: func(_ context.Context, cmd *cli.Command) error {
			id, err := containerID(cmd)
			if err != nil {
				return err
			}
			if err := checkArgs(cmd, 1); err != nil {
				return err
			}
			c, err := libcontainer.Load(g.root, id)
			if err != nil {
				return err
			}
			cs, err := getContainerState(g.root, c)
			if err != nil {
				return err
			}
			data, err := json.MarshalIndent(cs, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(os.Stdout, string(data))
			return err
		},
	}
}

func getContainerState(root string, c *libcontainer.Container) (*containerState, error) {
	oci, err := c.OCIState()
	if err != nil {
		return nil, err
	}
	st, err := c.State()
	if err != nil {
		return nil, err
	}
	return &containerState{
		OCIVersion:  oci.Version,
		ID:          oci.ID,
		Pid:         oci.Pid,
		Status:      string(oci.Status),
		Bundle:      oci.Bundle,
		Rootfs:      st.Config.Rootfs,
		Created:     st.Created,
		Annotations: oci.Annotations,
		Owner:       owner(root + "/" + c.ID()),
	}, nil
}

// owner is the user name owning the container's state directory, or its
// uid when it has no name.
func owner(dir string) string {
	fi, err := os.Stat(dir)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	uid := strconv.FormatUint(uint64(st.Uid), 10)
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return "#" + uid
}
