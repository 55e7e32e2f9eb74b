package main

import (
	"errors"
	"testing"

	"github.com/berthrt/berth/libcontainer/configs"
)

// FuzzProcessJSON feeds a process.json (berth exec -p) and a --user value
// through the CLI's parsing and its conversion to the library's Process:
// bad input must give an error, never a panic, and what is accepted must
// be a process the library can take.
func FuzzProcessJSON(f *testing.F) {
	f.Add([]byte(`{"args":["sh"]}`), "")
	f.Add([]byte(`{"args":["sh","-c","id"],"cwd":"/tmp","env":["PATH=/bin"],"user":{"uid":1000,"gid":1000,"additionalGids":[5]}}`), "1000:1000")
	f.Add([]byte(`{"args":["true"],"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024},{"type":"RLIMIT_BOGUS"}]}`), "daemon")
	f.Add([]byte(`{"args":["true"],"capabilities":{"bounding":["CAP_KILL"],"ambient":["CAP_BOGUS"]},"noNewPrivileges":true}`), "daemon:tty")
	f.Add([]byte(`{"args":["true"],"apparmorProfile":"berth-default","selinuxLabel":"system_u:system_r:container_t:s0:c1,c2"}`), "0")
	f.Add([]byte(`{"args":[]}`), ":")
	f.Add([]byte(`{"args":null,"user":{"uid":-1}}`), "1000:")
	f.Add([]byte(`[]`), "4294967296")
	f.Fuzz(func(t *testing.T, data []byte, user string) {
		sp, err := parseProcess(data)
		if err != nil {
			if sp != nil {
				t.Fatalf("parseProcess returned a process and error %v", err)
			}
			return
		}
		if len(sp.Args) == 0 {
			t.Fatal("parseProcess accepted a process without args")
		}
		uid, gid := sp.User.UID, sp.User.GID
		name, err := parseExecUser(user, &sp.User)
		if err != nil {
			return
		}
		if name != "" && (sp.User.UID != uid || sp.User.GID != gid) {
			t.Fatalf("parseExecUser(%q) returned name %q and changed the ids", user, name)
		}
		p, err := execProcess(sp, name, nil)
		if err != nil {
			var fe *configs.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("execProcess: %v is not a *configs.FieldError", err)
			}
			return
		}
		if p.Cwd == "" || len(p.Args) != len(sp.Args) || p.Init {
			t.Fatalf("execProcess(%+v) = %+v", sp, p)
		}
		if p.AppArmorProfile != sp.ApparmorProfile || p.Label != sp.SelinuxLabel {
			t.Fatalf("LSM labels lost: %+v", p)
		}
	})
}
