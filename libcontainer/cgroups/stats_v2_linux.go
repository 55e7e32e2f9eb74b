package cgroups

import (
	"context"
	"errors"
	"fmt"
)

// GetStats reads the v2 controllers' counters.
func (m *v2Manager) GetStats() (*Stats, error) {
	return nil, fmt.Errorf("cgroup v2 stats: %w", errors.ErrUnsupported)
}

// NotifyOOM watches memory.events.
func (m *v2Manager) NotifyOOM(context.Context) (<-chan struct{}, error) {
	return nil, fmt.Errorf("cgroup v2 OOM events: %w", errors.ErrUnsupported)
}

// NotifyMemoryPressure watches memory.pressure_level.
func (m *v2Manager) NotifyMemoryPressure(context.Context, PressureLevel) (<-chan struct{}, error) {
	return nil, fmt.Errorf("cgroup v2 memory pressure events: %w", errors.ErrUnsupported)
}
