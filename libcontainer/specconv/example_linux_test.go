package specconv

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"reflect"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berthrt/berth/libcontainer/configs"
)

func slogText(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// readGolden reads a spec captured from `runc spec` (runc 1.1.5, with
// ociVersion changed to 1.3.0). On a cgroup v2 host runc adds a cgroup
// namespace, so the golden file gets one too.
func readGolden(t *testing.T, name string) *specs.Spec {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if hostCgroupV2() {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	return &s
}

func sameJSON(t *testing.T, got, want *specs.Spec) {
	t.Helper()
	g, err := json.MarshalIndent(got, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.MarshalIndent(want, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Errorf("spec =\n%s\nwant\n%s", g, w)
	}
}

func TestExampleMatchesRunc(t *testing.T) {
	sameJSON(t, Example(), readGolden(t, "runc-spec.json"))
	if Example().Version != "1.3.0" {
		t.Errorf("ociVersion = %q, want 1.3.0", Example().Version)
	}
	a, b := Example(), Example()
	a.Process.Capabilities.Bounding[0] = "changed"
	if b.Process.Capabilities.Bounding[0] == "changed" || a.Process.Capabilities.Effective[0] == "changed" {
		t.Error("Example results share memory")
	}
}

func TestToRootless(t *testing.T) {
	want := readGolden(t, "runc-spec-rootless.json")
	want.Linux.UIDMappings[0].HostID = uint32(os.Geteuid())
	want.Linux.GIDMappings[0].HostID = uint32(os.Getegid())
	spec := Example()
	ToRootless(spec)
	sameJSON(t, spec, want)

	t.Run("idempotent", func(t *testing.T) {
		again := Example()
		ToRootless(again)
		ToRootless(again)
		sameJSON(t, again, want)
	})
	t.Run("nil linux", func(t *testing.T) {
		s := &specs.Spec{Mounts: []specs.Mount{{Destination: "/sys/", Type: "sysfs", Source: "sysfs"}, {Destination: "/x", Options: []string{"uid=1", "mode=1", "gid=2"}}}}
		ToRootless(s)
		if len(s.Linux.Namespaces) != 1 || s.Linux.Namespaces[0].Type != specs.UserNamespace {
			t.Errorf("namespaces = %v, want only user", s.Linux.Namespaces)
		}
		if s.Mounts[0].Source != "/sys" || s.Mounts[0].Options[0] != "rbind" {
			t.Errorf("/sys mount = %+v, want an rbind of /sys", s.Mounts[0])
		}
		if !reflect.DeepEqual(s.Mounts[1].Options, []string{"mode=1"}) {
			t.Errorf("options = %v, want uid= and gid= removed", s.Mounts[1].Options)
		}
	})
}

// TestExampleRoundTrip converts the default spec, plain and rootless, and
// validates the result against this host.
func TestExampleRoundTrip(t *testing.T) {
	dir := bundle(t)
	for _, rootless := range []bool{false, true} {
		name := "plain"
		if rootless {
			name = "rootless"
		}
		t.Run(name, func(t *testing.T) {
			spec := Example()
			if rootless {
				ToRootless(spec)
			}
			b, err := json.Marshal(spec)
			if err != nil {
				t.Fatal(err)
			}
			var back specs.Spec
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			c, err := CreateConfig(&CreateOpts{CgroupName: "example", Spec: &back, RootlessEUID: rootless, RootlessCgroups: rootless})
			if err != nil {
				t.Fatalf("CreateConfig: %v", err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if c.Rootfs != dir+"/rootfs" || !c.Readonlyfs || c.Hostname != "runc" || c.Cgroups.Path != "/berth/example" {
				t.Errorf("config = rootfs %q readonly %v hostname %q cgroup %q", c.Rootfs, c.Readonlyfs, c.Hostname, c.Cgroups.Path)
			}
			if len(c.Mounts) != 7 || len(c.Devices) != 6 || len(c.MaskPaths) != 10 || len(c.ReadonlyPaths) != 5 {
				t.Errorf("%d mounts, %d devices, %d masked, %d read-only; want 7, 6, 10, 5", len(c.Mounts), len(c.Devices), len(c.MaskPaths), len(c.ReadonlyPaths))
			}
			// runc's /dev tmpfs: nosuid,strictatime with mode and size as data.
			if dev := c.Mounts[1]; dev.Data != "mode=755,size=65536k" || dev.Device != "tmpfs" {
				t.Errorf("/dev mount = %+v", dev)
			}
			if !rootless && c.Cgroups.Devices[0].Allow {
				t.Errorf("first device rule %+v, want the spec's deny-all", c.Cgroups.Devices[0])
			}
			if rootless {
				if !c.Namespaces.Contains(configs.NEWUSER) || c.Namespaces.Contains(configs.NEWNET) {
					t.Errorf("rootless namespaces = %v", c.Namespaces)
				}
				if sys := c.Mounts[5]; sys.Device != "bind" || !sys.IsBind() {
					t.Errorf("rootless /sys mount = %+v, want a bind", sys)
				}
			}
		})
	}
}
