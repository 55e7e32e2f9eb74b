package configs

import "errors"

// ErrNoMapping is returned when an ID has no mapping into the host.
var ErrNoMapping = errors.New("no mapping for id in the user namespace")

// FieldError is a validation error naming the offending field.
type FieldError struct {
	// Field is the config field, in OCI spelling where one exists
	// ("linux.sysctl", "mounts[2].destination").
	Field string
	// Err says what is wrong with it.
	Err error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }
