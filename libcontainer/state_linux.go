package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// Status is a container's state in the OCI life cycle.
type Status int

// The container statuses.
const (
	// Created: the init process waits for Exec (berth start).
	Created Status = iota
	// Running: the user process runs.
	Running
	// Paused: the container's cgroup is frozen.
	Paused
	// Stopped: the init process has exited, or never started.
	Stopped
)

func (s Status) String() string {
	switch s {
	case Created:
		return "created"
	case Running:
		return "running"
	case Paused:
		return "paused"
	case Stopped:
		return "stopped"
	}
	return "unknown"
}

// State is what berth stores about a container in <root>/<id>/state.json.
type State struct {
	// ID is the container's id.
	ID string `json:"id"`
	// InitProcessPid is the init's pid in berth's pid namespace; 0 before
	// Start.
	InitProcessPid int `json:"init_process_pid"`
	// InitProcessStartTime is the init's start time in clock ticks since
	// boot (field 22 of /proc/<pid>/stat): a pid whose start time differs
	// was reused by another process.
	InitProcessStartTime uint64 `json:"init_process_start"`
	// Created is when the container was created.
	Created time.Time `json:"created"`
	// Config is the container's config.
	Config configs.Config `json:"config"`
	// CgroupPaths are the container's cgroup directories by controller
	// ("" for the cgroup v2 directory).
	CgroupPaths map[string]string `json:"cgroup_paths,omitempty"`
	// NamespacePaths are /proc/<pid>/ns/* of the init by kind.
	NamespacePaths map[configs.NamespaceType]string `json:"namespace_paths,omitempty"`
	// NamespaceInodes are the inode numbers of the init's namespaces by
	// kind (see initNamespaceFile), read when it started. A process that
	// took the init's pid within the clock tick of its start time has the
	// same start time, but other namespaces.
	NamespaceInodes map[configs.NamespaceType]uint64 `json:"namespace_inodes,omitempty"`
}

// initNamespaceFile is the name, in /proc/<pid>/ns, of the init's
// namespace of kind typ: time_for_children for a time namespace, since a
// created container's init has not executed yet and only its children are
// in the container's time namespace.
func initNamespaceFile(typ configs.NamespaceType) string {
	if typ == configs.NEWTIME {
		return "time_for_children"
	}
	return typ.ProcName()
}

const (
	stateFile    = "state.json"
	execSockName = "exec.sock"
)

// saveState writes the state atomically: a temporary file in the same
// directory, then rename(2).
func saveState(dir string, s *State) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".state-")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write state %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write state %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

func loadState(dir string) (*State, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, fmt.Errorf("read state: %w", err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode state %s: %w", filepath.Join(dir, stateFile), err)
	}
	return &s, nil
}

// procStat is what berth reads from /proc/<pid>/stat.
type procStat struct {
	state     byte
	startTime uint64
}

// readProcStat parses /proc/<pid>/stat. The command name is in
// parentheses and may itself contain ") ", so fields are counted from the
// last ')'.
func readProcStat(pid int) (procStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(string(data))
}

func parseProcStat(data string) (procStat, error) {
	i := strings.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return procStat{}, errors.New("malformed /proc/<pid>/stat")
	}
	// After ") " come field 3 (state) … field 22 (starttime).
	fields := strings.Fields(data[i+2:])
	if len(fields) < 20 {
		return procStat{}, errors.New("malformed /proc/<pid>/stat")
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("malformed /proc/<pid>/stat start time: %w", err)
	}
	return procStat{state: fields[0][0], startTime: start}, nil
}

// initAlive reports whether the state's init process still runs (a zombie
// or a recycled pid counts as exited).
func (s *State) initAlive() bool {
	if s.InitProcessPid <= 0 {
		return false
	}
	st, err := readProcStat(s.InitProcessPid)
	if err != nil {
		return false
	}
	return st.startTime == s.InitProcessStartTime && st.state != 'Z' && st.state != 'X'
}

// pidfd opens a pidfd for the state's init and checks, with the fd held,
// that the pid was not recycled: from then on it cannot be.
func (s *State) pidfd() (int, error) {
	if s.InitProcessPid <= 0 {
		return -1, ErrNotRunning
	}
	fd, err := unix.PidfdOpen(s.InitProcessPid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return -1, ErrNotRunning
		}
		return -1, fmt.Errorf("pidfd_open %d: %w", s.InitProcessPid, err)
	}
	if !s.initAlive() {
		unix.Close(fd)
		return -1, ErrNotRunning
	}
	return fd, nil
}
