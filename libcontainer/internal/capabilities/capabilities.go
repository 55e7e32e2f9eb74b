package capabilities

import (
	"slices"
	"strings"

	"github.com/moby/sys/capability"

	"github.com/berthrt/berth/libcontainer/configs"
)

// Caps is a prepared set of the five capability sets, ready to apply.
type Caps struct {
	// keep is set when the configuration has no capabilities at all: the
	// process then keeps the capabilities it has, as runc does.
	keep bool

	bounding    []capability.Cap
	effective   []capability.Cap
	inheritable []capability.Cap
	permitted   []capability.Cap
	ambient     []capability.Cap

	// skippedAmbient are ambient capabilities that the kernel would refuse
	// to raise because they are not in both the permitted and the
	// inheritable set (capabilities(7), "Ambient capability set").
	skippedAmbient []string
}

// New converts the capability names of c into sets for this kernel.
//
// A nil c means the process keeps its capabilities unchanged: runc
// (libcontainer/capabilities.New) does the same when the spec has no
// process.capabilities. Names that this package or the running kernel
// (/proc/sys/kernel/cap_last_cap) does not know are left out of the sets and
// returned, sorted and without duplicates, in unknown: runc ignores them with
// the warning "ignoring unknown or unavailable capabilities: [...]".
func New(c *configs.Capabilities) (caps *Caps, unknown []string, err error) {
	if c == nil {
		return &Caps{keep: true}, nil, nil
	}
	supported, err := capability.ListSupported()
	if err != nil {
		return nil, nil, err
	}
	return newCaps(c, supported)
}

// newCaps is New with the list of capabilities the kernel supports given.
func newCaps(c *configs.Capabilities, supported []capability.Cap) (*Caps, []string, error) {
	byName := make(map[string]capability.Cap, len(supported))
	for _, v := range supported {
		byName[capName(v)] = v
	}
	var unknown []string
	convert := func(names []string) []capability.Cap {
		out := make([]capability.Cap, 0, len(names))
		for _, n := range names {
			v, ok := byName[n]
			if !ok {
				unknown = append(unknown, n)
				continue
			}
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	}
	caps := &Caps{
		bounding:    convert(c.Bounding),
		effective:   convert(c.Effective),
		inheritable: convert(c.Inheritable),
		permitted:   convert(c.Permitted),
	}
	for _, v := range convert(c.Ambient) {
		if slices.Contains(caps.permitted, v) && slices.Contains(caps.inheritable, v) {
			caps.ambient = append(caps.ambient, v)
		} else {
			caps.skippedAmbient = append(caps.skippedAmbient, capName(v))
		}
	}
	slices.Sort(unknown)
	return caps, slices.Compact(unknown), nil
}

// SkippedAmbient returns the ambient capabilities that ApplyCaps leaves out
// because they are not also in the permitted and inheritable sets, where the
// kernel requires them to be. runc warns about them ("can't raise ambient
// capability") and goes on; the caller should warn too.
func (c *Caps) SkippedAmbient() []string { return slices.Clone(c.skippedAmbient) }

// Keep reports whether the process keeps the capabilities it has: the
// configuration has none.
func (c *Caps) Keep() bool { return c.keep }

// Masks are the sets as bit masks (bit n is capability n): the bounding
// set to keep, then the effective, permitted, inheritable and ambient sets.
func (c *Caps) Masks() (bounding, effective, permitted, inheritable, ambient uint64) {
	mask := func(list []capability.Cap) (m uint64) {
		for _, v := range list {
			m |= 1 << uint(v)
		}
		return m
	}
	return mask(c.bounding), mask(c.effective), mask(c.permitted), mask(c.inheritable), mask(c.ambient)
}

// Known returns the names of all capabilities berth knows, in kernel order.
// It is the list `berth features` prints, like runc's KnownCapabilities: the
// capabilities the library knows, whether or not the running kernel has them
// (New checks the kernel).
func Known() []string {
	list := capability.ListKnown()
	names := make([]string, len(list))
	for i, v := range list {
		names[i] = capName(v)
	}
	return names
}

func capName(c capability.Cap) string { return "CAP_" + strings.ToUpper(c.String()) }
