package cgroups

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/berthrt/berth/libcontainer/configs"
)

func rule(allow bool, typ configs.DeviceType, major, minor int64, perms string) *configs.DeviceRule {
	return &configs.DeviceRule{Type: typ, Major: major, Minor: minor, Permissions: perms, Allow: allow}
}

const w = configs.Wildcard

// defaultRules are the usual container rules: deny all, then allow some.
var defaultRules = []*configs.DeviceRule{
	rule(false, 'a', w, w, "rwm"),
	rule(true, 'c', 1, 3, "rwm"),
	rule(true, 'c', 1, 5, "rwm"),
	rule(true, 'c', w, w, "m"),
	rule(true, 'c', 136, w, "rw"),
	rule(true, 'p', 1, 1, "rwm"),
}

func TestDevicesTransition(t *testing.T) {
	tests := []struct {
		name  string
		list  string // current devices.list
		rules []*configs.DeviceRule
		want  []devWrite
	}{
		{
			// The allows follow the rules' order, as the OCI spec wants.
			name:  "new cgroup under an allow-all parent: deny first",
			list:  "a *:* rwm\n",
			rules: defaultRules,
			want: []devWrite{
				{"devices.deny", "a"},
				{"devices.allow", "c 1:3 rwm"},
				{"devices.allow", "c 1:5 rwm"},
				{"devices.allow", "c *:* m"},
				{"devices.allow", "c 136:* rw"},
			},
		},
		{
			name:  "already there: no writes",
			list:  "c 1:3 rwm\nc 1:5 rwm\nc *:* m\nc 136:* rw\n",
			rules: defaultRules,
			want:  nil,
		},
		{
			name: "update: allow new ones before revoking old ones",
			list: "c 1:3 rwm\nc 1:7 rwm\nb 8:0 r\n",
			rules: []*configs.DeviceRule{
				rule(false, 'a', w, w, "rwm"),
				rule(true, 'c', 1, 3, "rw"),
				rule(true, 'b', 8, 0, "rw"),
			},
			want: []devWrite{
				{"devices.allow", "b 8:0 w"},
				{"devices.deny", "c 1:3 m"},
				{"devices.deny", "c 1:7 rwm"},
			},
		},
		{
			name:  "empty list denies everything",
			list:  "a *:* rwm\n",
			rules: []*configs.DeviceRule{},
			want:  []devWrite{{"devices.deny", "a"}},
		},
		{
			name:  "deny of an allowed device removes it",
			list:  "",
			rules: []*configs.DeviceRule{rule(true, 'c', 1, 3, "rwm"), rule(false, 'c', 1, 3, "w")},
			want:  []devWrite{{"devices.allow", "c 1:3 rm"}},
		},
		{
			name:  "privileged: allow all, then denies",
			list:  "c 1:3 rwm\n",
			rules: []*configs.DeviceRule{rule(true, 'a', w, w, "rwm"), rule(false, 'b', 8, w, "w")},
			want:  []devWrite{{"devices.allow", "a"}, {"devices.deny", "b 8:* w"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur, err := parseDevicesList(tt.list)
			if err != nil {
				t.Fatal(err)
			}
			want, err := targetPolicy(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			got := devicesTransition(cur, want)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestTargetPolicyErrors(t *testing.T) {
	tests := []struct {
		name string
		r    *configs.DeviceRule
		want string
	}{
		{"a with numbers", rule(true, 'a', 1, 3, "rwm"), "must not name"},
		{"a with partial perms", rule(true, 'a', w, w, "r"), "needs permissions rwm"},
		{"bad perms", rule(true, 'c', 1, 3, "rx"), "unknown"},
		{"bad type", rule(true, 'z', 1, 3, "r"), "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := targetPolicy([]*configs.DeviceRule{tt.r})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseDevicesListErrors(t *testing.T) {
	for _, in := range []string{"0 0:0 m\n", "c 1:3\n", "c 1 rwm\n", "c x:3 rwm\n", "c 1:3 rwz\n", "cc 1:3 rwm\n"} {
		if _, err := parseDevicesList(in); err == nil {
			t.Errorf("parse %q: want an error", in)
		}
	}
}

// FuzzDevicesTransition checks that applying the transition's writes to the
// current policy, the way the kernel does, gives the target policy.
func FuzzDevicesTransition(f *testing.F) {
	f.Add("c 1:3 rwm\nb 8:* r\n", "deny a;allow c 1:3 rw;allow b 8:0 w")
	f.Add("a *:* rwm\n", "allow a;deny c 1:3 r")
	f.Fuzz(func(t *testing.T, list, spec string) {
		cur, err := parseDevicesList(list)
		if err != nil || cur.allow {
			// An allow default hides its exceptions: nothing to check.
			return
		}
		var rules []*configs.DeviceRule
		for s := range strings.SplitSeq(spec, ";") {
			f := strings.Fields(s)
			if len(f) != 3 && !(len(f) == 2 && f[1] == "a") {
				return
			}
			if f[1] == "a" {
				rules = append(rules, rule(f[0] == "allow", 'a', w, w, "rwm"))
				continue
			}
			p, err := parseDevicesList(f[1] + " " + f[2] + "\n")
			if err != nil || p.allow {
				return
			}
			for k := range p.except {
				rules = append(rules, rule(f[0] == "allow", k.typ, k.major, k.minor, p.except[k].String()))
			}
		}
		want, err := targetPolicy(rules)
		if err != nil {
			return
		}
		got := cur
		for _, wr := range devicesTransition(cur, want) {
			allow := wr.file == "devices.allow"
			if wr.line == "a" {
				got = devPolicy{allow: allow, except: map[devKey]devAccess{}}
				// No step may reach an allow-all default unless the
				// target has one.
				if allow && !want.allow {
					t.Fatalf("transition allows everything on the way to %v", want)
				}
				continue
			}
			p, _ := parseDevicesList(wr.line + "\n")
			for k, a := range p.except {
				_ = got.apply(rule(allow, k.typ, k.major, k.minor, a.String()))
			}
		}
		if got.allow != want.allow || !reflect.DeepEqual(got.except, want.except) {
			t.Fatalf("after the writes: %v, want %v", got, want)
		}
	})
}

// TestTargetPolicyHoles checks that a rule taking access away from part of
// a wildcard exception is refused, as runc refuses it, rather than lost.
func TestTargetPolicyHoles(t *testing.T) {
	tests := []struct {
		name  string
		rules []*configs.DeviceRule
		// hole is the index of the refused rule; -1 when the list is fine.
		hole int
	}{
		{"deny inside an allowed wildcard", []*configs.DeviceRule{rule(true, 'c', w, w, "rwm"), rule(false, 'c', 1, 3, "rwm")}, 1},
		{"deny inside an allowed major", []*configs.DeviceRule{rule(true, 'c', 1, w, "rw"), rule(false, 'c', 1, 3, "r")}, 1},
		{"deny inside an allowed minor", []*configs.DeviceRule{rule(true, 'c', w, 3, "r"), rule(false, 'c', 1, 3, "rw")}, 1},
		{"deny of a major inside the wildcard", []*configs.DeviceRule{rule(true, 'c', w, w, "m"), rule(false, 'c', 1, w, "rwm")}, 1},
		{"allow inside a denied wildcard", []*configs.DeviceRule{rule(true, 'a', w, w, "rwm"), rule(false, 'c', w, w, "w"), rule(true, 'c', 1, 3, "w")}, 2},
		{"after the default rules", append(append([]*configs.DeviceRule{}, defaultRules...), rule(false, 'c', 1, 9, "m")), len(defaultRules)},
		{"no common permission", []*configs.DeviceRule{rule(true, 'c', w, w, "m"), rule(false, 'c', 1, 3, "rw")}, -1},
		{"other type", []*configs.DeviceRule{rule(true, 'b', w, w, "rwm"), rule(false, 'c', 1, 3, "rwm")}, -1},
		{"the same wildcard", []*configs.DeviceRule{rule(true, 'c', w, w, "rwm"), rule(false, 'c', w, w, "rwm")}, -1},
		{"an exact exception", []*configs.DeviceRule{rule(true, 'c', 1, 3, "rwm"), rule(false, 'c', 1, 3, "w")}, -1},
		{"deny adds to an allow default", []*configs.DeviceRule{rule(true, 'a', w, w, "rwm"), rule(false, 'c', 1, 3, "rwm")}, -1},
		{"the default rules", defaultRules, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := targetPolicy(tt.rules)
			if tt.hole < 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ferr *configs.FieldError
			if !errors.As(err, &ferr) || !errors.Is(err, errDeviceHole) {
				t.Fatalf("err = %v, want a FieldError wrapping errDeviceHole", err)
			}
			if want := fmt.Sprintf("linux.resources.devices[%d]", tt.hole); ferr.Field != want {
				t.Errorf("field %q, want %q (err %v)", ferr.Field, want, err)
			}
			if !strings.Contains(err.Error(), "would cut a hole in the") {
				t.Errorf("err = %v", err)
			}
		})
	}
}
