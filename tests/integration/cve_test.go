package integration

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// One regression test per runc security advisory: each reproduces the
// attack the advisory describes against berth, from a busybox container,
// and checks that it fails and that the host is left as it was. Where
// runc's exploit needs a second container winning a race at the worst
// moment, the createContainer hook (which runs in the container's mount
// namespace after every mount, before pivot_root) plays that container
// deterministically, and a racing variant runs where a race is the point.
// Related older tests: TestHostBinaryReadOnly (exe_protection_test.go) and
// TestMountThroughSymlink (mounts_test.go), which these extend.

// cveRun runs `bin --root ROOT args...` in dir with extra as fds 3 and up,
// and returns its stdout, stderr and exit status.
func cveRun(bin, dir string, extra []*os.File, args ...string) (string, string, int) {
	return runBinary(bin, suite.root, dir, nil, extra, args...)
}

// cveRunOK is cveRun that fails the test unless the command exits 0.
func cveRunOK(t *testing.T, bin string, b *bundle, args ...string) string {
	t.Helper()
	b.write()
	out, errOut, code := cveRun(bin, b.dir, nil, args...)
	if code != 0 {
		t.Fatalf("berth %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// fileHash is the hex SHA-256 of a host file.
func fileHash(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// hostCorePattern is the host's kernel.core_pattern: a procfs file that
// the attacks below try to reach, since writing it runs a program as the
// host's root on the next crash.
func hostCorePattern(t *testing.T) string {
	t.Helper()
	return readHost(t, "/proc/sys/kernel/core_pattern")
}

// shareDir bind-mounts a fresh host directory of the bundle at dest in the
// container, read-write, and returns its host path.
func (b *bundle) shareDir(name, dest string) string {
	b.t.Helper()
	d := b.hostDir(name)
	b.addMount(specs.Mount{Destination: dest, Type: "bind", Source: d, Options: []string{"rbind", "rw"}})
	return d
}

// createContainerHook makes script (run by the host's busybox sh, with
// $ROOTFS set to the rootfs's host path) the bundle's createContainer hook.
func (b *bundle) createContainerHook(script string) {
	b.Spec.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{
		Path: suite.busybox,
		Args: []string{"busybox", "sh", "-c", "set -e; " + script},
		Env:  []string{"ROOTFS=" + b.rootfs(), "PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
	}}}
}

// TestCVE_2019_5736 reproduces CVE-2019-5736 (GHSA-gxmr-w5mj-v8hh): a
// process in the container reaches the runtime's own binary through the
// /proc/<pid>/exe link of a runtime process that runs inside the container
// (the init before `start`, or a process started by `exec`), holds a
// descriptor on it, waits until the runtime process is gone (so that the
// kernel no longer refuses the write with ETXTBSY) and reopens the
// descriptor for writing through /proc/self/fd to replace the host's binary.
// The second form tricks the runtime into running itself in the container:
// the executable the user execs is a symlink to /proc/self/exe. berth runs
// its init from a read-only bind mount of its binary, so the reopen must
// fail with EROFS (or, for a container without a mount namespace, from a
// sealed memfd copy: EPERM), and the host's binary must keep its hash.
func TestCVE_2019_5736(t *testing.T) {
	// A copy of berth: if the attack succeeded it would corrupt this copy,
	// not the binary the rest of the suite runs.
	exeCopy := func(t *testing.T, b *bundle) (string, string) {
		t.Helper()
		bin := filepath.Join(b.hostDir("bin"), "berth")
		if err := copyFile(suite.berth, bin, 0o755); err != nil {
			t.Fatal(err)
		}
		return bin, fileHash(t, bin)
	}
	// The attacker's last step, once the runtime process whose binary is
	// held on fd 3 is gone: append to the binary through /proc/self/fd/3.
	// It waits for the test's go-ahead, given once the host's berth
	// command has exited too: while any process runs the binary the kernel
	// refuses the write with ETXTBSY, which is no protection of berth's.
	const overwrite = `while [ ! -e /shared/go ]; do usleep 10000; done
if { echo pwned >> /proc/self/fd/3; } 2>/shared/err; then echo written > /shared/result; else echo refused > /shared/result; fi`
	// check waits for the attack's result: refused with the error want
	// (the read-only mount's EROFS, or the sealed copy's EPERM), and the
	// host's binary as it was.
	check := func(t *testing.T, bin, hash, shared, want string) {
		t.Helper()
		result := strings.TrimSpace(waitFile(t, filepath.Join(shared, "result")))
		errText, _ := readFile(filepath.Join(shared, "err"))
		t.Logf("attack result %q, error %q", result, strings.TrimSpace(errText))
		if result != "refused" || !strings.Contains(errText, want) {
			t.Errorf("reopening berth's binary for writing from the container: %s (%s), want refused with %q", result, strings.TrimSpace(errText), want)
		}
		if got := fileHash(t, bin); got != hash {
			t.Errorf("the host's berth binary changed: sha256 %s, was %s", got, hash)
		}
	}

	// attackInit attacks the init of the created container b, pid 1 in
	// the created state: a process exec'd into b holds the init's binary,
	// start makes the init exec the user's process, and the held binary
	// is then written to. The container is deleted after.
	attackInit := func(t *testing.T, b *bundle, bin, hash, shared, want string) {
		t.Helper()
		script := `exec 3</proc/1/exe || { echo open-failed > /shared/result; exit 0; }
echo held > /shared/held
while [ "$(readlink /proc/1/exe)" != /bin/busybox ]; do usleep 10000; done
` + overwrite
		cveRunOK(t, bin, b, "exec", "-d", b.id, "sh", "-c", script)
		waitFile(t, filepath.Join(shared, "held"))
		cveRunOK(t, bin, b, "start", b.id)
		writeFile(t, filepath.Join(shared, "go"), "")
		check(t, bin, hash, shared, want)
		cveRunOK(t, bin, b, "delete", "--force", b.id)
		checkGone(t, b.id, b.dir)
	}

	t.Run("init exe held across start", func(t *testing.T) {
		b := newBundle(t, "sleep", "1000")
		bin, hash := exeCopy(t, b)
		shared := b.shareDir("shared", "/shared")
		b.addCaps("CAP_SYS_PTRACE") // the strongest attacker: may read any /proc/<pid>/exe
		cveRunOK(t, bin, b, "create", b.id)
		attackInit(t, b, bin, hash, shared, "Read-only file system")
	})

	// Without a mount namespace of its own the container shares the
	// host's mounts, so the init cannot run from a read-only bind mount:
	// it runs a sealed memfd copy of the binary instead.
	t.Run("init exe without a mount namespace", func(t *testing.T) {
		b := newBundle(t, "sleep", "1000")
		bin, hash := exeCopy(t, b)
		b.removeNamespace(specs.MountNamespace)
		b.Spec.Root.Readonly = false
		b.Spec.Linux.MaskedPaths, b.Spec.Linux.ReadonlyPaths = nil, nil
		shared := filepath.Join(b.rootfs(), "shared")
		if err := os.Mkdir(shared, 0o755); err != nil {
			t.Fatal(err)
		}
		b.addCaps("CAP_SYS_PTRACE")
		cveRunOK(t, bin, b, "create", b.id)
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", b.containerPid())); err != nil || !strings.HasPrefix(exe, "/memfd:") {
			t.Errorf("the init runs %q (%v), want a memfd copy of berth", exe, err)
		}
		attackInit(t, b, bin, hash, shared, "Operation not permitted")
	})

	t.Run("exec of a symlink to /proc/self/exe", func(t *testing.T) {
		b := newBundle(t, "sleep", "1000")
		bin, hash := exeCopy(t, b)
		shared := b.shareDir("shared", "/shared")
		b.addCaps("CAP_SYS_PTRACE")
		if err := os.Symlink("/proc/self/exe", filepath.Join(b.rootfs(), "bin", "evil")); err != nil {
			t.Fatal(err)
		}
		cveRunOK(t, bin, b, "run", "-d", b.id)
		// The attacker waits for the process that runs /bin/evil, which is
		// berth's binary: it runs as `berth init 3` and blocks reading a
		// bootstrap from fd 3, a socket whose peer the test holds open.
		script := `while :; do
	for p in /proc/[0-9]*; do
		case "$(tr '\0' ' ' < $p/cmdline 2>/dev/null)" in "/bin/evil init 3 "*) pid=${p#/proc/}; break 2;; esac
	done
	usleep 10000
done
exec 3<"/proc/$pid/exe" || { echo open-failed > /shared/result; exit 0; }
echo "$pid" > /shared/held
while [ -e "/proc/$pid" ]; do usleep 10000; done
` + overwrite
		cveRunOK(t, bin, b, "exec", "-d", b.id, "sh", "-c", script)
		// A socket: the init reads its bootstrap with recvmsg(2).
		sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		r, w := os.NewFile(uintptr(sp[0]), "victim-sock"), os.NewFile(uintptr(sp[1]), "test-sock")
		defer w.Close()
		victim := exec.Command(bin, "--root", suite.root, "exec", "--preserve-fds", "1", b.id, "/bin/evil", "init", "3")
		victim.Dir = b.dir
		victim.ExtraFiles = []*os.File{r}
		out := hostFile(t, b, "victim.out", "")
		victim.Stdout, victim.Stderr = out, out
		if err := victim.Start(); err != nil {
			t.Fatal(err)
		}
		r.Close()
		waitFile(t, filepath.Join(shared, "held"))
		// The attacker holds the binary: let the runtime process go.
		w.Close()
		code := exitCode(t, victim, 60*time.Second)
		t.Logf("the exec of /bin/evil exited %d: %s", code, strings.TrimSpace(contentOf(t, out)))
		writeFile(t, filepath.Join(shared, "go"), "")
		check(t, bin, hash, shared, "Read-only file system")
		cveRunOK(t, bin, b, "delete", "--force", b.id)
		checkGone(t, b.id, b.dir)
	})
}

// TestCVE_2019_16884 reproduces CVE-2019-16884 (GHSA-fgv8-vj5c-2ppq): an
// image that declares /proc as a volume gets a bind mount over the procfs
// at /proc, so the writes the runtime makes under /proc/self/attr to apply
// the AppArmor or SELinux label land in a plain directory, and the
// container runs unconfined. This host has no LSM, so the test checks the
// procfs side: nothing but a procfs may be mounted at /proc, whether the
// covering mount comes before or after the proc mount, and with the
// config's proc mount alone, /proc in the container is a real procfs.
func TestCVE_2019_16884(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(b *bundle)
		refuse string // the error berth must fail with ("" to run)
	}{
		{
			name: "bind over /proc after proc",
			setup: func(b *bundle) {
				fake := b.hostDir("fakeproc")
				writeFile(b.t, filepath.Join(fake, "marker"), "fake")
				b.addMount(specs.Mount{Destination: "/proc", Type: "bind", Source: fake, Options: []string{"rbind"}})
			},
			refuse: "only procfs may be mounted there",
		},
		{
			name: "tmpfs at /proc before proc",
			setup: func(b *bundle) {
				b.Spec.Mounts = append([]specs.Mount{{Destination: "/proc", Type: "tmpfs", Source: "tmpfs"}}, b.Spec.Mounts...)
			},
			refuse: "only procfs may be mounted there",
		},
		{
			name: "bind over /proc/self/attr",
			setup: func(b *bundle) {
				b.addMount(specs.Mount{Destination: "/proc/self/attr", Type: "bind", Source: b.hostDir("fakeattr"), Options: []string{"rbind"}})
			},
			refuse: "inside /proc",
		},
		{name: "control proc alone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			if tc.setup != nil {
				tc.setup(b)
			}
			if tc.refuse != "" {
				b.sh("exit 0")
				b.expectFailure(b.id, tc.refuse, "run", b.id)
				return
			}
			out := b.shOutput("stat -f -c %T /proc; stat -f -c %T /proc/self/attr; [ -e /proc/marker ] && echo fake")
			if out != "proc\nproc" {
				t.Errorf("/proc and /proc/self/attr in the container: %q, want procfs", out)
			}
		})
	}
}

