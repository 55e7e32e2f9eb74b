package cgroups

import (
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/berthrt/berth/libcontainer/configs"
)

// hybridMountinfo is this project's test host: v1 controllers mounted one
// per hierarchy, name=systemd, and cgroup2 at /sys/fs/cgroup/unified.
const hybridMountinfo = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
42 31 0:39 / /sys/fs/cgroup/other rw,relatime - cgroup cgroup rw,name=other
50 22 0:32 /docker /mnt/memory\040again rw,relatime - cgroup cgroup rw,memory
`

const hybridProcCgroup = `9:name=systemd:/
8:pids:/
4:memory:/process_api/04fe
3:cpuset:/
1:cpu,cpuacct:/user.slice
0::/unified-own
`

func fakeHost(mountinfo, proc string, unified bool, unifiedRoot string) *host {
	return &host{
		unified:     unified,
		unifiedRoot: unifiedRoot,
		mounts:      func() ([]v1Mount, error) { return parseMountinfo([]byte(mountinfo)) },
		own:         func() (map[string]string, error) { return parseProcCgroup([]byte(proc)) },
	}
}

func TestParseMountinfo(t *testing.T) {
	got, err := parseMountinfo([]byte(hybridMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	want := []v1Mount{
		{"/sys/fs/cgroup/cpu,cpuacct", "/", []string{"cpu", "cpuacct"}},
		{"/sys/fs/cgroup/cpuset", "/", []string{"cpuset"}},
		{"/sys/fs/cgroup/memory", "/", []string{"memory"}},
		{"/sys/fs/cgroup/pids", "/", []string{"pids"}},
		{"/sys/fs/cgroup/systemd", "/", []string{"name=systemd"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := parseMountinfo([]byte("1 2 - cgroup cgroup rw,cpu\n")); err == nil {
		t.Error("short line: want an error")
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`:   "/a b",
		`/plain`:    "/plain",
		`/x\134y`:   `/x\y`,
		`/trail\04`: `/trail\04`,
	} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescape %q = %q, want %q", in, got, want)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	got, err := parseProcCgroup([]byte(hybridProcCgroup))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"name=systemd": "/", "pids": "/", "memory": "/process_api/04fe", "cpuset": "/",
		"cpu": "/user.slice", "cpuacct": "/user.slice", "": "/unified-own",
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := parseProcCgroup([]byte("garbage\n")); err == nil {
		t.Error("garbage: want an error")
	}
}

