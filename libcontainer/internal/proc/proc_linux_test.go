package proc

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// The root tests re-execute the test binary: the child runs one step on
// itself and prints what it sees, so the test process is left unchanged.
const (
	childEnv    = "BERTH_PROC_TEST_CHILD"
	childArgEnv = "BERTH_PROC_TEST_ARG"
)

func child(name string) func(arg string) error {
	switch name {
	case "setup-user":
		return childSetupUser
	case "rlimits":
		return childRlimits
	case "keyring":
		return childKeyring
	case "nnp":
		return childNoNewPrivs
	case "sysctl":
		return childSysctl
	case "sysctl-error":
		return childSysctlError
	case "chdir":
		return childChdir
	}
	return func(string) error { return fmt.Errorf("unknown child %q", name) }
}

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		runtime.LockOSThread()
		if err := child(name)(os.Getenv(childArgEnv)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild runs child name with arg and returns its standard output.
func runChild(t *testing.T, name, arg string, attr *syscall.SysProcAttr) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = []string{childEnv + "=" + name, childArgEnv + "=" + arg}
	cmd.SysProcAttr = attr
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the child changes its credentials, limits or namespaces")
	}
}

// statusFields returns the named fields of a /proc/<pid>/status text.
func statusFields(s string, names ...string) map[string]string {
	out := make(map[string]string)
	for line := range strings.SplitSeq(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for _, n := range names {
			if k == n {
				out[k] = strings.Join(strings.Fields(v), " ")
			}
		}
	}
	return out
}

func childSetupUser(arg string) error {
	var u User
	if err := json.Unmarshal([]byte(arg), &u); err != nil {
		return err
	}
	if err := SetupUser(&u); err != nil {
		return err
	}
	keep, err := unix.PrctlRetInt(unix.PR_GET_KEEPCAPS, 0, 0, 0, 0)
	if err != nil {
		return err
	}
	thread, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		return err
	}
	// The main thread shows whether the switch reached the other threads.
	main, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	res := map[string]any{
		"keepcaps": keep,
		"thread":   statusFields(string(thread), "Uid", "Gid", "Groups", "CapPrm", "CapEff"),
		"main":     statusFields(string(main), "Uid", "Gid"),
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// usernsMap maps root to itself (so that the child can still run the test
// binary, in a 0700 directory of the host's root) and the rest to an unused
// range.
var usernsMap = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: 1, HostID: 200001, Size: 65535}}

func TestSetupUser(t *testing.T) {
	requireRoot(t)
	full, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	prm := statusFields(string(full), "CapPrm")["CapPrm"]

	tests := []struct {
		name       string
		u          User
		attr       *syscall.SysProcAttr
		wantGroups string
	}{
		{name: "user with groups", u: User{UID: 1000, GID: 1001, AdditionalGids: []int{10, 29}}, wantGroups: "10 29"},
		{name: "no groups clears root's", u: User{UID: 1000, GID: 1000}, wantGroups: ""},
		{
			name: "setgroups denied in a user namespace is skipped",
			u:    User{UID: 1000, GID: 1000, AdditionalGids: []int{10}},
			attr: &syscall.SysProcAttr{
				Cloneflags:  syscall.CLONE_NEWUSER,
				UidMappings: usernsMap,
				GidMappings: usernsMap,
				// GidMappingsEnableSetgroups false: /proc/self/setgroups is "deny".
				// Become the namespace's root so that execve keeps the caps.
				Credential: &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
			},
			wantGroups: "-", // whatever it inherited, unchanged
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			arg, _ := json.Marshal(tc.u)
			out, err := runChild(t, "setup-user", string(arg), tc.attr)
			if err != nil {
				t.Fatal(err)
			}
			var res struct {
				Keepcaps     int
				Thread, Main map[string]string
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("%v: %q", err, out)
			}
			ids := func(n int) string { s := strconv.Itoa(n); return s + " " + s + " " + s + " " + s }
			if res.Thread["Uid"] != ids(tc.u.UID) || res.Thread["Gid"] != ids(tc.u.GID) {
				t.Errorf("thread Uid %q Gid %q, want %d and %d everywhere", res.Thread["Uid"], res.Thread["Gid"], tc.u.UID, tc.u.GID)
			}
			if res.Main["Uid"] != ids(tc.u.UID) || res.Main["Gid"] != ids(tc.u.GID) {
				t.Errorf("main thread Uid %q Gid %q: the switch did not reach every thread", res.Main["Uid"], res.Main["Gid"])
			}
			if tc.wantGroups != "-" && res.Thread["Groups"] != tc.wantGroups {
				t.Errorf("Groups %q, want %q", res.Thread["Groups"], tc.wantGroups)
			}
			if res.Keepcaps != 0 {
				t.Error("PR_SET_KEEPCAPS is still set")
			}
			if tc.attr == nil && res.Thread["CapPrm"] != prm {
				t.Errorf("CapPrm %s, want %s kept across the switch", res.Thread["CapPrm"], prm)
			}
			if res.Thread["CapEff"] != "0000000000000000" {
				t.Errorf("CapEff %s, want empty after leaving uid 0", res.Thread["CapEff"])
			}
		})
	}

	t.Run("unmapped uid", func(t *testing.T) {
		arg, _ := json.Marshal(User{UID: 70000, GID: 0})
		_, err := runChild(t, "setup-user", string(arg), &syscall.SysProcAttr{
			Cloneflags:                 syscall.CLONE_NEWUSER,
			UidMappings:                usernsMap,
			GidMappings:                usernsMap,
			GidMappingsEnableSetgroups: true,
			Credential:                 &syscall.Credential{Uid: 0, Gid: 0},
		})
		if err == nil || !strings.Contains(err.Error(), "setresuid 70000: uid is not mapped in the user namespace: invalid argument") {
			t.Fatalf("err = %v", err)
		}
	})
}

