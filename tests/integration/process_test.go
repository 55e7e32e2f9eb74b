package integration

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestUser(t *testing.T) {
	for _, tc := range []struct {
		name   string
		user   specs.User
		env    []string // added to the config's
		cwd    string
		script string
		want   string
	}{
		{
			name:   "root",
			script: `echo "$(id -u) $(id -g) [$(id -G)] $HOME"`,
			want:   "0 0 [0] /root",
		},
		{
			name:   "uid gid additional gids",
			user:   specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{10, 20}},
			script: `echo "$(id -u) $(id -g)"; grep '^Groups:' /proc/self/status | cut -f2`,
			want:   "1000 1001\n10 20",
		},
		{
			name:   "no additional gids",
			user:   specs.User{UID: 1000, GID: 1001},
			script: `grep '^Groups:' /proc/self/status | cut -f2 | tr -d ' '; echo end`,
			want:   "end",
		},
		{
			name:   "home from passwd",
			user:   specs.User{UID: 1, GID: 1},
			script: `echo "$HOME"`,
			want:   "/usr/sbin",
		},
		{
			name:   "home for a user not in passwd",
			user:   specs.User{UID: 4242, GID: 4242},
			script: `echo "$HOME"`,
			want:   "/",
		},
		{
			name:   "home from env wins",
			user:   specs.User{UID: 1, GID: 1},
			env:    []string{"HOME=/custom"},
			script: `echo "$HOME"`,
			want:   "/custom",
		},
		{
			name:   "umask",
			user:   specs.User{Umask: ptr(uint32(0o027))},
			script: `umask; touch /tmp/f; stat -c %a /tmp/f`,
			want:   "0027\n640",
		},
		{
			name:   "default umask",
			script: `umask`,
			want:   "0022",
		},
		{
			name:   "env",
			env:    []string{"FOO=bar baz", "EMPTY="},
			script: `echo "[$FOO] [${EMPTY-unset}] $PATH"`,
			want:   "[bar baz] [] /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		},
		{
			name:   "cwd",
			cwd:    "/tmp",
			script: `pwd`,
			want:   "/tmp",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			b.Spec.Root.Readonly = false
			b.Spec.Process.User = tc.user
			b.Spec.Process.Env = append(b.Spec.Process.Env, tc.env...)
			if tc.cwd != "" {
				b.Spec.Process.Cwd = tc.cwd
			}
			if out := b.shOutput(tc.script); out != tc.want {
				t.Errorf("container output %q, want %q", out, tc.want)
			}
		})
	}
}

func TestCapabilities(t *testing.T) {
	const (
		chown = unix.CAP_CHOWN
		kill  = unix.CAP_KILL
		nbs   = unix.CAP_NET_BIND_SERVICE
	)
	for _, tc := range []struct {
		name string
		user specs.User
		caps specs.LinuxCapabilities
		want map[string]string // status field -> mask
	}{
		{
			// For root, execve makes the permitted and effective sets
			// the bounding set.
			name: "root",
			caps: specs.LinuxCapabilities{
				Bounding:  []string{"CAP_KILL", "CAP_CHOWN"},
				Effective: []string{"CAP_KILL", "CAP_CHOWN"},
				Permitted: []string{"CAP_KILL", "CAP_CHOWN"},
			},
			want: map[string]string{
				"CapBnd": capMask(t, kill, chown), "CapEff": capMask(t, kill, chown),
				"CapPrm": capMask(t, kill, chown), "CapAmb": capMask(t), "CapInh": capMask(t),
			},
		},
		{
			// For another user only the ambient set survives execve.
			name: "user with ambient",
			user: specs.User{UID: 1000, GID: 1000},
			caps: specs.LinuxCapabilities{
				Bounding:    []string{"CAP_KILL", "CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
				Effective:   []string{"CAP_KILL", "CAP_CHOWN"},
				Permitted:   []string{"CAP_KILL", "CAP_CHOWN"},
				Inheritable: []string{"CAP_KILL", "CAP_CHOWN"},
				Ambient:     []string{"CAP_CHOWN"},
			},
			want: map[string]string{
				"CapBnd": capMask(t, kill, chown, nbs), "CapEff": capMask(t, chown),
				"CapPrm": capMask(t, chown), "CapAmb": capMask(t, chown), "CapInh": capMask(t, kill, chown),
			},
		},
		{
			name: "none",
			caps: specs.LinuxCapabilities{},
			want: map[string]string{
				"CapBnd": capMask(t), "CapEff": capMask(t), "CapPrm": capMask(t), "CapAmb": capMask(t), "CapInh": capMask(t),
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			b.Spec.Process.User = tc.user
			b.Spec.Process.Capabilities = &tc.caps
			status := b.shOutput("cat /proc/self/status")
			for field, want := range tc.want {
				if got := statusField(status, field); got != want {
					t.Errorf("%s = %s, want %s", field, got, want)
				}
			}
		})
	}
	t.Run("effect", func(t *testing.T) {
		// Without CAP_CHOWN, root cannot chown a file it does not own;
		// with it, it can.
		for _, withChown := range []bool{false, true} {
			b := newBundle(t)
			b.Spec.Root.Readonly = false
			if withChown {
				b.addCaps("CAP_CHOWN")
			}
			out := b.shOutput("touch /tmp/f; chown 1:1 /tmp/f 2>&1 | grep -o 'Operation not permitted'; stat -c %u /tmp/f")
			want := "Operation not permitted\n0"
			if withChown {
				want = "1"
			}
			if out != want {
				t.Errorf("CAP_CHOWN %v: container output %q, want %q", withChown, out, want)
			}
		}
	})
}

func TestNoNewPrivileges(t *testing.T) {
	for _, tc := range []struct {
		nnp  bool
		want string
	}{{true, "1"}, {false, "0"}} {
		name := "off"
		if tc.nnp {
			name = "on"
		}
		t.Run(name, func(t *testing.T) {
			b := newBundle(t)
			b.Spec.Process.NoNewPrivileges = tc.nnp
			status := b.shOutput("cat /proc/self/status")
			if got := statusField(status, "NoNewPrivs"); got != tc.want {
				t.Errorf("NoNewPrivs = %q, want %s", got, tc.want)
			}
		})
	}
}

func TestRlimits(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rlimits []specs.POSIXRlimit
		script  string
		want    string
	}{
		{
			name:    "nofile",
			rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1000, Hard: 2000}},
			script:  "ulimit -n; ulimit -Hn",
			want:    "1000\n2000",
		},
		{
			name: "several",
			rlimits: []specs.POSIXRlimit{
				{Type: "RLIMIT_NOFILE", Soft: 512, Hard: 512},
				{Type: "RLIMIT_CORE", Soft: 0, Hard: 4096},
				{Type: "RLIMIT_NPROC", Soft: 300, Hard: 400},
			},
			script: "ulimit -n; ulimit -c; ulimit -Hc; ulimit -u; ulimit -Hu",
			// ulimit -c counts 512-byte blocks in busybox.
			want: "512\n0\n8\n300\n400",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			b.Spec.Process.Rlimits = tc.rlimits
			if out := b.shOutput(tc.script); out != tc.want {
				t.Errorf("container output %q, want %q", out, tc.want)
			}
		})
	}
}

