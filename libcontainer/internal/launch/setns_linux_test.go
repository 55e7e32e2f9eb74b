package launch

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
	"github.com/berthrt/berth/libcontainer/nsenter"
)

func TestPlanNamespaces(t *testing.T) {
	ns := func(specs ...string) configs.Namespaces {
		var out configs.Namespaces
		for _, s := range specs {
			typ, path, _ := strings.Cut(s, "=")
			out = append(out, configs.Namespace{Type: configs.NamespaceType(typ), Path: path})
		}
		return out
	}
	types := func(files []NamespaceFile) []configs.NamespaceType {
		var out []configs.NamespaceType
		for _, f := range files {
			out = append(out, f.Type)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		nss     configs.Namespaces
		exec    bool
		thread  []configs.NamespaceType
		boot    []configs.NamespaceType
		clone   uintptr
		unshare uintptr
		forks   bool
		err     string
	}{
		{
			name: "all new", nss: ns("NEWPID", "NEWNS", "NEWNET", "NEWCGROUP", "NEWTIME", "NEWUSER"),
			clone: unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWNET | unix.CLONE_NEWUSER,
		},
		{
			name: "joined without user", nss: ns("NEWNS=/m", "NEWNET=/n", "NEWPID=/p", "NEWTIME=/t", "NEWUTS"),
			thread: []configs.NamespaceType{"NEWNET", "NEWPID"}, boot: []configs.NamespaceType{"NEWTIME", "NEWNS"},
			clone: unix.CLONE_NEWUTS,
		},
		{
			name: "joined user first, new ones unshared after", nss: ns("NEWPID", "NEWNS", "NEWNET=/n", "NEWUSER=/u", "NEWCGROUP"),
			boot: []configs.NamespaceType{"NEWUSER", "NEWNET"}, unshare: unix.CLONE_NEWPID | unix.CLONE_NEWNS, forks: true,
		},
		{
			name: "new user with joined net", nss: ns("NEWUSER", "NEWNET=/n"),
			thread: []configs.NamespaceType{"NEWNET"}, clone: unix.CLONE_NEWUSER,
		},
		{
			name: "new user with joined mount", nss: ns("NEWUSER", "NEWNS=/m"),
			err: "needs the user namespace joined by path too",
		},
		{
			name: "exec without user", exec: true, nss: ns("NEWPID=/p", "NEWNS=/m", "NEWUTS=/u", "NEWTIME=/t", "NEWCGROUP=/c"),
			thread: []configs.NamespaceType{"NEWUTS", "NEWPID"}, boot: []configs.NamespaceType{"NEWCGROUP", "NEWTIME", "NEWNS"},
		},
		{
			name: "joined cgroup after the clone into the cgroup", nss: ns("NEWCGROUP=/c", "NEWNET"),
			boot: []configs.NamespaceType{"NEWCGROUP"}, clone: unix.CLONE_NEWNET,
		},
		{
			name: "joined cgroup with a new user namespace", nss: ns("NEWCGROUP=/c", "NEWUSER"),
			thread: []configs.NamespaceType{"NEWCGROUP"}, clone: unix.CLONE_NEWUSER,
		},
		{
			name: "exec with user", exec: true, nss: ns("NEWPID=/p", "NEWNS=/m", "NEWUSER=/u"),
			boot: []configs.NamespaceType{"NEWUSER", "NEWPID", "NEWNS"}, forks: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var joins []NamespaceFile
			for _, n := range tc.nss {
				if n.Path != "" {
					joins = append(joins, NamespaceFile{Type: n.Type, File: os.Stdin})
				}
			}
			b := &Bootstrap{Config: &configs.Config{Namespaces: tc.nss}, Exec: tc.exec}
			p, err := planNamespaces(b, joins)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(types(p.thread), tc.thread) || !slices.Equal(types(p.boot), tc.boot) {
				t.Errorf("thread %v boot %v, want %v %v", types(p.thread), types(p.boot), tc.thread, tc.boot)
			}
			if p.clone != tc.clone || p.unshare != tc.unshare {
				t.Errorf("clone %#x unshare %#x, want %#x %#x", p.clone, p.unshare, tc.clone, tc.unshare)
			}
			fds := make([]int, len(p.boot))
			req := p.request(3, fds, false)
			if got := req != nil && req.Forks(); got != tc.forks {
				t.Errorf("forks %v, want %v", got, tc.forks)
			}
			if req != nil && !nsenter.Available {
				t.Error("a request without the bootstrap linked")
			}
		})
	}
}

func TestOpenNamespace(t *testing.T) {
	if _, err := os.Stat("/proc/self/ns/uts"); err != nil {
		t.Skipf("no /proc/self/ns: %v", err)
	}
	f, err := OpenNamespace(configs.NEWUTS, "/proc/self/ns/uts")
	if err != nil {
		t.Fatalf("open the own uts namespace: %v", err)
	}
	f.Close()
	if _, err := OpenNamespace(configs.NEWNET, "/proc/self/ns/uts"); err == nil || !strings.Contains(err.Error(), "is a uts namespace, not a net namespace") {
		t.Errorf("a uts namespace opened as net: %v", err)
	}
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenNamespace(configs.NEWNET, file); err == nil || !strings.Contains(err.Error(), "is not a namespace file") {
		t.Errorf("a regular file opened as a namespace: %v", err)
	}
	if _, err := OpenNamespace(configs.NEWNET, filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing path opened as a namespace")
	}
}
