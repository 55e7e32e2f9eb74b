package main

import (
	"maps"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSubCgroupPaths(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want map[string]string
		err  string
	}{
		{nil, nil, ""},
		{[]string{"sub"}, map[string]string{"": "sub"}, ""},
		{[]string{"memory:a", "cpu,cpuacct:b/c"}, map[string]string{"memory": "a", "cpu": "b/c", "cpuacct": "b/c"}, ""},
		{[]string{"name=systemd:x"}, map[string]string{"name=systemd": "x"}, ""},
		{[]string{"a", "b"}, nil, "must be the only --cgroup"},
		{[]string{"a", "memory:b"}, nil, "must be the only --cgroup"},
		{[]string{":a"}, nil, "empty controller"},
		{[]string{"cpu,:a"}, nil, "empty controller"},
		{[]string{"cpu:a", "cpu,memory:b"}, nil, "controller cpu given twice"},
	} {
		got, err := subCgroupPaths(tc.args)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("subCgroupPaths(%q): error %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("subCgroupPaths(%q) = %v, %v; want %v", tc.args, got, err, tc.want)
		}
	}
}

func TestParseExecUser(t *testing.T) {
	for _, tc := range []struct {
		in       string
		uid, gid uint32
		name     string
		err      bool
	}{
		{"1000", 1000, 7, "", false},
		{"1000:1001", 1000, 1001, "", false},
		{"0:0", 0, 0, "", false},
		{"daemon", 5, 7, "daemon", false},
		{"daemon:tty", 5, 7, "daemon:tty", false},
		{"1000:tty", 5, 7, "1000:tty", false},
		{"", 0, 0, "", true},
		{"1000:", 0, 0, "", true},
		{":1000", 0, 0, "", true},
		{"4294967296", 5, 7, "4294967296", false},
	} {
		u := specs.User{UID: 5, GID: 7}
		name, err := parseExecUser(tc.in, &u)
		if tc.err {
			if err == nil {
				t.Errorf("parseExecUser(%q): no error", tc.in)
			}
			continue
		}
		if err != nil || name != tc.name || u.UID != tc.uid || u.GID != tc.gid {
			t.Errorf("parseExecUser(%q) = %q, uid %d gid %d, %v; want %q, %d %d", tc.in, name, u.UID, u.GID, err, tc.name, tc.uid, tc.gid)
		}
	}
}