func childRlimits(arg string) error {
	var rl []configs.Rlimit
	if err := json.Unmarshal([]byte(arg), &rl); err != nil {
		return err
	}
	if err := SetRlimits(rl); err != nil {
		return err
	}
	// A shell, not Go: a Go program raises its own RLIMIT_NOFILE at start.
	return syscall.Exec("/bin/sh", []string{"sh", "-c", "ulimit -Sn; ulimit -Hn; ulimit -Sc; ulimit -Hc"}, nil)
}

func TestSetRlimits(t *testing.T) {
	requireRoot(t)
	rl := []configs.Rlimit{
		{Type: unix.RLIMIT_NOFILE, Soft: 1024, Hard: 2048},
		{Type: unix.RLIMIT_CORE, Soft: 4096, Hard: 8192},
	}
	arg, _ := json.Marshal(rl)
	out, err := runChild(t, "rlimits", string(arg), nil)
	if err != nil {
		t.Fatal(err)
	}
	// ulimit -c counts 512-byte blocks in dash.
	if got := strings.Fields(out); strings.Join(got, " ") != "1024 2048 8 16" {
		t.Fatalf("after execve: nofile soft/hard, core soft/hard = %q, want 1024 2048 8 16", got)
	}

	t.Run("error names the limit", func(t *testing.T) {
		arg, _ := json.Marshal([]configs.Rlimit{{Type: unix.RLIMIT_NOFILE, Soft: 10, Hard: 5}})
		_, err := runChild(t, "rlimits", string(arg), nil)
		if err == nil || !strings.Contains(err.Error(), "set rlimit RLIMIT_NOFILE (soft 10, hard 5): invalid argument") {
			t.Fatalf("err = %v", err)
		}
	})
}

func childKeyring(arg string) error {
	name, userns, _ := strings.Cut(arg, ",")
	if err := JoinSessionKeyring(name, userns == "userns"); err != nil {
		return err
	}
	id, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_SESSION_KEYRING, false)
	if err != nil {
		return err
	}
	desc, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, id)
	if err != nil {
		return err
	}
	fmt.Println(desc)
	return nil
}

