package libcontainer_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer"
	"github.com/berthrt/berth/libcontainer/configs"
	"github.com/berthrt/berth/libcontainer/specconv"
)

func TestMain(m *testing.M) {
	// The test binary is re-executed as the containers' init.
	libcontainer.Init()
	os.Exit(m.Run())
}

// busyboxRootfs makes a rootfs with a static busybox and its applets.
func busyboxRootfs(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("needs busybox (apt install busybox-static)")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "etc", "proc", "dev", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"sh", "echo", "hostname", "id", "cat"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
	if err := os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "group"), []byte("root:x:0:\ndaemon:x:1:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestExampleFlow runs the package example's flow for real: create with a
// config, run a process as "daemon", wait, destroy.
func TestExampleFlow(t *testing.T) {
	rootfs := busyboxRootfs(t)
	id := "example-flow"
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
		Hostname: "example",
		Mounts: []*configs.Mount{
			{Source: "proc", Destination: "/proc", Device: "proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
			{Source: "tmpfs", Destination: "/dev", Device: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755"},
		},
	}
	stateRoot := t.TempDir()
	container, err := libcontainer.Create(stateRoot, id, config)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := container.Destroy(); err != nil {
			t.Error(err)
		}
		removeTestCgroupParent()
	}()
	var stdout bytes.Buffer
	process := &libcontainer.Process{
		Args:   []string{"/bin/sh", "-c", "echo $(hostname) $(id -u) $$"},
		Env:    []string{"PATH=/bin"},
		User:   "daemon",
		Stdout: &stdout,
		Stderr: os.Stderr,
		Init:   true,
	}
	if err := container.Run(process); err != nil {
		t.Fatal(err)
	}
	ps, err := process.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !ps.Success() {
		t.Fatalf("process exited with %v", ps)
	}
	if got, want := strings.TrimSpace(stdout.String()), "example 1 1"; got != want {
		t.Fatalf("container printed %q, want %q (hostname, uid, pid)", got, want)
	}
}

func removeTestCgroupParent() {
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range entries {
		_ = os.Remove(filepath.Join("/sys/fs/cgroup", e.Name(), "berth-test"))
	}
	_ = os.Remove("/sys/fs/cgroup/berth-test")
}
