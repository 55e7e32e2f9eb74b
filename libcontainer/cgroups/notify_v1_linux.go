package cgroups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// NotifyOOM registers an eventfd for memory.oom_control through
// cgroup.event_control (Documentation/admin-guide/cgroup-v1/memory.rst,
// section 9): the kernel signals it each time the cgroup hits its limit
// and the OOM killer is invoked (or would be, with disableOOMKiller).
func (m *v1Manager) NotifyOOM(ctx context.Context) (<-chan struct{}, error) {
	dir := m.Path("memory")
	if dir == "" {
		return nil, fmt.Errorf("cgroup OOM events: memory cgroup controller not mounted: %w", errors.ErrUnsupported)
	}
	ch, err := memoryEvents(ctx, dir, "memory.oom_control", "")
	if err != nil {
		return nil, fmt.Errorf("cgroup OOM events: %w", err)
	}
	return ch, nil
}

// NotifyMemoryPressure registers an eventfd for memory.pressure_level at
// level (memory.rst, section 11): the kernel signals it when reclaim in
// the cgroup reaches that level.
func (m *v1Manager) NotifyMemoryPressure(ctx context.Context, level PressureLevel) (<-chan struct{}, error) {
	switch level {
	case LowPressure, MediumPressure, CriticalPressure:
	default:
		return nil, fmt.Errorf("cgroup memory pressure events: level %q: want %s, %s or %s", level, LowPressure, MediumPressure, CriticalPressure)
	}
	dir := m.Path("memory")
	if dir == "" {
		return nil, fmt.Errorf("cgroup memory pressure events: memory cgroup controller not mounted: %w", errors.ErrUnsupported)
	}
	ch, err := memoryEvents(ctx, dir, "memory.pressure_level", string(level))
	if err != nil {
		return nil, fmt.Errorf("cgroup memory pressure events: %w", err)
	}
	return ch, nil
}

// memoryEvents registers a new eventfd for the events of dir/file (with
// the file's argument arg) and returns a channel that receives a value for
// each signal. The channel is closed when ctx is done or the cgroup is
// removed: on rmdir the kernel signals every registered eventfd once more
// (memcg_event_remove), and the cgroup's cgroup.event_control is then
// gone.
func memoryEvents(ctx context.Context, dir, file, arg string) (<-chan struct{}, error) {
	evPath := filepath.Join(dir, file)
	control := filepath.Join(dir, "cgroup.event_control")
	ev, err := unix.Open(evPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: evPath, Err: err}
	}
	// The kernel keeps no reference to the event file after registering.
	defer unix.Close(ev)
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, os.NewSyscallError("eventfd", err)
	}
	// A non-blocking fd gives a File served by the runtime's poller, whose
	// Read a Close from another goroutine interrupts.
	f := os.NewFile(uintptr(efd), "eventfd:"+evPath)
	line := strconv.Itoa(efd) + " " + strconv.Itoa(ev)
	if arg != "" {
		line += " " + arg
	}
	if err := writeFile(dir, "cgroup.event_control", line); err != nil {
		_ = f.Close()
		return nil, err
	}
	ch := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { _ = f.Close() })
	go func() {
		defer close(ch)
		defer stop()
		defer f.Close()
		buf := make([]byte, 8)
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
			if _, err := os.Lstat(control); err != nil {
				return // the cgroup is gone
			}
			select {
			case ch <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}
