package libcontainer_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthrt/berth/libcontainer"
	"github.com/berthrt/berth/libcontainer/configs"
)

// FuzzStateJSON feeds state.json bytes to Load and to what berth state,
// list and ps ask of a loaded container (Status, State, OCIState, Config):
// a damaged state file must give an error, never a panic. Nothing here
// writes, signals or removes: a fuzzed pid or cgroup path is only read.
func FuzzStateJSON(f *testing.F) {
	good, err := json.Marshal(&libcontainer.State{
		ID:                   "fuzz",
		InitProcessPid:       os.Getpid(),
		InitProcessStartTime: 1,
		Created:              time.Unix(1700000000, 0).UTC(),
		Config: configs.Config{
			Rootfs:          "/",
			Namespaces:      configs.Namespaces{{Type: configs.NEWNS}, {Type: configs.NEWPID, Path: "/proc/1/ns/pid"}},
			Cgroups:         &configs.Cgroup{Path: "/berth-fuzz/none", Resources: &configs.Resources{}},
			Labels:          []string{"bundle=/nonexistent"},
			AppArmorProfile: "berth-default",
			ProcessLabel:    "system_u:system_r:container_t:s0",
			MountLabel:      "system_u:object_r:container_file_t:s0",
		},
		CgroupPaths:    map[string]string{"memory": "/sys/fs/cgroup/memory/berth-fuzz/none", "": "/sys/fs/cgroup/unified/berth-fuzz/none"},
		NamespacePaths: map[configs.NamespaceType]string{configs.NEWNS: "/proc/1/ns/mnt"},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"fuzz","init_process_pid":-1,"config":{"cgroups":null}}`))
	f.Add([]byte(`{"id":"fuzz","init_process_pid":1,"config":{"cgroups":{"path":"../../.."}},"cgroup_paths":{"freezer":"/proc"}}`))
	f.Add([]byte(`{"config":{"cgroups":{"systemd":true}}}`))
	f.Add([]byte(`null`))
	root := f.TempDir()
	if err := os.Mkdir(filepath.Join(root, "fuzz"), 0o700); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(root, "fuzz", "state.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := libcontainer.Load(root, "fuzz")
		if err != nil {
			if c != nil {
				t.Fatalf("Load returned a container and error %v", err)
			}
			if errors.Is(err, libcontainer.ErrNotExist) {
				t.Fatalf("Load: %v for a state file that exists", err)
			}
			return
		}
		if _, err := c.Status(); err != nil {
			return
		}
		if _, err := c.State(); err != nil {
			t.Fatalf("State of a loaded container: %v", err)
		}
		if _, err := c.OCIState(); err != nil {
			return
		}
		_ = c.Config()
	})
}
