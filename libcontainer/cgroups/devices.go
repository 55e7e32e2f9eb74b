package cgroups

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/berthrt/berth/libcontainer/configs"
)

// This file computes the cgroup v1 devices controller writes that take a
// cgroup from its current device policy (devices.list) to the one a list of
// configs.DeviceRule describes. See the kernel's
// Documentation/admin-guide/cgroup-v1/devices.rst.
//
// The kernel keeps a default (allow or deny everything) and a list of
// exceptions. Writing "a" to devices.allow or devices.deny sets the default
// and empties the list; any other rule written to the file that matches the
// default removes access bits from the exception with exactly the same type
// and numbers, and written to the other file adds them. Writes are chosen so
// that no moment between them lets the cgroup reach a device that neither the
// old nor the new policy allows.

// devAccess is a set of device permissions: r, w and m bits.
type devAccess uint8

const (
	accRead devAccess = 1 << iota
	accWrite
	accMknod
	accAll = accRead | accWrite | accMknod
)

func parseAccess(s string) (devAccess, error) {
	if s == "" {
		// An empty OCI "access" means the rule's full reach.
		return accAll, nil
	}
	var a devAccess
	for _, c := range s {
		switch c {
		case 'r':
			a |= accRead
		case 'w':
			a |= accWrite
		case 'm':
			a |= accMknod
		default:
			return 0, fmt.Errorf("device permissions %q: unknown %q", s, c)
		}
	}
	return a, nil
}

func (a devAccess) String() string {
	var b []byte
	for i, c := range "rwm" {
		if a&(1<<i) != 0 {
			b = append(b, byte(c))
		}
	}
	return string(b)
}

// devKey is an exception's device: a type ('b' or 'c') and numbers, where
// configs.Wildcard is "*".
type devKey struct {
	typ          configs.DeviceType
	major, minor int64
}

func (k devKey) String() string {
	num := func(n int64) string {
		if n == configs.Wildcard {
			return "*"
		}
		return strconv.FormatInt(n, 10)
	}
	return fmt.Sprintf("%c %s:%s", k.typ, num(k.major), num(k.minor))
}

func compareKeys(a, b devKey) int {
	return cmp.Or(cmp.Compare(a.typ, b.typ), cmp.Compare(a.major, b.major), cmp.Compare(a.minor, b.minor))
}

// devPolicy is a devices cgroup policy as the kernel keeps it.
type devPolicy struct {
	// allow is the default: true allows every device not listed.
	allow bool
	// except are the exceptions to the default.
	except map[devKey]devAccess
	// order lists the keys of except in the order they were added: the
	// kernel lists its exceptions that way, and the OCI spec wants device
	// rules applied in their listed order, so writes follow it.
	order []devKey
}

// grant adds access a to the exception k, after the others if it is new.
func (p *devPolicy) grant(k devKey, a devAccess) {
	if _, ok := p.except[k]; !ok {
		p.order = append(p.order, k)
	}
	p.except[k] |= a
}

// apply applies one rule the way the kernel would.
func (p *devPolicy) apply(r *configs.DeviceRule) error {
	switch r.Type {
	case configs.WildcardDevice:
		// The kernel treats any rule of type 'a' as "all devices, rwm";
		// refuse the ones that would mean less than that.
		if r.Major != configs.Wildcard || r.Minor != configs.Wildcard {
			return fmt.Errorf("device rule a %d:%d: type a must not name device numbers", r.Major, r.Minor)
		}
		if a, err := parseAccess(r.Permissions); err != nil {
			return err
		} else if a != accAll {
			return fmt.Errorf("device rule a *:* %s: type a needs permissions rwm", r.Permissions)
		}
		p.allow, p.except, p.order = r.Allow, map[devKey]devAccess{}, nil
		return nil
	case configs.BlockDevice, configs.CharDevice:
	case configs.FifoDevice:
		// The devices controller does not govern fifos.
		return nil
	default:
		return fmt.Errorf("device rule type %q: unknown", r.Type)
	}
	a, err := parseAccess(r.Permissions)
	if err != nil {
		return err
	}
	k := devKey{r.Type, r.Major, r.Minor}
	if r.Allow == p.allow {
		if left := p.except[k] &^ a; left != 0 {
			p.except[k] = left
		} else if _, ok := p.except[k]; ok {
			delete(p.except, k)
			p.order = slices.DeleteFunc(p.order, func(o devKey) bool { return o == k })
		}
		return nil
	}
	p.grant(k, a)
	return nil
}

// targetPolicy is the policy that rules describe, starting from "deny
// everything": a rule list is the whole policy, not a change to the current
// one. Errors name the rule as linux.resources.devices[i] (a
// *configs.FieldError).
func targetPolicy(rules []*configs.DeviceRule) (devPolicy, error) {
	p := devPolicy{except: map[devKey]devAccess{}}
	for i, r := range rules {
		err := p.checkHole(r)
		if err == nil {
			err = p.apply(r)
		}
		if err != nil {
			return devPolicy{}, &configs.FieldError{Field: fmt.Sprintf("linux.resources.devices[%d]", i), Err: err}
		}
	}
	return p, nil
}

