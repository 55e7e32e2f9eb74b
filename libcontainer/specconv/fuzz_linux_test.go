package specconv

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berthrt/berth/libcontainer/configs"
)

// FuzzSpecConv feeds config.json bytes through json.Unmarshal,
// CreateConfig and Validate: bad input must give an error, never a panic.
func FuzzSpecConv(f *testing.F) {
	for _, name := range []string{"testdata/runc-spec.json", "testdata/runc-spec-rootless.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"root":{"path":"rootfs"},"linux":{}}`))
	host := configs.ValidateOptions{
		CgroupV2:           func() bool { return false },
		NamespaceSupported: func(configs.NamespaceType) bool { return true },
		IsHostNetNS:        func(string) (bool, error) { return false, nil },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var spec specs.Spec
		if err := json.Unmarshal(data, &spec); err != nil {
			return
		}
		for _, systemd := range []bool{false, true} {
			c, err := CreateConfig(&CreateOpts{CgroupName: "fuzz", Spec: &spec, UseSystemdCgroup: systemd})
			if err != nil {
				if c != nil {
					t.Fatalf("CreateConfig returned a config and error %v", err)
				}
				continue
			}
			_ = c.ValidateWith(host)
			if _, err := json.Marshal(c); err != nil {
				t.Fatalf("marshal config: %v", err)
			}
		}
	})
}
