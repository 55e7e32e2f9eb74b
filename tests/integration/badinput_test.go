package integration

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestBadInput runs create and run with a broken bundle: each exits 1
// with a one-line error naming what is wrong, and leaves nothing behind.
func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(t *testing.T, b *bundle)
		raw    string // config.json content instead of the spec
		want   string
		bug    string // why the case is skipped
	}{
		{name: "malformed config", raw: `{"ociVersion": "1.3.0", "process": {`, want: "config.json"},
		{name: "no config", raw: "-", want: "config.json"},
		{name: "missing process.args", modify: func(_ *testing.T, b *bundle) { b.Spec.Process.Args = nil }, want: "process.args"},
		{name: "missing process", raw: `{"ociVersion": "1.3.0", "root": {"path": "rootfs"}, "linux": {}}`, want: "process"},
		{name: "unknown namespace type", modify: func(_ *testing.T, b *bundle) {
			b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		}, want: "namespaces"},
		{name: "duplicate namespace", modify: func(_ *testing.T, b *bundle) {
			b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: "pid"})
		}, want: "namespaces"},
		{name: "unknown rlimit", modify: func(_ *testing.T, b *bundle) {
			b.Spec.Process.Rlimits = append(b.Spec.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_BOGUS", Soft: 1, Hard: 1})
		}, want: "RLIMIT_BOGUS"},
		{name: "invalid rootfsPropagation", modify: func(_ *testing.T, b *bundle) { b.Spec.Linux.RootfsPropagation = "sideways" }, want: "rootfsPropagation"},
		{name: "missing rootfs", modify: func(_ *testing.T, b *bundle) { b.Spec.Root.Path = "no-such-rootfs" }, want: "root"},
		{name: "sysctl without its namespace", modify: func(_ *testing.T, b *bundle) {
			b.removeNamespace("network")
			b.Spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, want: "sysctl"},
		{name: "hostname without uts namespace", modify: func(_ *testing.T, b *bundle) { b.removeNamespace("uts") }, want: "hostname"},
		{name: "mount fails in the kernel", modify: func(_ *testing.T, b *bundle) {
			b.addMount(specs.Mount{Destination: "/bad", Type: "nonexistentfs", Source: "none"})
		}, want: "mounts[7]"},
		{name: "bind source missing", modify: func(_ *testing.T, b *bundle) {
			b.addMount(specs.Mount{Destination: "/bad", Type: "bind", Source: "/no/such/source", Options: []string{"rbind"}})
		}, want: "mounts[7]"},
		{name: "cwd does not exist", modify: func(_ *testing.T, b *bundle) { b.Spec.Process.Cwd = "/no/such/dir" }, want: "process.cwd"},
		{name: "relative cwd", modify: func(_ *testing.T, b *bundle) { b.Spec.Process.Cwd = "tmp" }, want: "process.cwd"},
		{name: "args0 does not exist", modify: func(_ *testing.T, b *bundle) { b.Spec.Process.Args = []string{"/no/such/binary"} }, want: `process.args: exec: "/no/such/binary"`},
		{name: "args0 not in PATH", modify: func(_ *testing.T, b *bundle) { b.Spec.Process.Args = []string{"nosuchcommand"} }, want: `process.args: exec: "nosuchcommand"`},
		{name: "args0 not executable", modify: func(t *testing.T, b *bundle) {
			writeFile(t, filepath.Join(b.rootfs(), "notexec"), "#!/bin/sh\n")
			b.Spec.Process.Args = []string{"/notexec"}
		}, want: `process.args: exec: "/notexec"`},
		{name: "unknown user namespace mapping", modify: func(_ *testing.T, b *bundle) {
			b.Spec.Linux.UIDMappings = userMapping
		}, want: "uidMappings"},
	} {
		for _, cmd := range []string{"create", "run"} {
			t.Run(tc.name+"/"+cmd, func(t *testing.T) {
				if tc.bug != "" {
					t.Skip(tc.bug)
				}
				b := newBundle(t, "true")
				before := dirNames(suite.root)
				if tc.modify != nil {
					tc.modify(t, b)
				}
				b.write()
				cfg := filepath.Join(b.dir, "config.json")
				switch tc.raw {
				case "":
				case "-":
					if err := os.Remove(cfg); err != nil {
						t.Fatal(err)
					}
				default:
					writeFile(t, cfg, tc.raw)
				}
				b.expectFailureAsIs(b.id, tc.want, cmd, b.id)
				if after := dirNames(suite.root); !slices.Equal(before, after) {
					t.Errorf("state root changed from %v to %v", before, after)
				}
			})
		}
	}
}

// TestBadID checks that invalid ids are refused before anything is made.
func TestBadID(t *testing.T) {
	for _, id := range []string{"../x", "a/b", ".", "..", "", "/abs", "has space", "x\x00y"} {
		for _, cmd := range []string{"create", "run"} {
			t.Run(cmd, func(t *testing.T) {
				b := newBundle(t, "true")
				b.Spec.Linux.CgroupsPath = cgroupParent + "/" + b.id
				rootBefore, tmpBefore := dirNames(suite.root), dirNames(suite.tmp)
				want := "invalid container ID"
				if id == "" {
					want = "container id cannot be empty"
				}
				if id == "x\x00y" {
					// exec refuses a NUL in an argument before berth runs.
					return
				}
				b.expectFailure("", want, cmd, id)
				if after := dirNames(suite.root); !slices.Equal(rootBefore, after) {
					t.Errorf("id %q: state root changed from %v to %v", id, rootBefore, after)
				}
				if after := dirNames(suite.tmp); len(after) > len(tmpBefore) {
					t.Errorf("id %q: new entries next to the state root: %v (before %v)", id, after, tmpBefore)
				}
				checkGone(t, b.id, b.dir)
			})
		}
	}
}

// TestIDInUse creates a container, then tries again with the same id.
func TestIDInUse(t *testing.T) {
	for _, cmd := range []string{"create", "run"} {
		t.Run(cmd, func(t *testing.T) {
			a := newBundle(t, "sleep", "100")
			a.berth("create", a.id)
			pid := a.containerPid()
			b := newBundle(t, "true")
			b.id = a.id
			b.expectFailure("", "already exists", cmd, a.id)
			// The first container is intact.
			st := a.state()
			if st["status"] != "created" || int(st["pid"].(float64)) != pid || st["bundle"] != a.dir {
				t.Errorf("the existing container changed: %v", st)
			}
			if !alive(pid) {
				t.Errorf("the existing container's process %d died", pid)
			}
			a.berth("delete", a.id)
			checkGone(t, a.id, a.dir)
		})
	}
}

// dirNames lists the names in a directory (nil if it does not exist).
func dirNames(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
