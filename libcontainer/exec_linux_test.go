package libcontainer_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer"
	"github.com/berthrt/berth/libcontainer/configs"
	"github.com/berthrt/berth/libcontainer/nsenter"
	"github.com/berthrt/berth/libcontainer/specconv"
)

// TestExecProcess runs a process with Init false in a running container,
// through the library: it joins the init's namespaces, takes the overrides
// it sets, writes to a non-file stdout, and exits with its own status.
// (A user namespace would need the test binary readable by its root:
// tests/integration covers it.)
func TestExecProcess(t *testing.T) {
	if !nsenter.Available {
		t.Skip("built without cgo: exec needs the bootstrap of libcontainer/nsenter")
	}
	rootfs := busyboxRootfs(t)
	id := "exec-process"
	config := &configs.Config{
		Rootfs: rootfs,
		Namespaces: configs.Namespaces{
			{Type: configs.NEWNS},
			{Type: configs.NEWUTS},
			{Type: configs.NEWIPC},
			{Type: configs.NEWPID},
			{Type: configs.NEWNET},
		},
		Cgroups:  &configs.Cgroup{Path: "/berth-test/" + id, Resources: &configs.Resources{Devices: configs.DeviceRules(specconv.AllowedDevices())}},
		Devices:  specconv.AllowedDevices(),
		Hostname: "execd",
		Capabilities: &configs.Capabilities{
			Bounding: []string{"CAP_KILL", "CAP_CHOWN"}, Effective: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL"},
		},
		Mounts: []*configs.Mount{
			{Source: "proc", Destination: "/proc", Device: "proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
			{Source: "tmpfs", Destination: "/dev", Device: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755"},
		},
	}
	container, err := libcontainer.Create(t.TempDir(), id, config)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := container.Destroy(); err != nil {
			t.Error(err)
		}
		removeTestCgroupParent()
	}()
	init := &libcontainer.Process{Args: []string{"/bin/sh", "-c", "read x"}, Env: []string{"PATH=/bin"}, Init: true}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	init.Stdin = r
	if err := container.Run(init); err != nil {
		t.Fatal(err)
	}
	r.Close()

	var stdout, stderr bytes.Buffer
	nnp := true
	p := &libcontainer.Process{
		Args:            []string{"/bin/sh", "-c", "echo $$ $(hostname) $(id -u); grep -E 'CapEff|NoNewPrivs' /proc/self/status; exit 3"},
		Env:             []string{"PATH=/bin"},
		Stdout:          &stdout,
		Stderr:          &stderr,
		Capabilities:    &configs.Capabilities{Bounding: []string{"CAP_KILL", "CAP_CHOWN"}, Effective: []string{"CAP_CHOWN"}, Permitted: []string{"CAP_CHOWN"}},
		NoNewPrivileges: &nnp,
	}
	if err := container.Run(p); err != nil {
		t.Fatal(err)
	}
	ps, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if ps.ExitCode() != 3 {
		t.Errorf("exec'd process exited with %v, want status 3 (stderr %q)", ps, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("the process printed %q", stdout.String())
	}
	if f := strings.Fields(lines[0]); len(f) != 3 || f[0] == "1" || f[1] != "execd" || f[2] != "0" {
		t.Errorf("pid, hostname, uid %q: want a pid other than 1 in the container's pid namespace, execd, 0", lines[0])
	}
	if want := "CapEff:\t0000000000000001"; lines[1] != want {
		t.Errorf("%q, want the process's own %q (CAP_CHOWN)", lines[1], want)
	}
	if want := "NoNewPrivs:\t1"; lines[2] != want {
		t.Errorf("%q, want %q", lines[2], want)
	}

	// Once the init is gone, exec is refused.
	w.Close()
	if _, err := init.Wait(); err != nil {
		t.Fatal(err)
	}
	err = container.Run(&libcontainer.Process{Args: []string{"/bin/true"}})
	if !errors.Is(err, libcontainer.ErrNotRunning) {
		t.Errorf("exec into a stopped container: %v, want ErrNotRunning", err)
	}
}
