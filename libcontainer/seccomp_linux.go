package libcontainer

import (
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/berthrt/berth/libcontainer/internal/seccomp"
	"github.com/berthrt/berth/libcontainer/specconv"
)

// SeccompFeatures describes berth's seccomp support as the OCI features
// document does: the actions, operators, architectures and flags a
// profile may use, and the flags this kernel supports.
func SeccompFeatures() *features.Seccomp {
	enabled := true
	archs := slices.DeleteFunc(specconv.KnownSeccompArches(), func(a string) bool { return a == "SCMP_ARCH_NATIVE" })
	slices.Sort(archs)
	known := specconv.KnownSeccompFlags()
	flagBits := map[string]uint{
		"SECCOMP_FILTER_FLAG_TSYNC":              seccomp.FlagTsync,
		"SECCOMP_FILTER_FLAG_LOG":                seccomp.FlagLog,
		"SECCOMP_FILTER_FLAG_SPEC_ALLOW":         seccomp.FlagSpecAllow,
		"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": seccomp.FlagWaitKillableRecv,
	}
	var supported []string
	for _, f := range known {
		if seccomp.FlagSupported(flagBits[f]) {
			supported = append(supported, f)
		}
	}
	return &features.Seccomp{
		Enabled: &enabled,
		Actions: specconv.KnownSeccompActions(),
		Operators: []string{
			"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
			"SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE",
		},
		Archs:          archs,
		KnownFlags:     known,
		SupportedFlags: supported,
	}
}