// TestCVE_2019_19921 reproduces CVE-2019-19921 (GHSA-fh74-hm69-rqjw): two
// containers share a volume; the attacker's container keeps swapping a
// directory in it with a symlink, and the victim's config mounts a procfs
// on a destination inside that volume. A runtime that checks the
// destination and then mounts by path mounts the procfs wherever the
// symlink points (over the victim's root here), and /proc-dependent
// protections (LSM labels) read fakes. berth resolves the destination once,
// refuses a symlink there and mounts onto the descriptor, so each run must
// either fail or have the procfs on the directory it checked (at /vol/p, or
// wherever the attacker renamed that directory since), never on the
// symlink's target.
func TestCVE_2019_19921(t *testing.T) {
	symswap := buildTool(t, "symswap")
	attacker := newBundle(t, "symswap", "/vol/p", "/")
	attacker.rename("attacker")
	vol := attacker.shareDir("vol", "/vol")
	if err := copyFile(symswap, filepath.Join(attacker.rootfs(), "bin", "symswap"), 0o755); err != nil {
		t.Fatal(err)
	}
	attacker.berth("run", "-d", attacker.id)
	t.Cleanup(func() { _, _, _ = suite.run("delete", "--force", attacker.id) })
	waitSwapping(t, vol, "p")

	var landed, failed int
	for i := range 20 {
		b := newBundle(t)
		b.rename(itoa(i))
		b.addMount(specs.Mount{Destination: "/vol", Type: "bind", Source: vol, Options: []string{"rbind", "rw"}})
		b.addMount(specs.Mount{Destination: "/vol/p", Type: "proc", Source: "proc"})
		// The mount points of the procfs instances, as the container
		// sees them (but the read-only paths under /proc), and what its
		// root is.
		b.sh(`awk '$0 ~ / - proc / && $5 !~ "^/proc/" { print $5 }' /proc/self/mountinfo | sort | tr '\n' ' '; echo; stat -f -c %T /; [ -x /bin/busybox ] && echo rootfs`)
		b.write()
		out, errOut, code := suite.runIn(b.dir, nil, "run", b.id)
		if code != 0 {
			failed++
			t.Logf("run %d refused: %s", i, strings.TrimSpace(logMsg(errOut)))
			checkGone(t, b.id, b.dir)
			continue
		}
		landed++
		// The procfs is on the directory that was checked: at /vol/p,
		// or at /vol/p.swap when the attacker exchanged it afterwards;
		// never where the symlink points (the container's root).
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || (lines[0] != "/proc /vol/p " && lines[0] != "/proc /vol/p.swap ") || lines[1] == "proc" || lines[2] != "rootfs" {
			t.Errorf("run %d: %q, want procfs at /proc and /vol/p (or its exchanged name), the rootfs at /", i, out)
		}
		checkGone(t, b.id, b.dir)
	}
	t.Logf("%d runs mounted the procfs at /vol/p, %d were refused", landed, failed)
	if landed == 0 {
		t.Errorf("no run succeeded: berth refuses even a mount whose destination is a directory at the time")
	}
	attacker.berth("delete", "--force", attacker.id)
	checkGone(t, attacker.id, attacker.dir)
}

