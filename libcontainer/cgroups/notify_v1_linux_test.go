package cgroups

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthrt/berth/libcontainer/configs"
)

// receive waits for a value or the close of ch. The bound only keeps a
// broken test from hanging.
func receive(t *testing.T, ch <-chan struct{}, what string) (open bool) {
	t.Helper()
	select {
	case _, ok := <-ch:
		return ok
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: nothing after 30s", what)
		return false
	}
}

// waitClosed drains ch until it is closed.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	for receive(t, ch, what) {
	}
}

// limitMemory sets a 16 MiB limit on memory and on memory+swap, so that a
// growing process meets the OOM killer rather than swap.
func limitMemory(t *testing.T, m *v1Manager) {
	t.Helper()
	r := &configs.Resources{Memory: 16 << 20}
	if hasFile(m.Path("memory"), "memory.memsw.limit_in_bytes") {
		r.MemorySwap = 16 << 20
	}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
}

func TestV1NotifyOOM(t *testing.T) {
	m := newV1Test(t, "oom")
	limitMemory(t, m)
	ch, err := m.NotifyOOM(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// tail keeps everything it reads from /dev/zero, which has no newline.
	g := startGated(t, "exec tail /dev/zero")
	if err := m.Apply(g.pid()); err != nil {
		t.Fatal(err)
	}
	g.release(t)
	_, err = g.wait()
	if ws, ok := g.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("tail ended with %v, want SIGKILL by the OOM killer", err)
	}
	if !receive(t, ch, "OOM event") {
		t.Fatal("channel closed instead of an OOM event")
	}
	oom, err := readFile(m.Path("memory"), "memory.oom_control")
	if err != nil || eventValue(oom, "oom_kill") == "0" {
		t.Errorf("memory.oom_control = %q, %v; want an oom_kill count", oom, err)
	}
	// Removing the cgroup closes the channel.
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, ch, "close after rmdir")
}

func TestV1NotifyCancel(t *testing.T) {
	m := newV1Test(t, "oom-cancel")
	ctx, cancel := context.WithCancel(context.Background())
	oom, err := m.NotifyOOM(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pressure, err := m.NotifyMemoryPressure(ctx, CriticalPressure)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	waitClosed(t, oom, "OOM channel after cancel")
	waitClosed(t, pressure, "pressure channel after cancel")

	if _, err := m.NotifyMemoryPressure(context.Background(), "severe"); err == nil || !strings.Contains(err.Error(), `level "severe"`) {
		t.Errorf("bad level: %v", err)
	}
	noMem := &v1Manager{paths: map[string]string{"pids": m.Path("pids")}}
	if _, err := noMem.NotifyOOM(context.Background()); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("without a memory cgroup: %v, want ErrUnsupported", err)
	}
}

// TestV1NotifyMemoryPressure writes more page cache than the limit, which
// makes the kernel reclaim in the cgroup: reclaim is what memory pressure
// events report.
func TestV1NotifyMemoryPressure(t *testing.T) {
	m := newV1Test(t, "pressure")
	limitMemory(t, m)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := m.NotifyMemoryPressure(ctx, LowPressure)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "cache")
	g := startGated(t, "dd if=/dev/zero of="+file+" bs=1M count=64 2>/dev/null && echo written")
	if err := m.Apply(g.pid()); err != nil {
		t.Fatal(err)
	}
	g.release(t)
	if out, err := g.wait(); err != nil || out != "written" {
		t.Fatalf("dd: %q, %v", out, err)
	}
	if !receive(t, ch, "low memory pressure event") {
		t.Fatal("channel closed instead of a pressure event")
	}
}
