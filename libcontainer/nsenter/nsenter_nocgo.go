//go:build !cgo

package nsenter

// Available reports whether the bootstrap is linked into this binary: false
// in a binary built without cgo, which cannot join a user, mount or time
// namespace.
const Available = false
