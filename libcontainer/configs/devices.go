package configs

import "os"

// DeviceType is the kind of a device: 'c' char, 'b' block, 'p' fifo,
// 'a' all (rules only).
type DeviceType rune

// The device kinds.
const (
	WildcardDevice DeviceType = 'a'
	BlockDevice    DeviceType = 'b'
	CharDevice     DeviceType = 'c'
	FifoDevice     DeviceType = 'p'
)

// Wildcard matches any major or minor number in a DeviceRule.
const Wildcard int64 = -1

// DeviceRule is one device cgroup rule. The cgroup drivers turn rules into
// devices.allow/deny writes (v1) or an eBPF program (v2).
type DeviceRule struct {
	Type        DeviceType `json:"type"`
	Major       int64      `json:"major"`
	Minor       int64      `json:"minor"`
	Permissions string     `json:"permissions"`
	Allow       bool       `json:"allow"`
}

// Device is a device node to create in the container, with the cgroup rule
// that lets the container use it.
type Device struct {
	DeviceRule
	// Path is the node's absolute path inside the container.
	Path string `json:"path"`
	// FileMode is the node's permission bits.
	FileMode os.FileMode `json:"file_mode"`
	// UID owns the node (a container uid).
	UID uint32 `json:"uid"`
	// GID owns the node (a container gid).
	GID uint32 `json:"gid"`
}

// DeviceRules returns the cgroup rules of devs, in order: what
// Resources.Devices needs to let a container use the nodes it gets.
func DeviceRules(devs []*Device) []*DeviceRule {
	rules := make([]*DeviceRule, len(devs))
	for i, d := range devs {
		r := d.DeviceRule
		rules[i] = &r
	}
	return rules
}
