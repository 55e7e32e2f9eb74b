package capabilities

import (
	"bufio"
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

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// The root tests re-execute the test binary: the child applies a
// configuration to itself and reports the result, so the test process keeps
// its own capabilities.
const (
	childModeEnv   = "BERTH_CAPS_TEST_CHILD" // "thread" or "exec"
	childConfigEnv = "BERTH_CAPS_TEST_CONFIG"
	childUIDEnv    = "BERTH_CAPS_TEST_UID"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childModeEnv); mode != "" {
		if err := child(mode); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child does what the init process does before execve, then prints its
// thread's status ("thread") or execs cat to print the status after execve
// ("exec").
func child(mode string) error {
	runtime.LockOSThread()
	var cfg *configs.Capabilities
	if err := json.Unmarshal([]byte(os.Getenv(childConfigEnv)), &cfg); err != nil {
		return err
	}
	uid, err := strconv.Atoi(os.Getenv(childUIDEnv))
	if err != nil {
		return err
	}
	caps, _, err := New(cfg)
	if err != nil {
		return err
	}
	if err := caps.ApplyBoundingSet(); err != nil {
		return err
	}
	if uid != 0 {
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return err
		}
		if err := syscall.Setgroups(nil); err != nil {
			return err
		}
		if err := syscall.Setresgid(uid, uid, uid); err != nil {
			return err
		}
		if err := syscall.Setresuid(uid, uid, uid); err != nil {
			return err
		}
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
			return err
		}
	}
	if err := caps.ApplyCaps(); err != nil {
		return err
	}
	if mode == "exec" {
		return syscall.Exec("/bin/cat", []string{"cat", "/proc/self/status"}, nil)
	}
	b, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(b)
	return err
}

type capState struct{ Inh, Prm, Eff, Bnd, Amb uint64 }

func parseStatus(t *testing.T, s string) capState {
	t.Helper()
	var st capState
	fields := map[string]*uint64{"CapInh": &st.Inh, "CapPrm": &st.Prm, "CapEff": &st.Eff, "CapBnd": &st.Bnd, "CapAmb": &st.Amb}
	sc := bufio.NewScanner(strings.NewReader(s))
	seen := 0
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if p, known := fields[k]; ok && known {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("parse %q: %v", sc.Text(), err)
			}
			*p = n
			seen++
		}
	}
	if seen != len(fields) {
		t.Fatalf("status has %d of the 5 Cap lines:\n%s", seen, s)
	}
	return st
}

func mask(names ...string) uint64 {
	var m uint64
	for _, n := range names {
		for _, c := range capability.ListKnown() {
			if capName(c) == n {
				m |= 1 << uint(c)
			}
		}
	}
	return m
}

func runChild(t *testing.T, mode string, uid int, cfg *configs.Capabilities) capState {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = []string{childModeEnv + "=" + mode, childConfigEnv + "=" + string(b), childUIDEnv + "=" + strconv.Itoa(uid)}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v: %s", err, stderr.String())
	}
	return parseStatus(t, string(out))
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the child drops capabilities and switches users")
	}
	in, err := capability.GetBound(capability.CAP_SETPCAP)
	if err != nil || !in {
		t.Skip("needs CAP_SETPCAP in the bounding set")
	}
}

// dockerDefault is the capability set of runc's and Docker's default spec.
var dockerDefault = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

func TestApply(t *testing.T) {
	requireRoot(t)
	self, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	host := parseStatus(t, string(self))

	tests := []struct {
		name string
		mode string
		uid  int
		cfg  *configs.Capabilities
		want capState
	}{
		{
			name: "all five sets on the thread",
			mode: "thread",
			cfg: &configs.Capabilities{
				Bounding:    []string{"CAP_KILL", "CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
				Effective:   []string{"CAP_KILL"},
				Permitted:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
				Inheritable: []string{"CAP_NET_BIND_SERVICE"},
				Ambient:     []string{"CAP_NET_BIND_SERVICE", "CAP_NO_SUCH_CAP"},
			},
			want: capState{
				Bnd: mask("CAP_KILL", "CAP_CHOWN", "CAP_NET_BIND_SERVICE"),
				Eff: mask("CAP_KILL"),
				Prm: mask("CAP_KILL", "CAP_NET_BIND_SERVICE"),
				Inh: mask("CAP_NET_BIND_SERVICE"),
				Amb: mask("CAP_NET_BIND_SERVICE"),
			},
		},
		{
			name: "non-root user keeps ambient caps across execve",
			mode: "exec",
			uid:  1000,
			cfg: &configs.Capabilities{
				Bounding:    []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
				Effective:   []string{"CAP_NET_BIND_SERVICE"},
				Permitted:   []string{"CAP_NET_BIND_SERVICE"},
				Inheritable: []string{"CAP_NET_BIND_SERVICE"},
				Ambient:     []string{"CAP_NET_BIND_SERVICE"},
			},
			want: capState{
				Bnd: mask("CAP_KILL", "CAP_NET_BIND_SERVICE"),
				Eff: mask("CAP_NET_BIND_SERVICE"),
				Prm: mask("CAP_NET_BIND_SERVICE"),
				Inh: mask("CAP_NET_BIND_SERVICE"),
				Amb: mask("CAP_NET_BIND_SERVICE"),
			},
		},
		{
			name: "non-root user without ambient caps has none after execve",
			mode: "exec",
			uid:  1000,
			cfg:  &configs.Capabilities{Bounding: dockerDefault, Effective: dockerDefault, Permitted: dockerDefault},
			want: capState{Bnd: mask(dockerDefault...)},
		},
		{
			name: "root with runc's default set after execve",
			mode: "exec",
			cfg:  &configs.Capabilities{Bounding: dockerDefault, Effective: dockerDefault, Permitted: dockerDefault},
			want: capState{Bnd: mask(dockerDefault...), Eff: mask(dockerDefault...), Prm: mask(dockerDefault...)},
		},
		{
			name: "empty config drops everything",
			mode: "thread",
			cfg:  &configs.Capabilities{},
		},
		{
			name: "nil config keeps the caller's capabilities",
			mode: "thread",
			want: host,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := runChild(t, tc.mode, tc.uid, tc.cfg)
			if got != tc.want {
				t.Errorf("got  %+x\nwant %+x", got, tc.want)
			}
		})
	}
}
