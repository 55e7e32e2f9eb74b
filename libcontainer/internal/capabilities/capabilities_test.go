package capabilities

import (
	"slices"
	"testing"

	"github.com/moby/sys/capability"

	"github.com/berthrt/berth/libcontainer/configs"
)

func TestNewConvertsNames(t *testing.T) {
	all := capability.ListKnown()
	older := slices.DeleteFunc(slices.Clone(all), func(c capability.Cap) bool {
		return c > capability.CAP_AUDIT_READ // a 4.x kernel: no CAP_PERFMON, CAP_BPF, ...
	})
	tests := []struct {
		name      string
		supported []capability.Cap
		in        configs.Capabilities
		want      Caps
		unknown   []string
	}{
		{
			name:      "empty config clears every set",
			supported: all,
			want:      Caps{bounding: []capability.Cap{}, effective: []capability.Cap{}, inheritable: []capability.Cap{}, permitted: []capability.Cap{}},
		},
		{
			name:      "known names",
			supported: all,
			in: configs.Capabilities{
				Bounding:    []string{"CAP_KILL", "CAP_CHOWN"},
				Effective:   []string{"CAP_KILL"},
				Inheritable: []string{"CAP_NET_BIND_SERVICE"},
				Permitted:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
				Ambient:     []string{"CAP_NET_BIND_SERVICE"},
			},
			want: Caps{
				bounding:    []capability.Cap{capability.CAP_KILL, capability.CAP_CHOWN},
				effective:   []capability.Cap{capability.CAP_KILL},
				inheritable: []capability.Cap{capability.CAP_NET_BIND_SERVICE},
				permitted:   []capability.Cap{capability.CAP_KILL, capability.CAP_NET_BIND_SERVICE},
				ambient:     []capability.Cap{capability.CAP_NET_BIND_SERVICE},
			},
		},
		{
			name:      "unknown names are reported once, sorted, and left out",
			supported: all,
			in: configs.Capabilities{
				Bounding:  []string{"CAP_CHOWN", "CAP_UNKNOWN2", "CAP_UNKNOWN"},
				Effective: []string{"CAP_UNKNOWN", "cap_chown", "KILL"},
			},
			want: Caps{
				bounding:    []capability.Cap{capability.CAP_CHOWN},
				effective:   []capability.Cap{},
				inheritable: []capability.Cap{},
				permitted:   []capability.Cap{},
			},
			unknown: []string{"CAP_UNKNOWN", "CAP_UNKNOWN2", "KILL", "cap_chown"},
		},
		{
			name:      "capabilities the kernel lacks count as unknown",
			supported: older,
			in:        configs.Capabilities{Bounding: []string{"CAP_BPF", "CAP_AUDIT_READ", "CAP_CHECKPOINT_RESTORE"}},
			want: Caps{
				bounding:    []capability.Cap{capability.CAP_AUDIT_READ},
				effective:   []capability.Cap{},
				inheritable: []capability.Cap{},
				permitted:   []capability.Cap{},
			},
			unknown: []string{"CAP_BPF", "CAP_CHECKPOINT_RESTORE"},
		},
		{
			name:      "duplicates collapse",
			supported: all,
			in:        configs.Capabilities{Permitted: []string{"CAP_KILL", "CAP_KILL"}},
			want: Caps{
				bounding:    []capability.Cap{},
				effective:   []capability.Cap{},
				inheritable: []capability.Cap{},
				permitted:   []capability.Cap{capability.CAP_KILL},
			},
		},
		{
			name:      "ambient needs permitted and inheritable",
			supported: all,
			in: configs.Capabilities{
				Inheritable: []string{"CAP_KILL", "CAP_CHOWN"},
				Permitted:   []string{"CAP_KILL", "CAP_SETUID"},
				Ambient:     []string{"CAP_KILL", "CAP_CHOWN", "CAP_SETUID"},
			},
			want: Caps{
				bounding:       []capability.Cap{},
				effective:      []capability.Cap{},
				inheritable:    []capability.Cap{capability.CAP_KILL, capability.CAP_CHOWN},
				permitted:      []capability.Cap{capability.CAP_KILL, capability.CAP_SETUID},
				ambient:        []capability.Cap{capability.CAP_KILL},
				skippedAmbient: []string{"CAP_CHOWN", "CAP_SETUID"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, unknown, err := newCaps(&tc.in, tc.supported)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(unknown, tc.unknown) {
				t.Errorf("unknown = %q, want %q", unknown, tc.unknown)
			}
			for _, set := range []struct {
				name      string
				got, want []capability.Cap
			}{
				{"bounding", got.bounding, tc.want.bounding},
				{"effective", got.effective, tc.want.effective},
				{"inheritable", got.inheritable, tc.want.inheritable},
				{"permitted", got.permitted, tc.want.permitted},
				{"ambient", got.ambient, tc.want.ambient},
			} {
				if !slices.Equal(set.got, set.want) {
					t.Errorf("%s = %v, want %v", set.name, set.got, set.want)
				}
			}
			if !slices.Equal(got.SkippedAmbient(), tc.want.skippedAmbient) {
				t.Errorf("SkippedAmbient() = %q, want %q", got.SkippedAmbient(), tc.want.skippedAmbient)
			}
			if got.keep {
				t.Error("a non-nil config must not keep the current capabilities")
			}
		})
	}
}

func TestNewNilKeeps(t *testing.T) {
	c, unknown, err := New(nil)
	if err != nil || unknown != nil {
		t.Fatalf("New(nil) = %v, %v", unknown, err)
	}
	if !c.keep {
		t.Fatal("New(nil) must keep the current capabilities")
	}
}

func TestKnown(t *testing.T) {
	known := Known()
	if len(known) < 41 {
		t.Fatalf("Known() has %d names, want at least 41 (Linux 5.9 has CAP_CHECKPOINT_RESTORE = 40)", len(known))
	}
	for i, want := range map[int]string{0: "CAP_CHOWN", 5: "CAP_KILL", 40: "CAP_CHECKPOINT_RESTORE"} {
		if known[i] != want {
			t.Errorf("Known()[%d] = %q, want %q", i, known[i], want)
		}
	}
}