func TestJoinSessionKeyring(t *testing.T) {
	requireRoot(t)
	name := fmt.Sprintf("_ses.berth-test-%d", os.Getpid())
	const (
		posAll  = 0x3f000000
		usrView = 0x00010000
		usrRead = 0x00020000
		othAll  = 0x0000003f
	)
	tests := []struct {
		arg      string
		add, not uint32
	}{
		// The kernel's default permissions (possessor all, user view and
		// read at least) plus user search, or other search (and nothing
		// else for others) with a user namespace.
		{name, keyUsrSearch, othAll},
		{name + ",userns", keyOthSearch, othAll &^ keyOthSearch},
	}
	for _, tc := range tests {
		t.Run(tc.arg, func(t *testing.T) {
			out, err := runChild(t, "keyring", tc.arg, nil)
			if err != nil {
				t.Fatal(err)
			}
			f := strings.Split(strings.TrimSpace(out), ";")
			if len(f) != 5 || f[0] != "keyring" || f[1] != "0" || f[2] != "0" || f[4] != name {
				t.Fatalf("session keyring %q, want keyring;0;0;<perm>;%s", out, name)
			}
			perm, err := strconv.ParseUint(f[3], 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			want := uint64(posAll | usrView | usrRead | tc.add)
			if perm&want != want || perm&uint64(tc.not) != 0 {
				t.Fatalf("permissions %08x, want %08x set and %08x clear", perm, want, tc.not)
			}
		})
	}
}

func childNoNewPrivs(string) error {
	if err := SetNoNewPrivs(); err != nil {
		return err
	}
	return syscall.Exec("/bin/grep", []string{"grep", "^NoNewPrivs", "/proc/self/status"}, nil)
}

func TestSetNoNewPrivs(t *testing.T) {
	out, err := runChild(t, "nnp", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(out), " "); got != "NoNewPrivs: 1" {
		t.Fatalf("after execve: %q, want NoNewPrivs: 1", got)
	}
}

func childSysctl(arg string) error {
	var m map[string]string
	if err := json.Unmarshal([]byte(arg), &m); err != nil {
		return err
	}
	if err := WriteSysctls(m); err != nil {
		return err
	}
	res := make(map[string]string)
	for k := range m {
		p, err := sysctlPath(k)
		if err != nil {
			return err
		}
		b, err := os.ReadFile("/proc/sys/" + p)
		if err != nil {
			return err
		}
		res[k] = strings.TrimSpace(string(b))
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func childSysctlError(arg string) error {
	var m map[string]string
	if err := json.Unmarshal([]byte(arg), &m); err != nil {
		return err
	}
	err := WriteSysctls(m)
	if err == nil {
		return fmt.Errorf("WriteSysctls(%v) succeeded", m)
	}
	fmt.Println(err)
	return nil
}

func TestWriteSysctls(t *testing.T) {
	requireRoot(t)
	// A new network namespace: net.* sysctls written there leave the host
	// alone.
	netns := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	want := map[string]string{
		"net.ipv4.ip_forward":                  "1",
		"net/ipv4/conf/lo/forwarding":          "1",
		"net.ipv4.ip_local_port_range":         "20000\t30000",
		"net.ipv4.conf.default.rp_filter":      "2",
		"net/ipv6/conf/default/hop_limit":      "33",
		"net.ipv4.tcp_keepalive_time":          "600",
		"net.ipv4.conf.all.accept_redirects":   "0",
		"net.ipv4.ping_group_range":            "0\t2147483647",
		"net.ipv4.tcp_fin_timeout":             "30",
		"net.ipv4.conf.default.log_martians":   "1",
		"net.ipv4.icmp_echo_ignore_broadcasts": "1",
	}
	arg, _ := json.Marshal(want)
	out, err := runChild(t, "sysctl", string(arg), netns)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}

	errs := []struct{ name, key, value, want string }{
		{"bad value", "net.ipv4.ip_forward", "abc", "write sysctl net.ipv4.ip_forward: invalid argument"},
		{"missing key", "net.ipv4.no_such_key", "1", "open sysctl net.ipv4.no_such_key: "},
		{"escape", "net/../../self/oom_score_adj", "1", `invalid sysctl key "net/../../self/oom_score_adj"`},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			arg, _ := json.Marshal(map[string]string{tc.key: tc.value})
			out, err := runChild(t, "sysctl-error", string(arg), netns)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(strings.TrimSpace(out), tc.want) {
				t.Fatalf("error %q, want prefix %q", strings.TrimSpace(out), tc.want)
			}
		})
	}
}