func TestV1Paths(t *testing.T) {
	h := fakeHost(hybridMountinfo, hybridProcCgroup, false, "/sys/fs/cgroup/unified")
	all := func(cpu, cpuset, mem, pids, sd, uni string) map[string]string {
		return map[string]string{
			"cpu": cpu, "cpuacct": cpu, "cpuset": cpuset, "memory": mem,
			"pids": pids, "name=systemd": sd, "": uni,
		}
	}
	tests := []struct {
		name    string
		c       configs.Cgroup
		want    map[string]string
		wantErr string
	}{
		{
			name: "absolute",
			c:    configs.Cgroup{Path: "/berth/abc"},
			want: all("/sys/fs/cgroup/cpu,cpuacct/berth/abc", "/sys/fs/cgroup/cpuset/berth/abc",
				"/sys/fs/cgroup/memory/berth/abc", "/sys/fs/cgroup/pids/berth/abc",
				"/sys/fs/cgroup/systemd/berth/abc", "/sys/fs/cgroup/unified/berth/abc"),
		},
		{
			name: "absolute dotdot stays in the hierarchy",
			c:    configs.Cgroup{Path: "/../../x/../y"},
			want: all("/sys/fs/cgroup/cpu,cpuacct/y", "/sys/fs/cgroup/cpuset/y",
				"/sys/fs/cgroup/memory/y", "/sys/fs/cgroup/pids/y",
				"/sys/fs/cgroup/systemd/y", "/sys/fs/cgroup/unified/y"),
		},
		{
			name: "relative to own cgroup",
			c:    configs.Cgroup{Path: "ctr"},
			want: all("/sys/fs/cgroup/cpu,cpuacct/user.slice/ctr", "/sys/fs/cgroup/cpuset/ctr",
				"/sys/fs/cgroup/memory/process_api/04fe/ctr", "/sys/fs/cgroup/pids/ctr",
				"/sys/fs/cgroup/systemd/ctr", "/sys/fs/cgroup/unified/unified-own/ctr"),
		},
		{
			name: "parent and name, relative",
			c:    configs.Cgroup{Parent: "p", Name: "n"},
			want: all("/sys/fs/cgroup/cpu,cpuacct/user.slice/p/n", "/sys/fs/cgroup/cpuset/p/n",
				"/sys/fs/cgroup/memory/process_api/04fe/p/n", "/sys/fs/cgroup/pids/p/n",
				"/sys/fs/cgroup/systemd/p/n", "/sys/fs/cgroup/unified/unified-own/p/n"),
		},
		{
			name: "parent absolute",
			c:    configs.Cgroup{Parent: "/p", Name: "n"},
			want: all("/sys/fs/cgroup/cpu,cpuacct/p/n", "/sys/fs/cgroup/cpuset/p/n",
				"/sys/fs/cgroup/memory/p/n", "/sys/fs/cgroup/pids/p/n",
				"/sys/fs/cgroup/systemd/p/n", "/sys/fs/cgroup/unified/p/n"),
		},
		{name: "empty", c: configs.Cgroup{}, wantErr: "path and name are both empty"},
		{name: "parent without name", c: configs.Cgroup{Parent: "/p"}, wantErr: "path and name are both empty"},
		{name: "path and name", c: configs.Cgroup{Path: "/a", Name: "b"}, wantErr: "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.v1Paths(&tt.c)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestV1PathsNoOwnReadForAbsolute(t *testing.T) {
	h := fakeHost(hybridMountinfo, "", false, "")
	h.own = func() (map[string]string, error) {
		t.Fatal("absolute path read /proc/self/cgroup")
		return nil, nil
	}
	got, err := h.v1Paths(&configs.Cgroup{Path: "/a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got[""]; ok {
		t.Error("no unified hierarchy, but got a \"\" path")
	}
}

func TestHierarchyPathMountRoot(t *testing.T) {
	tests := []struct {
		name, root, own, want string
		err                   bool
	}{
		{"root slash", "/", "/a/b", "/mnt/a/b/c", false},
		{"own is root", "/docker/x", "/docker/x", "/mnt/c", false},
		{"own under root", "/docker/x", "/docker/x/sub", "/mnt/sub/c", false},
		{"own beside root", "/docker/x", "/docker/xy", "", true},
		{"own outside root", "/docker/x", "/other", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hierarchyPath("/mnt", tt.root, "c", tt.own, true)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("got %q, %v; want %q, error %v", got, err, tt.want, tt.err)
			}
		})
	}
	if _, err := hierarchyPath("/mnt", "/", "c", "", false); err == nil {
		t.Error("unknown own cgroup: want an error")
	}
}

func TestV2Path(t *testing.T) {
	h := fakeHost("", "0::/user.slice/me\n", true, "/sys/fs/cgroup")
	h.mounts = func() ([]v1Mount, error) {
		t.Fatal("v2 read the mount table")
		return nil, nil
	}
	tests := []struct {
		c    configs.Cgroup
		want string
	}{
		{configs.Cgroup{Path: "/berth/x"}, "/sys/fs/cgroup/berth/x"},
		{configs.Cgroup{Path: "x"}, "/sys/fs/cgroup/user.slice/me/x"},
		{configs.Cgroup{Parent: "/p", Name: "n"}, "/sys/fs/cgroup/p/n"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got, err := h.v2Path(&tt.c)
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