func TestOOMScoreAdj(t *testing.T) {
	for _, tc := range []struct {
		name string
		adj  *int
		want string
	}{
		{"set", ptr(500), "500"},
		{"max", ptr(1000), "1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			b.Spec.Process.OOMScoreAdj = tc.adj
			if out := b.shOutput("cat /proc/self/oom_score_adj"); out != tc.want {
				t.Errorf("oom_score_adj %q, want %s", out, tc.want)
			}
		})
	}
	t.Run("unset inherits", func(t *testing.T) {
		host, err := os.ReadFile("/proc/self/oom_score_adj")
		if err != nil {
			t.Fatal(err)
		}
		b := newBundle(t)
		if out := b.shOutput("cat /proc/self/oom_score_adj"); out != strings.TrimSpace(string(host)) {
			t.Errorf("oom_score_adj %q, want berth's own %q", out, host)
		}
	})
}

func TestSysctl(t *testing.T) {
	hostForward, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	hostShmmax, _ := os.ReadFile("/proc/sys/kernel/shmmax")
	for _, tc := range []struct {
		name   string
		sysctl map[string]string
		script string
		want   string
	}{
		{"net in a netns", map[string]string{"net.ipv4.ip_forward": "1"}, "cat /proc/sys/net/ipv4/ip_forward", "1"},
		{"slash form", map[string]string{"net/ipv4/ip_forward": "1"}, "cat /proc/sys/net/ipv4/ip_forward", "1"},
		{"ipc in an ipc ns", map[string]string{"kernel.shmmax": "65536"}, "cat /proc/sys/kernel/shmmax", "65536"},
		{"several", map[string]string{"kernel.msgmax": "4096", "net.ipv4.tcp_syncookies": "0"}, "cat /proc/sys/kernel/msgmax /proc/sys/net/ipv4/tcp_syncookies", "4096\n0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			b.Spec.Linux.Sysctl = tc.sysctl
			if out := b.shOutput(tc.script); out != tc.want {
				t.Errorf("container output %q, want %q", out, tc.want)
			}
		})
	}
	// The host's values did not change.
	if now, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); string(now) != string(hostForward) {
		t.Errorf("host ip_forward changed from %q to %q", hostForward, now)
	}
	if now, _ := os.ReadFile("/proc/sys/kernel/shmmax"); string(now) != string(hostShmmax) {
		t.Errorf("host shmmax changed from %q to %q", hostShmmax, now)
	}
}

func TestHostnameDomainname(t *testing.T) {
	host, _ := os.Hostname()
	for _, tc := range []struct {
		name       string
		hostname   string
		domainname string
		want       string
	}{
		{"both", "berth-host", "example.org", "berth-host example.org"},
		{"hostname only", "only-host", "", "only-host (none)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			b.Spec.Hostname = tc.hostname
			b.Spec.Domainname = tc.domainname
			if out := b.shOutput("echo $(hostname) $(cat /proc/sys/kernel/domainname)"); out != tc.want {
				t.Errorf("container output %q, want %q", out, tc.want)
			}
		})
	}
	if now, _ := os.Hostname(); now != host {
		t.Errorf("host name changed from %q to %q", host, now)
	}
}