// waitSwapping waits until the attacker has created dir/name (and so
// started swapping it).
func waitSwapping(t *testing.T, dir, name string) {
	t.Helper()
	for range 200 {
		if _, err := os.Lstat(filepath.Join(dir, name+".swap")); err == nil {
			return
		}
		sleep()
	}
	t.Fatalf("the attacker never started swapping %s/%s", dir, name)
}

// TestCVE_2021_30465 reproduces CVE-2021-30465 (GHSA-c3xm-pvg7-gh7r): the
// attacker's container swaps a directory in a volume it shares with the
// victim with a symlink that climbs out of the victim's rootfs
// (../../../../host-path), while the runtime resolves the victim's mount
// destination through it; a check-then-mount-by-path runtime mounts the
// filesystem outside the victim's rootfs (on the host's tree in its mount
// namespace), where it shadows host files. berth must put every mount
// inside the rootfs: each run either fails or shows the tmpfs, mounted
// through the symlink or the directory, inside its own root, and nothing
// is created on the host. The static form (a symlink that is already
// there) is TestMountThroughSymlink.
func TestCVE_2021_30465(t *testing.T) {
	symswap := buildTool(t, "symswap")
	escape := fmt.Sprintf("berth-cve-30465-%d", os.Getpid())
	hostPath := filepath.Join("/", escape)
	if _, err := os.Lstat(hostPath); err == nil {
		t.Fatalf("%s exists before the test", hostPath)
	}
	t.Cleanup(func() { _ = os.RemoveAll(hostPath) })
	attacker := newBundle(t, "symswap", "/vol/t", "../../../../../../../../../../"+escape)
	attacker.rename("attacker")
	vol := attacker.shareDir("vol", "/vol")
	if err := copyFile(symswap, filepath.Join(attacker.rootfs(), "bin", "symswap"), 0o755); err != nil {
		t.Fatal(err)
	}
	attacker.berth("run", "-d", attacker.id)
	t.Cleanup(func() { _, _, _ = suite.run("delete", "--force", attacker.id) })
	waitSwapping(t, vol, "t")

	seen := map[string]int{}
	for i := range 20 {
		b := newBundle(t)
		b.rename(itoa(i))
		b.addMount(specs.Mount{Destination: "/vol", Type: "bind", Source: vol, Options: []string{"rbind", "rw"}})
		b.addMount(specs.Mount{Destination: "/vol/t/sub", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=0713"}})
		// The mount points, as the container sees them, of the tmpfs
		// with the marker mode: a mount outside the container's root is
		// not listed at all.
		b.sh(`awk '$0 ~ / - tmpfs / && $0 ~ /mode=713/ { print $5 }' /proc/self/mountinfo`)
		b.write()
		out, errOut, code := suite.runIn(b.dir, nil, "run", b.id)
		checkGone(t, b.id, b.dir)
		if code != 0 {
			seen["refused"]++
			t.Logf("run %d refused: %s", i, strings.TrimSpace(logMsg(errOut)))
			continue
		}
		switch at := strings.TrimSpace(out); at {
		case "/vol/t/sub", "/vol/t.swap/sub", "/" + escape + "/sub":
			// The directory checked, possibly exchanged with the
			// symlink afterwards, or the symlink resolved in the root.
			seen[at]++
		default:
			t.Errorf("run %d: the tmpfs is at %q in the container, want /vol/t/sub, /vol/t.swap/sub or /%s/sub (inside the root)", i, at, escape)
		}
		if _, err := os.Lstat(hostPath); err == nil {
			t.Fatalf("run %d: %s was created on the host", i, hostPath)
		}
	}
	t.Logf("outcomes: %v", seen)
	if seen["refused"] == 20 {
		t.Errorf("no run succeeded: berth refuses even a mount whose destination resolves inside the root")
	}
	attacker.berth("delete", "--force", attacker.id)
	checkGone(t, attacker.id, attacker.dir)
}

// TestCVE_2023_27561 reproduces CVE-2023-27561 (GHSA-vpvm-3wq2-2wvm), the
// regression of CVE-2019-19921: an image whose /proc is a symlink (to a
// directory of the image holding fake files, or out of the rootfs). A
// runtime that follows it mounts the procfs elsewhere, and the container's
// /proc (which the runtime reads and writes for LSM labels and sysctls)
// shows the fakes. berth must refuse the proc mount on a symlink.
func TestCVE_2023_27561(t *testing.T) {
	for _, tc := range []struct{ name, target string }{
		{"to a fake in the image", "/fakeproc"},
		{"out of the rootfs", "../../../../../../proc"},
		{"to itself", "/proc"},
	} {
		target := tc.target
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			fake := filepath.Join(b.rootfs(), "fakeproc")
			if err := os.MkdirAll(filepath.Join(fake, "self", "attr"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(fake, "self", "attr", "exec"), "fake")
			if err := os.Remove(filepath.Join(b.rootfs(), "proc")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(b.rootfs(), "proc")); err != nil {
				t.Fatal(err)
			}
			b.sh("exit 0")
			b.expectFailure(b.id, "mount destination /proc is a symlink", "run", b.id)
			if got := readHost(t, filepath.Join(fake, "self", "attr", "exec")); got != "fake" {
				t.Errorf("the fake attr file changed: %q", got)
			}
			if l, err := os.Readlink(filepath.Join(b.rootfs(), "proc")); err != nil || l != target {
				t.Errorf("the image's /proc symlink changed: %q %v", l, err)
			}
		})
	}
}

// TestCVE_2024_21626 reproduces CVE-2024-21626 (GHSA-xr7r-f8xq-vfvv): a
// descriptor on a host directory leaks into the container's init (runc
// leaked one on the host's cgroupfs), and a config or `exec --cwd` of
// /proc/self/fd/N makes the process start with its working directory on
// the host, outside the container's root, from which `..` walks the host's
// filesystem. Here the caller of berth leaks a host directory on every fd
// from 3 to 10 (without --preserve-fds), and the container or exec asks
// for each /proc/self/fd/N as its cwd: berth must fail, or start the
// process with its cwd inside the root. No descriptor but stdio (and what
// --preserve-fds passes) may reach the process.
func TestCVE_2024_21626(t *testing.T) {
	// leak opens a host directory holding a marker file on fds 3..10 of
	// berth.
	leak := func(t *testing.T, b *bundle) []*os.File {
		t.Helper()
		d := b.hostDir("hostdir")
		writeFile(t, filepath.Join(d, "host-marker"), "host")
		var files []*os.File
		for range 8 {
			f, err := os.Open(d)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			files = append(files, f)
		}
		return files
	}
	// probe prints ESCAPED when its cwd is the host directory, then the
	// cwd.
	const probe = `cat host-marker >/dev/null 2>&1 && echo ESCAPED; pwd`

	for n := 3; n <= 10; n++ {
		cwd := "/proc/self/fd/" + strconv.Itoa(n)
		t.Run("run cwd "+cwd, func(t *testing.T) {
			b := newBundle(t)
			extra := leak(t, b)
			b.Spec.Process.Cwd = cwd
			b.sh(probe)
			b.write()
			out, errOut, code := cveRun(suite.berth, b.dir, extra, "run", b.id)
			checkCwd(t, code, out, errOut)
			checkGone(t, b.id, b.dir)
		})
		t.Run("exec cwd "+cwd, func(t *testing.T) {
			b := newBundle(t)
			extra := leak(t, b)
			b.startSleeper()
			out, errOut, code := cveRun(suite.berth, b.dir, extra, "exec", "--cwd", cwd, b.id, "sh", "-c", probe)
			checkCwd(t, code, out, errOut)
			b.berth("delete", "--force", b.id)
			checkGone(t, b.id, b.dir)
		})
	}

	// A host directory the caller passes on purpose (--preserve-fds) is
	// the process's fd 3, but still no way out of the root: berth checks
	// the cwd it entered.
	t.Run("run preserved host dir as cwd", func(t *testing.T) {
		b := newBundle(t)
		extra := leak(t, b)
		b.Spec.Process.Cwd = "/proc/self/fd/3"
		b.sh(probe)
		b.write()
		out, errOut, code := cveRun(suite.berth, b.dir, extra, "run", "--preserve-fds", "1", b.id)
		checkCwd(t, code, out, errOut)
		if code == 0 || !strings.Contains(errOut, "outside the container's root") {
			t.Errorf("berth run: exit %d, %q: want the cwd refused as outside the root", code, strings.TrimSpace(errOut))
		}
		checkGone(t, b.id, b.dir)
	})
	t.Run("exec preserved host dir as cwd", func(t *testing.T) {
		b := newBundle(t)
		extra := leak(t, b)
		b.startSleeper()
		out, errOut, code := cveRun(suite.berth, b.dir, extra, "exec", "--preserve-fds", "1", "--cwd", "/proc/self/fd/3", b.id, "sh", "-c", probe)
		checkCwd(t, code, out, errOut)
		if code == 0 || !strings.Contains(errOut, "outside the container's root") {
			t.Errorf("berth exec: exit %d, %q: want the cwd refused as outside the root", code, strings.TrimSpace(errOut))
		}
		b.berth("delete", "--force", b.id)
		checkGone(t, b.id, b.dir)
	})

	// The descriptors the process has: `ls -l /proc/self/fd` lists
	// ls's own descriptor on that directory too.
	fdsOf := func(t *testing.T, out string) []string {
		t.Helper()
		var fds []string
		s := bufio.NewScanner(strings.NewReader(out))
		for s.Scan() {
			f := strings.Fields(s.Text())
			i := slices.Index(f, "->")
			if i < 1 || i+1 >= len(f) {
				continue
			}
			if strings.HasPrefix(f[i+1], "/proc/") && strings.HasSuffix(f[i+1], "/fd") {
				continue // ls reading the directory
			}
			fds = append(fds, f[i-1]+" -> "+f[i+1])
		}
		return fds
	}
	checkFds := func(t *testing.T, fds []string, want int) {
		t.Helper()
		if len(fds) != want {
			t.Errorf("descriptors in the container: %q, want %d", fds, want)
		}
		for i, fd := range fds {
			if !strings.HasPrefix(fd, strconv.Itoa(i)+" -> ") || strings.Contains(fd, "hostdir") {
				t.Errorf("descriptor %q in the container, want fds 0 to %d and no host directory", fd, want-1)
			}
		}
	}
	t.Run("no leaked fd in run", func(t *testing.T) {
		b := newBundle(t, "ls", "-l", "/proc/self/fd")
		extra := leak(t, b)
		b.write()
		out, errOut, code := cveRun(suite.berth, b.dir, extra, "run", b.id)
		if code != 0 {
			t.Fatalf("berth run: exit %d: %s", code, errOut)
		}
		checkFds(t, fdsOf(t, out), 3)
		checkGone(t, b.id, b.dir)
	})
	t.Run("no leaked fd in exec", func(t *testing.T) {
		b := newBundle(t)
		extra := leak(t, b)
		b.startSleeper()
		out, errOut, code := cveRun(suite.berth, b.dir, extra, "exec", b.id, "ls", "-l", "/proc/self/fd")
		if code != 0 {
			t.Fatalf("berth exec: exit %d: %s", code, errOut)
		}
		checkFds(t, fdsOf(t, out), 3)
		// --preserve-fds 1 passes fd 3 (a host directory: the caller
		// asked for it) and nothing else.
		out, errOut, code = cveRun(suite.berth, b.dir, extra, "exec", "--preserve-fds", "1", b.id, "ls", "-l", "/proc/self/fd")
		if code != 0 {
			t.Fatalf("berth exec --preserve-fds 1: exit %d: %s", code, errOut)
		}
		fds := fdsOf(t, out)
		if len(fds) != 4 || !strings.HasPrefix(fds[3], "3 -> ") {
			t.Errorf("descriptors with --preserve-fds 1: %q, want 0 to 3", fds)
		}
		b.berth("delete", "--force", b.id)
		checkGone(t, b.id, b.dir)
	})
}

// checkCwd checks the outcome of a process started with a leaked fd as
// its cwd: refused, or started inside the root.
func checkCwd(t *testing.T, code int, out, errOut string) {
	t.Helper()
	if strings.Contains(out, "ESCAPED") {
		t.Fatalf("the process started in the host directory: %q", out)
	}
	if code != 0 {
		t.Logf("refused: %s", strings.TrimSpace(logMsg(errOut)))
		return
	}
	// Started: its cwd must be a directory of the container.
	if pwd := strings.TrimSpace(out); !strings.HasPrefix(pwd, "/") || strings.Contains(pwd, "hostdir") || strings.Contains(pwd, "unreachable") {
		t.Errorf("the process started with cwd %q", pwd)
	}
}

// TestCVE_2025_31133 reproduces CVE-2025-31133 (GHSA-9493-h29p-rfm2): the
// runtime masks paths (/proc/kcore, /proc/sysrq-trigger, ...) by binding the
// container's /dev/null over them; an attacker who makes /dev/null a
// symlink to a procfs file (/proc/sys/kernel/core_pattern) gets that file
// bound writable over a masked path, and one who deletes /dev/null makes
// the runtime skip the masking. Here /dev is a host directory the attacker
// filled (a shared volume), or the createContainer hook replaces the
// /dev/null berth created, as a racing container would between device
// creation and masking. berth must refuse a /dev/null that is not the null
// device, and the host's core_pattern must stay as it was.
func TestCVE_2025_31133(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, b *bundle)
		want  string
	}{
		{
			name: "bound /dev with null a symlink to core_pattern",
			setup: func(t *testing.T, b *bundle) {
				dev := b.hostDir("dev")
				if err := os.Symlink("/proc/sys/kernel/core_pattern", filepath.Join(dev, "null")); err != nil {
					t.Fatal(err)
				}
				b.removeMount("/dev")
				b.addMount(specs.Mount{Destination: "/dev", Type: "bind", Source: dev, Options: []string{"rbind", "rw"}})
			},
			want: "/dev/null is not the null device",
		},
		{
			name: "bound /dev without null",
			setup: func(t *testing.T, b *bundle) {
				b.removeMount("/dev")
				b.addMount(specs.Mount{Destination: "/dev", Type: "bind", Source: b.hostDir("dev"), Options: []string{"rbind", "rw"}})
			},
			want: "open /dev/null: no such file or directory",
		},
		{
			name: "bound /dev with null a regular file",
			setup: func(t *testing.T, b *bundle) {
				dev := b.hostDir("dev")
				writeFile(t, filepath.Join(dev, "null"), "")
				b.removeMount("/dev")
				b.addMount(specs.Mount{Destination: "/dev", Type: "bind", Source: dev, Options: []string{"rbind", "rw"}})
			},
			want: "/dev/null is not the null device",
		},
		{
			name: "null swapped for a symlink to core_pattern",
			setup: func(t *testing.T, b *bundle) {
				b.createContainerHook(`rm -f "$ROOTFS/dev/null"; ln -s /proc/sys/kernel/core_pattern "$ROOTFS/dev/null"`)
			},
			want: "open /dev/null: too many levels of symbolic links",
		},
		{
			name: "core_pattern bound over null",
			setup: func(t *testing.T, b *bundle) {
				b.createContainerHook(`mount --bind "$ROOTFS/proc/sys/kernel/core_pattern" "$ROOTFS/dev/null"`)
			},
			want: "/dev/null in the container is not the null device",
		},
		{
			name: "null swapped for /dev/zero",
			setup: func(t *testing.T, b *bundle) {
				b.createContainerHook(`rm -f "$ROOTFS/dev/null"; mknod -m 666 "$ROOTFS/dev/null" c 1 5`)
			},
			want: "/dev/null in the container is not the null device",
		},
		{
			name: "null deleted",
			setup: func(t *testing.T, b *bundle) {
				b.createContainerHook(`rm -f "$ROOTFS/dev/null"`)
			},
			want: "open /dev/null: no such file or directory",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := hostCorePattern(t)
			b := newBundle(t)
			tc.setup(t, b)
			// The attack's payoff, if the mask were the core_pattern
			// file: write through the masked path.
			b.sh(`for p in /proc/kcore /proc/timer_list /proc/sysrq-trigger; do echo '|/pwned' > $p; done 2>/dev/null; exit 0`)
			b.expectFailure(b.id, tc.want, "run", b.id)
			if after := hostCorePattern(t); after != before {
				t.Errorf("the host's core_pattern changed: %q, was %q", after, before)
			}
		})
	}
}

