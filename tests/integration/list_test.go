package integration

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestListFormats checks berth list's table, JSON and quiet output with a
// created and a running container.
func TestListFormats(t *testing.T) {
	a := newBundle(t, "sleep", "100")
	a.rename("created")
	a.berth("create", a.id)
	b := newBundle(t, "sleep", "100")
	b.rename("running")
	b.berth("run", "-d", b.id)
	want := map[string]struct {
		b      *bundle
		status string
	}{a.id: {a, "created"}, b.id: {b, "running"}}

	t.Run("table", func(t *testing.T) {
		out, errOut, code := suite.run("list")
		if code != 0 {
			t.Fatalf("list: exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if got := strings.Fields(lines[0]); strings.Join(got, " ") != "ID PID STATUS BUNDLE CREATED OWNER" {
			t.Fatalf("header %q", lines[0])
		}
		seen := 0
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			w, ok := want[f[0]]
			if !ok {
				continue
			}
			seen++
			if len(f) != 6 {
				t.Errorf("row %q: %d columns, want 6", l, len(f))
				continue
			}
			if f[1] != itoa(w.b.containerPid()) || f[2] != w.status || f[3] != w.b.dir || f[5] != "root" {
				t.Errorf("row %q, want pid %d, status %s, bundle %s, owner root", l, w.b.containerPid(), w.status, w.b.dir)
			}
			if _, err := time.Parse(time.RFC3339Nano, f[4]); err != nil {
				t.Errorf("created %q: %v", f[4], err)
			}
			// Columns line up under the header.
			if i := strings.Index(lines[0], "STATUS"); i < 0 || !strings.HasPrefix(l[i:], w.status) {
				t.Errorf("STATUS column not aligned:\n%s\n%s", lines[0], l)
			}
		}
		if seen != 2 {
			t.Errorf("list shows %d of the 2 containers:\n%s", seen, out)
		}
	})
	t.Run("json", func(t *testing.T) {
		out, errOut, code := suite.run("list", "-f", "json")
		if code != 0 {
			t.Fatalf("list -f json: exit %d: %s", code, errOut)
		}
		var states []map[string]any
		if err := json.Unmarshal([]byte(out), &states); err != nil {
			t.Fatalf("list -f json output %q: %v", out, err)
		}
		seen := 0
		for _, s := range states {
			w, ok := want[s["id"].(string)]
			if !ok {
				continue
			}
			seen++
			checkStateJSON(t, s, w.b, w.status)
		}
		if seen != 2 {
			t.Errorf("list -f json shows %d of the 2 containers: %s", seen, out)
		}
	})
	t.Run("quiet", func(t *testing.T) {
		out := a.berth("list", "-q")
		ids := strings.Fields(out)
		for id := range want {
			found := false
			for _, l := range ids {
				found = found || l == id
			}
			if !found {
				t.Errorf("list -q %q lacks %s", out, id)
			}
		}
		for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			if strings.Contains(l, " ") || strings.Contains(l, "\t") {
				t.Errorf("list -q line %q is more than an id", l)
			}
		}
	})
	t.Run("bad format", func(t *testing.T) {
		if _, errOut, code := suite.run("list", "-f", "yaml"); code != 1 || !strings.Contains(errOut, "format") {
			t.Errorf("list -f yaml: exit %d, stderr %q; want 1 and an error about the format", code, errOut)
		}
	})
	a.berth("delete", "--force", a.id)
	b.berth("delete", "--force", b.id)
	t.Run("empty", func(t *testing.T) {
		out := a.berth("list", "-q")
		for id := range want {
			if strings.Contains(out, id) {
				t.Errorf("list -q still shows deleted %s", id)
			}
		}
	})
	checkGone(t, a.id, a.dir)
	checkGone(t, b.id, b.dir)
}

// TestStateJSON checks every field of berth state through the lifecycle.
func TestStateJSON(t *testing.T) {
	b := newBundle(t, "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done")
	b.Spec.Annotations = map[string]string{"org.example.key": "value"}
	for _, tc := range []struct {
		step   []string
		status string
	}{
		{[]string{"create", b.id}, "created"},
		{[]string{"start", b.id}, "running"},
		{[]string{"kill", b.id, "TERM"}, "stopped"},
	} {
		t.Run(tc.status, func(t *testing.T) {
			b.berth(tc.step...)
			if tc.status == "stopped" {
				waitStatus(t, b, "stopped")
			}
			s := b.state()
			checkStateJSON(t, s, b, tc.status)
			if ann, _ := s["annotations"].(map[string]any); ann["org.example.key"] != "value" {
				t.Errorf("annotations = %v, want the config's", s["annotations"])
			}
		})
	}
	b.berth("delete", b.id)
	if _, errOut, code := suite.run("state", b.id); code != 1 || !strings.Contains(errOut, "not exist") {
		t.Errorf("state after delete: exit %d, stderr %q", code, errOut)
	}
	checkGone(t, b.id, b.dir)
}

func checkStateJSON(t *testing.T, s map[string]any, b *bundle, status string) {
	t.Helper()
	for _, k := range []string{"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"} {
		if _, ok := s[k]; !ok {
			t.Errorf("state lacks %q: %v", k, s)
		}
	}
	if v, _ := s["ociVersion"].(string); !strings.HasPrefix(v, "1.") {
		t.Errorf("ociVersion = %v", s["ociVersion"])
	}
	if s["id"] != b.id || s["status"] != status || s["bundle"] != b.dir || s["rootfs"] != filepath.Join(b.dir, "rootfs") || s["owner"] != "root" {
		t.Errorf("state %v, want id %s, status %s, bundle %s, its rootfs, owner root", s, b.id, status, b.dir)
	}
	pid, _ := s["pid"].(float64)
	if status == "stopped" {
		if pid != 0 {
			t.Errorf("pid of a stopped container = %v, want 0", pid)
		}
	} else if pid <= 0 || !alive(int(pid)) {
		t.Errorf("pid %v is not a live process", s["pid"])
	}
	created, err := time.Parse(time.RFC3339Nano, s["created"].(string))
	if err != nil || created.IsZero() || created.After(time.Now()) {
		t.Errorf("created = %v (%v)", s["created"], err)
	}
}
