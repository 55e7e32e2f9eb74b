package proc

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const testPasswd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
alice:x:1000:1000::/home/alice:/bin/sh
alice2:x:1000:1001::/home/second:/bin/sh
nohome:x:1002:1002:::/bin/sh
`

const testGroup = `root:x:0:
daemon:x:1:
wheel:x:10:alice,root
audio:x:29:alice
alice:x:1000:
staff:x:50:
`

func TestLookupUser(t *testing.T) {
	tests := []struct {
		name     string
		uid, gid uint32
		add      []uint32
		passwd   io.Reader
		want     User
	}{
		{"root", 0, 0, nil, strings.NewReader(testPasswd), User{Home: "/root"}},
		{"ids are kept even when passwd disagrees", 1000, 5, []uint32{7, 7}, strings.NewReader(testPasswd), User{UID: 1000, GID: 5, AdditionalGids: []int{7, 7}, Home: "/home/alice"}},
		{"no entry gives /", 4242, 4242, nil, strings.NewReader(testPasswd), User{UID: 4242, GID: 4242, Home: "/"}},
		{"no passwd gives /", 0, 0, nil, nil, User{Home: "/"}},
		{"entry with empty home", 1002, 1002, nil, strings.NewReader(testPasswd), User{UID: 1002, GID: 1002}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := lookupUser(tc.uid, tc.gid, tc.add, tc.passwd)
			if !equalUser(got, &tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLookupUserString(t *testing.T) {
	tests := []struct {
		spec    string
		want    User
		wantErr string
	}{
		{spec: "", want: User{Home: "/root", AdditionalGids: []int{10}}},
		{spec: "daemon", want: User{UID: 1, GID: 1, AdditionalGids: []int{}, Home: "/usr/sbin"}},
		{spec: "alice", want: User{UID: 1000, GID: 1000, AdditionalGids: []int{10, 29}, Home: "/home/alice"}},
		{spec: "1000", want: User{UID: 1000, GID: 1000, AdditionalGids: []int{10, 29}, Home: "/home/alice"}},
		{spec: "1000:50", want: User{UID: 1000, GID: 50, AdditionalGids: []int{}, Home: "/home/alice"}},
		{spec: "alice:staff", want: User{UID: 1000, GID: 50, AdditionalGids: []int{}, Home: "/home/alice"}},
		{spec: "4242", want: User{UID: 4242, AdditionalGids: []int{}, Home: "/"}},
		{spec: "4242:4343", want: User{UID: 4242, GID: 4343, AdditionalGids: []int{}, Home: "/"}},
		{spec: "bob", wantErr: `look up user "bob": unable to find user bob: no matching entries in passwd file`},
		{spec: "alice:nogroup", wantErr: `look up user "alice:nogroup": unable to find group nogroup: no matching entries in group file`},
		{spec: "-1", wantErr: `look up user "-1"`},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := lookupUserString(tc.spec, 0, 0, strings.NewReader(testPasswd), strings.NewReader(testGroup))
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalUser(got, &tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLookupUserStringWithoutFiles(t *testing.T) {
	got, err := lookupUserString("1000:1000", 0, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (User{UID: 1000, GID: 1000, AdditionalGids: []int{}, Home: "/"}); !equalUser(got, &want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := lookupUserString("daemon", 0, 0, nil, nil); err == nil {
		t.Fatal("a user name without a passwd file must fail")
	}
}

func TestLookupGroups(t *testing.T) {
	tests := []struct {
		name    string
		groups  []string
		want    []int
		wantErr bool
	}{
		{"none", nil, nil, false},
		{"names and numbers, sorted, deduplicated", []string{"audio", "10", "wheel", "4000"}, []int{10, 29, 4000}, false},
		{"unknown name", []string{"nosuch"}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lookupGroups(tc.groups, strings.NewReader(testGroup))
			if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestLookupInRoot reads the databases of a root directory through the same
// code LookupUser uses for "/".
func TestLookupInRoot(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	write := func(dir, name, data string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("no etc", func(t *testing.T) {
		u, err := LookupUserIn(root, 0, 0, nil)
		if err != nil || u.Home != "/" {
			t.Fatalf("got %+v, %v; want home /", u, err)
		}
	})

	write(root, "etc/passwd", testPasswd)
	write(root, "etc/group", testGroup)
	t.Run("files", func(t *testing.T) {
		u, err := lookupUserStringIn(root, "alice", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := (User{UID: 1000, GID: 1000, AdditionalGids: []int{10, 29}, Home: "/home/alice"}); !equalUser(u, &want) {
			t.Fatalf("got %+v, want %+v", u, want)
		}
		gids, err := lookupGroupsIn(root, []string{"staff"})
		if err != nil || !slices.Equal(gids, []int{50}) {
			t.Fatalf("groups: %v, %v", gids, err)
		}
	})

	t.Run("absolute symlink stays in the root", func(t *testing.T) {
		write(outside, "passwd", "root:x:0:0::/escaped:/bin/sh\n")
		write(root, "real/passwd", "root:x:0:0::/inside:/bin/sh\n")
		// Resolved against root, the link is root/real/passwd; resolved on
		// the host it would be outside/passwd.
		if err := os.Remove(filepath.Join(root, "etc/passwd")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/../../../../"+filepath.Join(outside, "passwd")[1:], filepath.Join(root, "etc/passwd")); err != nil {
			t.Fatal(err)
		}
		u, err := LookupUserIn(root, 0, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if u.Home == "/escaped" {
			t.Fatal("read a passwd file outside the root")
		}
		if err := os.Remove(filepath.Join(root, "etc/passwd")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/real/passwd", filepath.Join(root, "etc/passwd")); err != nil {
			t.Fatal(err)
		}
		u, err = LookupUserIn(root, 0, 0, nil)
		if err != nil || u.Home != "/inside" {
			t.Fatalf("got %+v, %v; want home /inside", u, err)
		}
	})

	t.Run("magic link refused", func(t *testing.T) {
		p := filepath.Join(root, "etc/passwd")
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/proc/self/root/etc/passwd", p); err != nil {
			t.Fatal(err)
		}
		// Inside root there is no proc: the link does not resolve at all.
		if u, err := LookupUserIn(root, 0, 0, nil); err != nil || u.Home != "/" {
			t.Fatalf("got %+v, %v; want home /", u, err)
		}
	})

	t.Run("fifo refused without blocking", func(t *testing.T) {
		p := filepath.Join(root, "etc/passwd")
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LookupUserIn(root, 0, 0, nil)
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("err = %v, want not a regular file", err)
		}
	})
}

func equalUser(a, b *User) bool {
	return a.UID == b.UID && a.GID == b.GID && a.Home == b.Home && slices.Equal(a.AdditionalGids, b.AdditionalGids)
}
