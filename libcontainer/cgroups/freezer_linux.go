package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// freezeTimeout bounds how long Freeze waits for the kernel to report every
// task frozen; on timeout the cgroup is thawed again.
const freezeTimeout = 10 * time.Second

// Freeze freezes or thaws the cgroup through the v1 freezer controller.
func (m *v1Manager) Freeze(state FreezerState) error {
	dir := m.Path("freezer")
	if dir == "" {
		return fmt.Errorf("freeze cgroup: freezer cgroup controller not mounted")
	}
	if err := freezeV1(dir, state); err != nil {
		return fmt.Errorf("freeze cgroup: %w", err)
	}
	return nil
}

func freezeV1(dir string, state FreezerState) error {
	switch state {
	case Thawed:
		return writeFile(dir, "freezer.state", string(Thawed))
	case Frozen:
	default:
		return fmt.Errorf("freezer state %q: want %s or %s", state, Frozen, Thawed)
	}
	// Writing FROZEN starts freezing; freezer.state reads FREEZING until
	// every task has stopped. Each write also retries the tasks that could
	// not be frozen yet, so write again at every poll, backing off.
	deadline := time.Now().Add(freezeTimeout)
	delay := 100 * time.Microsecond
	for i := 1; ; i++ {
		if err := writeFile(dir, "freezer.state", string(Frozen)); err != nil {
			return err
		}
		s, err := readFile(dir, "freezer.state")
		if err != nil {
			return err
		}
		if s == string(Frozen) {
			return nil
		}
		if time.Now().After(deadline) {
			_ = writeFile(dir, "freezer.state", string(Thawed))
			return fmt.Errorf("%s: still %s after %v", filepath.Join(dir, "freezer.state"), s, freezeTimeout)
		}
		if i%16 == 0 {
			// A v1 freeze can stay FREEZING forever when a task is
			// caught in vfork or in a stopped parent's wait; a thaw and
			// a fresh freeze gets past it.
			if err := writeFile(dir, "freezer.state", string(Thawed)); err != nil {
				return err
			}
		}
		time.Sleep(delay)
		delay = min(2*delay, 10*time.Millisecond)
	}
}

// GetFreezerState returns the v1 freezer state, or Undefined without a
// freezer controller.
func (m *v1Manager) GetFreezerState() (FreezerState, error) {
	dir := m.Path("freezer")
	if dir == "" {
		return Undefined, nil
	}
	deadline := time.Now().Add(time.Second)
	for {
		s, err := readFile(dir, "freezer.state")
		if err != nil {
			return Undefined, fmt.Errorf("get freezer state: %w", err)
		}
		switch s {
		case string(Frozen), string(Thawed):
			return FreezerState(s), nil
		case "FREEZING":
			// A transient state of an unfinished Freeze: wait it out.
			if time.Now().After(deadline) {
				return Undefined, nil
			}
			time.Sleep(10 * time.Millisecond)
		default:
			return Undefined, fmt.Errorf("get freezer state: %s: unknown state %q", filepath.Join(dir, "freezer.state"), s)
		}
	}
}

// Freeze freezes or thaws the cgroup through cgroup.freeze (Linux 5.2) and
// waits until cgroup.events reports the new state.
func (m *v2Manager) Freeze(state FreezerState) error {
	var want string
	switch state {
	case Frozen:
		want = "1"
	case Thawed:
		want = "0"
	default:
		return fmt.Errorf("freeze cgroup: freezer state %q: want %s or %s", state, Frozen, Thawed)
	}
	if err := writeFile(m.dir, "cgroup.freeze", want); err != nil {
		return fmt.Errorf("freeze cgroup: %w", err)
	}
	if err := waitFrozen(m.dir, want); err != nil {
		if state == Frozen {
			_ = writeFile(m.dir, "cgroup.freeze", "0")
		}
		return fmt.Errorf("freeze cgroup: %w", err)
	}
	return nil
}

// waitFrozen waits until the "frozen" key of dir/cgroup.events is want. The
// kernel notifies a change of cgroup.events to poll(2) as POLLPRI.
func waitFrozen(dir, want string) error {
	p := filepath.Join(dir, "cgroup.events")
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(freezeTimeout)
	buf := make([]byte, 256)
	for {
		n, err := unix.Pread(fd, buf, 0)
		if err != nil && err != unix.EINTR {
			return &os.PathError{Op: "read", Path: p, Err: err}
		}
		if eventValue(string(buf[:max(n, 0)]), "frozen") == want {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%s: frozen is not %s after %v", p, want, freezeTimeout)
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLPRI}}
		if _, err := unix.Poll(fds, int(min(left, time.Second).Milliseconds())+1); err != nil && err != unix.EINTR {
			return &os.PathError{Op: "poll", Path: p, Err: err}
		}
	}
}

// eventValue returns the value of key in a "key value" per line file.
func eventValue(data, key string) string {
	for line := range strings.Lines(data) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), " "); ok && k == key {
			return v
		}
	}
	return ""
}

// GetFreezerState returns Frozen when cgroup.freeze is 1, else Thawed.
func (m *v2Manager) GetFreezerState() (FreezerState, error) {
	s, err := readFile(m.dir, "cgroup.freeze")
	if err != nil {
		return Undefined, fmt.Errorf("get freezer state: %w", err)
	}
	switch s {
	case "1":
		return Frozen, nil
	case "0":
		return Thawed, nil
	}
	return Undefined, fmt.Errorf("get freezer state: %s: unknown value %q", filepath.Join(m.dir, "cgroup.freeze"), s)
}