// TestCVE_2025_52565 reproduces CVE-2025-52565 (GHSA-qw9x-cqr3-wc7r): with a
// terminal, the runtime bind-mounts the pty's slave over /dev/console. If the
// container replaced /dev/console (or the devpts files the slave is found
// through) with a symlink to a procfs file, a runtime that mounts by path
// binds the wrong file: the pty over a procfs file, or a procfs file
// (core_pattern) as a writable /dev/console. The createContainer hook plays
// the racing container. berth must refuse a /dev/console or /dev/pts/ptmx
// that is not what it should be, or mount the pty on the right inode, and
// the host's core_pattern must stay as it was.
func TestCVE_2025_52565(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hook   string
		refuse string // "" when berth may run the container
	}{
		{
			name:   "console a symlink to core_pattern",
			hook:   `ln -s /proc/sys/kernel/core_pattern "$ROOTFS/dev/console"`,
			refuse: "on /dev/console: target is not a regular file or character device",
		},
		{
			name:   "console a symlink to sysrq-trigger",
			hook:   `ln -s /proc/sysrq-trigger "$ROOTFS/dev/console"`,
			refuse: "on /dev/console: target is not a regular file or character device",
		},
		{
			name:   "console a directory",
			hook:   `mkdir "$ROOTFS/dev/console"`,
			refuse: "on /dev/console: target is not a regular file or character device",
		},
		{
			name:   "pts/ptmx covered by core_pattern",
			hook:   `mount --bind "$ROOTFS/proc/sys/kernel/core_pattern" "$ROOTFS/dev/pts/ptmx"`,
			refuse: "check /dev/pts/ptmx: not on a devpts mount",
		},
		{
			name:   "devpts replaced by a tmpfs of symlinks",
			hook:   `mount -t tmpfs tmpfs "$ROOTFS/dev/pts"; for n in ptmx 0 1 2 3; do ln -s /proc/sys/kernel/core_pattern "$ROOTFS/dev/pts/$n"; done`,
			refuse: "check /dev/pts/ptmx: not on a devpts mount",
		},
		{
			name: "console a regular file",
			hook: `: > "$ROOTFS/dev/console"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := hostCorePattern(t)
			b := newBundle(t)
			b.Spec.Process.Terminal = true
			b.createContainerHook(tc.hook)
			b.sh(`echo '|/pwned' > /dev/console; stat -c '%t:%T' /dev/console; tty; sleep 1000`)
			r := listenConsole(t, b)
			b.write()
			out, errOut, code := suite.runIn(b.dir, nil, "run", "-d", "--console-socket", r.path, b.id)
			if tc.refuse != "" {
				if code == 0 {
					t.Errorf("berth run succeeded (%s), want a refusal naming %s", strings.TrimSpace(out), tc.refuse)
				} else if msg := logMsg(strings.TrimSpace(errOut)); !strings.Contains(msg, tc.refuse) {
					t.Errorf("berth run: %q does not name %s", msg, tc.refuse)
				} else {
					t.Logf("refused: %s", msg)
				}
			} else {
				if code != 0 {
					t.Fatalf("berth run: exit %d: %s", code, errOut)
				}
				_, master := r.master(t)
				// The script's write to /dev/console went to the pty.
				if got := readTTY(master).wait(t, "|/pwned"); got != "" {
					t.Errorf("terminal line %q", got)
				}
				var st unix.Stat_t
				if err := unix.Stat(fmt.Sprintf("/proc/%d/root/dev/console", b.containerPid()), &st); err != nil {
					t.Fatal(err)
				}
				if rdev := uint64(st.Rdev); st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(rdev) != 136 {
					t.Errorf("/dev/console in the container is mode %#o device %d:%d, want a pty slave (136:n)", st.Mode, unix.Major(rdev), unix.Minor(rdev))
				}
			}
			if after := hostCorePattern(t); after != before {
				t.Errorf("the host's core_pattern changed: %q, was %q", after, before)
			}
			_, _, _ = suite.run("delete", "--force", b.id)
			checkGone(t, b.id, b.dir)
		})
	}
}

// TestCVE_2025_52881 reproduces CVE-2025-52881 (GHSA-cgrx-mc8f-2prm): the
// runtime's own writes into the container's /proc (sysctls, LSM labels)
// are redirected by a mount the container placed over /proc/sys (shared
// volumes racing, as for CVE-2025-31133): a procfs file bound over the
// sysctl's file sends the value to another procfs file (the host's
// core_pattern here), and a tmpfs over /proc/sys swallows it. berth must
// write sysctls through a procfs handle it verified, so that the value
// reaches the container's own sysctl or the run fails; the host's
// core_pattern must stay as it was. A tmpfs over /proc/sys in the config
// itself is refused before anything runs.
func TestCVE_2025_52881(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, b *bundle)
		// view is what the container sees at /proc/sys/net/ipv4/ip_forward
		// once it runs: the attacker's file, proving the cover was in
		// place when berth wrote the sysctl ("" for the host's
		// core_pattern).
		view string
	}{
		{
			name: "core_pattern bound over the sysctl",
			setup: func(t *testing.T, b *bundle) {
				b.createContainerHook(`mount --bind "$ROOTFS/proc/sys/kernel/core_pattern" "$ROOTFS/proc/sys/net/ipv4/ip_forward"`)
			},
		},
		{
			name: "tmpfs over /proc/sys/net",
			setup: func(t *testing.T, b *bundle) {
				b.createContainerHook(`mount -t tmpfs tmpfs "$ROOTFS/proc/sys/net"; mkdir -p "$ROOTFS/proc/sys/net/ipv4"; echo fake > "$ROOTFS/proc/sys/net/ipv4/ip_forward"`)
			},
			view: "fake",
		},
		{
			name: "tmpfs over /proc/sys",
			setup: func(t *testing.T, b *bundle) {
				b.createContainerHook(`mount -t tmpfs tmpfs "$ROOTFS/proc/sys"; mkdir -p "$ROOTFS/proc/sys/net/ipv4"; echo fake > "$ROOTFS/proc/sys/net/ipv4/ip_forward"`)
			},
			view: "fake",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := hostCorePattern(t)
			b := newBundle(t, "sleep", "1000")
			b.Spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
			tc.setup(t, b)
			b.write()
			_, errOut, code := suite.runIn(b.dir, nil, "run", "-d", b.id)
			if after := hostCorePattern(t); after != before {
				t.Fatalf("the host's core_pattern changed: %q, was %q", after, before)
			}
			if code != 0 {
				msg := logMsg(strings.TrimSpace(errOut))
				t.Logf("refused: %s", msg)
				if strings.Contains(msg, "hook") {
					t.Errorf("the attacker's hook failed, the attack did not happen: %s", msg)
				}
				checkGone(t, b.id, b.dir)
				return
			}
			// It ran: the value must be in the container's network
			// namespace, read through a procfs the container cannot
			// cover (the host's, entered into that namespace).
			pid := b.containerPid()
			out, err := exec.Command(suite.busybox, "nsenter", "-t", strconv.Itoa(pid), "-n", suite.busybox, "cat", "/proc/sys/net/ipv4/ip_forward").CombinedOutput()
			if err != nil {
				t.Fatalf("read the container's ip_forward: %v: %s", err, out)
			}
			if got := strings.TrimSpace(string(out)); got != "1" {
				t.Errorf("the container's net.ipv4.ip_forward is %q, want 1: the write went elsewhere", got)
			}
			// The cover is still there, untouched: the write did
			// not go to it.
			view := tc.view
			if view == "" {
				view = strings.TrimSpace(before)
			}
			// (Read from inside: the files of /proc/sys/net depend on
			// the reader's network namespace.)
			if got := b.execOK(b.id, "cat", "/proc/sys/net/ipv4/ip_forward"); got != view {
				t.Errorf("the container's view of ip_forward is %q, want the attacker's cover %q", got, view)
			}
			b.berth("delete", "--force", b.id)
			checkGone(t, b.id, b.dir)
		})
	}
	t.Run("config tmpfs over /proc/sys", func(t *testing.T) {
		b := newBundle(t)
		b.Spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		b.addMount(specs.Mount{Destination: "/proc/sys", Type: "tmpfs", Source: "tmpfs"})
		b.sh("exit 0")
		b.expectFailure(b.id, "inside /proc", "run", b.id)
	})
}