// errDeviceHole is wrapped by the error of a rule list that cuts a hole in
// a wildcard exception (see checkHole).
var errDeviceHole = errors.New("the devices cgroup cannot express it")

// checkHole refuses a rule that would take access away from part of a
// wildcard exception: "allow c *:* rwm" then "deny c 1:3 rwm" under a deny
// default. The kernel removes only the exception with exactly the rule's
// type and numbers, so the wildcard keeps granting 1:3, and the deny is
// silently lost (devcgroup_update_access, dev_exception_rm). The same holds
// the other way round under an allow default. The v2 filter follows the v1
// semantics, so the rule list is refused on both versions, as runc's device
// emulator does; the kernel cannot split the wildcard into 2^40 exceptions.
func (p *devPolicy) checkHole(r *configs.DeviceRule) error {
	if r.Allow != p.allow || (r.Type != configs.BlockDevice && r.Type != configs.CharDevice) {
		return nil // adds to the exceptions, or sets the default
	}
	a, err := parseAccess(r.Permissions)
	if err != nil {
		return err
	}
	k := devKey{r.Type, r.Major, r.Minor}
	for _, w := range []devKey{
		{r.Type, configs.Wildcard, r.Minor},
		{r.Type, r.Major, configs.Wildcard},
		{r.Type, configs.Wildcard, configs.Wildcard},
	} {
		if w == k {
			continue
		}
		if both := p.except[w] & a; both != 0 {
			verb, other := "deny", "allowed"
			if r.Allow {
				verb, other = "allow", "denied"
			}
			return fmt.Errorf("%s %s %s would cut a hole in the %s wildcard %s %s: %w",
				verb, k, a, other, w, p.except[w], errDeviceHole)
		}
	}
	return nil
}

// parseDevicesList parses a v1 devices.list: "a *:* rwm" alone means allow
// by default (the kernel then hides the deny exceptions); otherwise the
// lines are the allowed exceptions to a deny default.
func parseDevicesList(data string) (devPolicy, error) {
	p := devPolicy{except: map[devKey]devAccess{}}
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 || (f[0] != "a" && f[0] != "b" && f[0] != "c") {
			return devPolicy{}, fmt.Errorf("parse devices.list line %q", line)
		}
		nums := strings.Split(f[1], ":")
		if len(nums) != 2 {
			return devPolicy{}, fmt.Errorf("parse devices.list line %q", line)
		}
		a, err := parseAccess(f[2])
		if err != nil {
			return devPolicy{}, fmt.Errorf("parse devices.list line %q: %w", line, err)
		}
		if f[0] == "a" {
			return devPolicy{allow: true, except: map[devKey]devAccess{}}, nil
		}
		k := devKey{typ: configs.DeviceType(f[0][0])}
		for i, n := range nums {
			v := configs.Wildcard
			if n != "*" {
				if v, err = strconv.ParseInt(n, 10, 64); err != nil {
					return devPolicy{}, fmt.Errorf("parse devices.list line %q: %w", line, err)
				}
			}
			if i == 0 {
				k.major = v
			} else {
				k.minor = v
			}
		}
		p.grant(k, a)
	}
	return p, nil
}

// devWrite is one write to devices.allow or devices.deny.
type devWrite struct {
	file string
	line string
}

// devicesTransition returns the writes that take a cgroup from policy cur to
// policy want.
func devicesTransition(cur, want devPolicy) []devWrite {
	// reset sets the default (written "a") and takes exceptions away;
	// except adds exceptions.
	reset, except := "devices.deny", "devices.allow"
	if want.allow {
		reset, except = except, reset
	}
	var w []devWrite
	if cur.allow != want.allow || want.allow {
		// A new default: reset, then add every exception. Going from allow
		// to deny, the reset denies everything first, which is safe.
		// Going to allow (or staying there, where devices.list hides the
		// current exceptions so they cannot be diffed), the reset briefly
		// allows the devices want denies: the kernel has no other way to
		// set an allow default, and such a policy is no device boundary.
		w = append(w, devWrite{reset, "a"})
		for _, k := range want.order {
			w = append(w, devWrite{except, k.String() + " " + want.except[k].String()})
		}
		return w
	}
	// Both deny by default: add the missing allows first, then take away
	// the extra ones, so that nothing both policies allow is ever denied
	// and nothing neither allows is ever allowed.
	for _, k := range want.order {
		if add := want.except[k] &^ cur.except[k]; add != 0 {
			w = append(w, devWrite{except, k.String() + " " + add.String()})
		}
	}
	for _, k := range cur.order {
		if del := cur.except[k] &^ want.except[k]; del != 0 {
			w = append(w, devWrite{reset, k.String() + " " + del.String()})
		}
	}
	return w
}
