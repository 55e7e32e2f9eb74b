package proc

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestLookPath(t *testing.T) {
	dir1, dir2 := t.TempDir(), t.TempDir()
	mk := func(dir, name string, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	prog1 := mk(dir1, "prog", 0o755)
	prog2 := mk(dir2, "prog", 0o755)
	only2 := mk(dir2, "only2", 0o755)
	mk(dir1, "noexec", 0o644)
	if err := os.Mkdir(filepath.Join(dir1, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := "PATH=" + dir1 + ":" + dir2

	tests := []struct {
		name    string
		file    string
		env     []string
		want    string
		wantErr string
	}{
		{name: "first PATH entry wins", file: "prog", env: []string{path}, want: prog1},
		{name: "last PATH variable wins", file: "prog", env: []string{path, "PATH=" + dir2}, want: prog2},
		{name: "later directory", file: "only2", env: []string{path}, want: only2},
		{name: "absolute path", file: prog2, env: nil, want: prog2},
		{name: "not found", file: "nosuch", env: []string{path}, wantErr: `exec: "nosuch": executable file not found in $PATH`},
		{name: "directory is skipped", file: "adir", env: []string{path}, wantErr: `exec: "adir": executable file not found in $PATH`},
		{name: "absolute directory", file: dir1, wantErr: `exec: "` + dir1 + `": is a directory`},
		{name: "relative PATH element", file: "prog", env: []string{"PATH=" + dir2[1:]}, wantErr: `exec: "prog": cannot run executable found relative to current directory`},
		{name: "absolute missing", file: filepath.Join(dir1, "nosuch"), wantErr: `exec: "` + filepath.Join(dir1, "nosuch") + `": stat ` + filepath.Join(dir1, "nosuch") + `: no such file or directory`},
		{name: "empty", file: "", env: []string{path}, wantErr: `exec: "": executable file not found in $PATH`},
		{name: "default PATH", file: "sh", env: []string{"A=b"}, want: "/usr/bin/sh"},
		{name: "empty PATH means current directory only", file: "sh", env: []string{"PATH="}, wantErr: `exec: "sh": executable file not found in $PATH`},
	}
	if os.Geteuid() != 0 {
		// Root may execute any file with an x bit, and none without one.
		tests = append(tests, struct {
			name    string
			file    string
			env     []string
			want    string
			wantErr string
		}{name: "not executable", file: "noexec", env: []string{path}, wantErr: `exec: "noexec": executable file not found in $PATH`})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "default PATH" {
				if _, err := os.Stat("/usr/bin/sh"); err != nil {
					t.Skip("no /usr/bin/sh on this host")
				}
			}
			if tc.name == "relative PATH element" {
				t.Chdir("/")
			}
			got, err := LookPath(tc.file, tc.env)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("LookPath(%q) = %q, %v; want error %s", tc.file, got, err, tc.wantErr)
				}
				var ee *exec.Error
				if !errors.As(err, &ee) {
					t.Fatalf("error %v is not an *exec.Error", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("LookPath(%q) = %q, %v; want %q", tc.file, got, err, tc.want)
			}
		})
	}
	_, err := LookPath("nosuch", []string{path})
	if !errors.Is(err, exec.ErrNotFound) {
		t.Fatalf("not found must wrap exec.ErrNotFound: %v", err)
	}
}
