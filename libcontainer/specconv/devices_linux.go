package specconv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// AllowedDevices returns a fresh copy of the devices every container gets,
// as in runc: the nodes /dev/null, zero, full, random, urandom and tty (mode
// 0666, owned by root, each with an "rwm" allow rule), and the rules without
// a node: mknod of any character or block device ("c *:* m", "b *:* m"),
// /dev/pts/* (136:*) and /dev/ptmx (5:2). A Device with an empty Path is a
// cgroup rule only.
//
// /dev/tty0, /dev/console (5:1) and /dev/net/tun are not on the list: runc
// 1.2 removed them from its defaults.
func AllowedDevices() []*configs.Device {
	rule := func(t configs.DeviceType, major, minor int64, perms string) configs.DeviceRule {
		return configs.DeviceRule{Type: t, Major: major, Minor: minor, Permissions: perms, Allow: true}
	}
	node := func(path string, major, minor int64) *configs.Device {
		return &configs.Device{
			DeviceRule: rule(configs.CharDevice, major, minor, "rwm"),
			Path:       path,
			FileMode:   0o666,
		}
	}
	return []*configs.Device{
		{DeviceRule: rule(configs.CharDevice, configs.Wildcard, configs.Wildcard, "m")},
		{DeviceRule: rule(configs.BlockDevice, configs.Wildcard, configs.Wildcard, "m")},
		node("/dev/null", 1, 3),
		node("/dev/random", 1, 8),
		node("/dev/full", 1, 7),
		node("/dev/tty", 5, 0),
		node("/dev/zero", 1, 5),
		node("/dev/urandom", 1, 9),
		// /dev/pts/*: the container's own devpts instance.
		{DeviceRule: rule(configs.CharDevice, 136, configs.Wildcard, "rwm")},
		// /dev/ptmx.
		{DeviceRule: rule(configs.CharDevice, 5, 2, "rwm")},
	}
}

// convertDevices fills c.Devices with the default nodes and linux.devices,
// and returns the default cgroup rules to append after the spec's own. A
// default node whose path linux.devices also lists is dropped, rule and all:
// the spec's entry wins (runc does the same).
//
// linux.devices entries get no cgroup rule of their own: as in runc, access
// to them is granted by linux.resources.devices.
func convertDevices(spec *specs.Spec, c *configs.Config) ([]*configs.DeviceRule, error) {
	var specDevs []specs.LinuxDevice
	if spec.Linux != nil {
		specDevs = spec.Linux.Devices
	}
	var rules []*configs.DeviceRule
	for _, d := range AllowedDevices() {
		if d.Path != "" && slices.ContainsFunc(specDevs, func(sd specs.LinuxDevice) bool { return filepath.Clean(sd.Path) == d.Path }) {
			continue
		}
		r := d.DeviceRule
		rules = append(rules, &r)
		if d.Path != "" {
			c.Devices = append(c.Devices, d)
		}
	}
	for i, sd := range specDevs {
		dev, err := convertDevice(sd)
		if err != nil {
			return nil, &configs.FieldError{Field: fmt.Sprintf("linux.devices[%d]%s", i, err.field), Err: err.err}
		}
		c.Devices = append(c.Devices, dev)
	}
	return rules, nil
}

type deviceError struct {
	field string
	err   error
}

func convertDevice(sd specs.LinuxDevice) (*configs.Device, *deviceError) {
	var t configs.DeviceType
	switch sd.Type {
	case "c", "u":
		t = configs.CharDevice
	case "b":
		t = configs.BlockDevice
	case "p":
		t = configs.FifoDevice
	default:
		return nil, &deviceError{".type", fmt.Errorf("unknown device type %q, want c, u, b or p", sd.Type)}
	}
	if sd.Path == "" {
		return nil, &deviceError{".path", errors.New("missing")}
	}
	if !filepath.IsAbs(sd.Path) {
		return nil, &deviceError{".path", fmt.Errorf("%q is not an absolute path", sd.Path)}
	}
	if sd.Major < 0 || sd.Minor < 0 {
		return nil, &deviceError{"", fmt.Errorf("negative device number %d:%d", sd.Major, sd.Minor)}
	}
	d := &configs.Device{
		DeviceRule: configs.DeviceRule{Type: t, Major: sd.Major, Minor: sd.Minor},
		Path:       filepath.Clean(sd.Path),
		FileMode:   0o666,
	}
	if sd.FileMode != nil {
		// The spec's fileMode may carry the S_IFMT type bits of
		// stat(2); the node type comes from "type" instead.
		d.FileMode = *sd.FileMode &^ os.FileMode(unix.S_IFMT)
	}
	if sd.UID != nil {
		d.UID = *sd.UID
	}
	if sd.GID != nil {
		d.GID = *sd.GID
	}
	return d, nil
}

// convertDeviceRules converts linux.resources.devices. An empty type or a
// missing major or minor means "any".
func convertDeviceRules(in []specs.LinuxDeviceCgroup) ([]*configs.DeviceRule, error) {
	var rules []*configs.DeviceRule
	for i, d := range in {
		field := fmt.Sprintf("linux.resources.devices[%d]", i)
		r := &configs.DeviceRule{
			Type:        configs.WildcardDevice,
			Major:       configs.Wildcard,
			Minor:       configs.Wildcard,
			Permissions: d.Access,
			Allow:       d.Allow,
		}
		switch d.Type {
		case "", "a":
		case "b":
			r.Type = configs.BlockDevice
		case "c":
			r.Type = configs.CharDevice
		default:
			return nil, &configs.FieldError{Field: field + ".type", Err: fmt.Errorf("invalid cgroup device type %q, want a, b or c", d.Type)}
		}
		if d.Access == "" {
			return nil, &configs.FieldError{Field: field + ".access", Err: errors.New("cannot be empty")}
		}
		if d.Major != nil {
			r.Major = *d.Major
		}
		if d.Minor != nil {
			r.Minor = *d.Minor
		}
		rules = append(rules, r)
	}
	return rules, nil
}
