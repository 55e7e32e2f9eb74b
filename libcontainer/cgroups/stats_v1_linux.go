package cgroups

import (
	"context"
	"errors"
	"fmt"
)

// GetStats reads the v1 controllers' counters.
func (m *v1Manager) GetStats() (*Stats, error) {
	return nil, fmt.Errorf("cgroup v1 stats: %w", errors.ErrUnsupported)
}

// NotifyOOM watches memory.oom_control.
func (m *v1Manager) NotifyOOM(context.Context) (<-chan struct{}, error) {
	return nil, fmt.Errorf("cgroup v1 OOM events: %w", errors.ErrUnsupported)
}

// NotifyMemoryPressure watches memory.pressure_level.
func (m *v1Manager) NotifyMemoryPressure(context.Context, PressureLevel) (<-chan struct{}, error) {
	return nil, fmt.Errorf("cgroup v1 memory pressure events: %w", errors.ErrUnsupported)
}
