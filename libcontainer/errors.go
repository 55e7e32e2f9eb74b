package libcontainer

import "errors"

// Sentinel errors, checked with errors.Is.
var (
	// ErrExist is returned by Create when the id is in use.
	ErrExist = errors.New("container with given ID already exists")
	// ErrInvalidID is returned for an id that runc would refuse.
	ErrInvalidID = errors.New("invalid container ID format")
	// ErrNotExist is returned when there is no container with the id.
	ErrNotExist = errors.New("container does not exist")
	// ErrPaused is returned for an operation a paused container refuses.
	ErrPaused = errors.New("container paused")
	// ErrRunning is returned for an operation a running container refuses.
	ErrRunning = errors.New("container still running")
	// ErrNotRunning is returned for an operation that needs a live
	// container.
	ErrNotRunning = errors.New("container not running")
	// ErrNotPaused is returned by Resume for a container that is not
	// paused.
	ErrNotPaused = errors.New("container not paused")
	// ErrNotCreated is returned by Exec on a container that is not in
	// the created state.
	ErrNotCreated = errors.New("container is not in the created state")
)
