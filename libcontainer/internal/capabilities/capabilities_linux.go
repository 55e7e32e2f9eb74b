package capabilities

import (
	"errors"
	"fmt"
	"slices"

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"
)

// ApplyBoundingSet drops from the calling thread's bounding set every
// capability that is not in the configured bounding set
// (prctl(PR_CAPBSET_DROP)). It needs CAP_SETPCAP, so it must run before the
// switch to the container user.
//
// Unlike moby/sys/capability's Apply, which silently skips the bounding set
// when CAP_SETPCAP is not effective, a capability that cannot be dropped is
// an error: a container must never keep a capability it was denied.
func (c *Caps) ApplyBoundingSet() error {
	if c.keep {
		return nil
	}
	last, err := capability.LastCap()
	if err != nil {
		return err
	}
	for v := capability.Cap(0); v <= last; v++ {
		if slices.Contains(c.bounding, v) {
			continue
		}
		in, err := capability.GetBound(v)
		if err != nil {
			return fmt.Errorf("read bounding capability %s: %w", capName(v), err)
		}
		if !in {
			continue
		}
		if err := capability.DropBound(v); err != nil {
			return fmt.Errorf("drop bounding capability %s: %w", capName(v), err)
		}
	}
	return nil
}

// ApplyCaps sets the calling thread's effective, permitted and inheritable
// sets (capset(2)), then clears its ambient set and raises the configured
// ambient capabilities (prctl(PR_CAP_AMBIENT)). Call it after the switch to
// the container user (with PR_SET_KEEPCAPS held across the switch, so that
// the permitted set survives it), on the thread that calls execve.
func (c *Caps) ApplyCaps() error {
	if c.keep {
		return nil
	}
	p, err := capability.NewPid2(0)
	if err != nil {
		return err
	}
	p.Clear(capability.CAPS)
	p.Set(capability.EFFECTIVE, c.effective...)
	p.Set(capability.PERMITTED, c.permitted...)
	p.Set(capability.INHERITABLE, c.inheritable...)
	if err := p.Apply(capability.CAPS); err != nil {
		return fmt.Errorf("set capabilities: %w", err)
	}
	// EINVAL: the kernel predates ambient capabilities (Linux 4.3); there is
	// nothing to clear then, and runc carries on the same way.
	if err := capability.ResetAmbient(); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	for _, v := range c.ambient {
		if err := capability.SetAmbient(true, v); err != nil {
			return fmt.Errorf("raise ambient capability %s: %w", capName(v), err)
		}
	}
	return nil
}
