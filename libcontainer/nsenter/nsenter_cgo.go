//go:build cgo

package nsenter

// The bootstrap is nsenter.c: cgo compiles and links it, and the C runtime
// runs its constructor before the Go runtime starts.

// #cgo CFLAGS: -Wall -O2
import "C"

// Available reports whether the bootstrap is linked into this binary: true
// in a binary built with cgo.
const Available = true
