package specconv

import (
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berthrt/berth/libcontainer/configs"
)

// Capabilities converts an OCI process's capability sets; nil stays nil.
// berth exec uses it for the process it runs in a container.
func Capabilities(caps *specs.LinuxCapabilities) *configs.Capabilities {
	if caps == nil {
		return nil
	}
	return &configs.Capabilities{
		Bounding:    slices.Clone(caps.Bounding),
		Effective:   slices.Clone(caps.Effective),
		Inheritable: slices.Clone(caps.Inheritable),
		Permitted:   slices.Clone(caps.Permitted),
		Ambient:     slices.Clone(caps.Ambient),
	}
}

// Rlimits converts an OCI process's rlimits; none gives nil. An unknown
// type is a *configs.FieldError for "process.rlimits[i].type".
func Rlimits(in []specs.POSIXRlimit) ([]configs.Rlimit, error) {
	var out []configs.Rlimit
	for i, rl := range in {
		t, ok := rlimitType(rl.Type)
		if !ok {
			return nil, &configs.FieldError{Field: fmt.Sprintf("process.rlimits[%d].type", i), Err: fmt.Errorf("unknown rlimit type %q", rl.Type)}
		}
		out = append(out, configs.Rlimit{Type: t, Hard: rl.Hard, Soft: rl.Soft})
	}
	return out, nil
}
