package nsenter

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestRequestEnv(t *testing.T) {
	for _, tc := range []struct {
		name  string
		req   Request
		want  string
		forks bool
	}{
		{"nothing", Request{Sock: 5}, EnvName + "=5 0 0", false},
		{
			"user then pid then mnt",
			Request{Sock: 7, Join: []Join{{8, unix.CLONE_NEWUSER}, {9, unix.CLONE_NEWPID}, {10, unix.CLONE_NEWNS}}},
			EnvName + "=7 0 0 8:268435456 9:536870912 10:131072",
			true,
		},
		{
			"joined user, new pid and net",
			Request{Sock: 3, Join: []Join{{6, unix.CLONE_NEWUSER}}, Unshare: unix.CLONE_NEWPID | unix.CLONE_NEWNET},
			EnvName + "=3 1610612736 0 6:268435456",
			true,
		},
		{"mount only", Request{Sock: 4, Join: []Join{{5, unix.CLONE_NEWNS}}}, EnvName + "=4 0 0 5:131072", false},
		{"exec, no namespace", Request{Sock: 6, Exec: true}, EnvName + "=6 0 1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.req.Env(); got != tc.want {
				t.Errorf("Env() = %q, want %q", got, tc.want)
			}
			if got := tc.req.Forks(); got != tc.forks {
				t.Errorf("Forks() = %v, want %v", got, tc.forks)
			}
		})
	}
}
