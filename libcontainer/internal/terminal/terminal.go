package terminal

// Size is a terminal's window size in character cells (process.consoleSize
// in the OCI spec).
type Size struct {
	// Height is the number of rows.
	Height uint16
	// Width is the number of columns.
	Width uint16
}

// maxNameLen bounds the name carried with a descriptor: runc's limit, and
// longer than any path the kernel accepts.
const maxNameLen = 4096
