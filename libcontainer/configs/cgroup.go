package configs

// Cgroup says where the container's cgroup is and what limits it has.
type Cgroup struct {
	// Name and Parent are used when Path is empty: the cgroup is
	// Parent/Name.
	Name   string `json:"name,omitempty"`
	Parent string `json:"parent,omitempty"`
	// Path is the cgroup path, absolute from each hierarchy's root, or
	// relative to the caller's own cgroup.
	Path string `json:"path"`
	// ScopePrefix is the systemd driver's unit prefix.
	ScopePrefix string `json:"scope_prefix,omitempty"`
	// Systemd selects the systemd driver.
	Systemd bool `json:"systemd,omitempty"`
	// Rootless makes permission errors non-fatal.
	Rootless bool `json:"rootless,omitempty"`
	// Resources are the limits applied to the cgroup.
	*Resources `json:"resources,omitempty"`
}

// Resources are a cgroup's limits, with OCI semantics: zero means unset
// unless the field's comment says otherwise.
type Resources struct {
	// Devices are the device rules, applied in order.
	Devices []*DeviceRule `json:"devices,omitempty"`
	// SkipDevices leaves the device controller alone.
	SkipDevices bool `json:"skip_devices,omitempty"`

	Memory                  int64   `json:"memory,omitempty"`
	MemoryReservation       int64   `json:"memory_reservation,omitempty"`
	MemorySwap              int64   `json:"memory_swap,omitempty"`
	MemorySwappiness        *uint64 `json:"memory_swappiness,omitempty"`
	OomKillDisable          bool    `json:"oom_kill_disable,omitempty"`
	MemoryCheckBeforeUpdate bool    `json:"memory_check_before_update,omitempty"`

	CPUShares    uint64  `json:"cpu_shares,omitempty"`
	CPUQuota     int64   `json:"cpu_quota,omitempty"`
	CPUPeriod    uint64  `json:"cpu_period,omitempty"`
	CPUBurst     *uint64 `json:"cpu_burst,omitempty"`
	CPURtRuntime int64   `json:"cpu_rt_quota,omitempty"`
	CPURtPeriod  uint64  `json:"cpu_rt_period,omitempty"`
	CPUIdle      *int64  `json:"cpu_idle,omitempty"`
	CpusetCpus   string  `json:"cpuset_cpus,omitempty"`
	CpusetMems   string  `json:"cpuset_mems,omitempty"`

	// PidsLimit is the OCI pids limit: nil unset, -1 unlimited, and 0 a
	// real limit (runc 1.4 and later).
	PidsLimit *int64 `json:"pids_limit,omitempty"`

	BlkioWeight                  uint16            `json:"blkio_weight,omitempty"`
	BlkioLeafWeight              uint16            `json:"blkio_leaf_weight,omitempty"`
	BlkioWeightDevice            []*WeightDevice   `json:"blkio_weight_device,omitempty"`
	BlkioThrottleReadBpsDevice   []*ThrottleDevice `json:"blkio_throttle_read_bps_device,omitempty"`
	BlkioThrottleWriteBpsDevice  []*ThrottleDevice `json:"blkio_throttle_write_bps_device,omitempty"`
	BlkioThrottleReadIOPSDevice  []*ThrottleDevice `json:"blkio_throttle_read_iops_device,omitempty"`
	BlkioThrottleWriteIOPSDevice []*ThrottleDevice `json:"blkio_throttle_write_iops_device,omitempty"`

	HugetlbLimit []*HugepageLimit `json:"hugetlb_limit,omitempty"`

	NetClsClassid    uint32       `json:"net_cls_classid,omitempty"`
	NetPrioIfpriomap []*IfPrioMap `json:"net_prio_ifpriomap,omitempty"`

	Rdma map[string]RdmaEntry `json:"rdma,omitempty"`

	// Unified are raw cgroup v2 "file": "value" writes.
	Unified map[string]string `json:"unified,omitempty"`
}

// WeightDevice is a per-device I/O weight.
type WeightDevice struct {
	Major      int64  `json:"major"`
	Minor      int64  `json:"minor"`
	Weight     uint16 `json:"weight"`
	LeafWeight uint16 `json:"leafWeight"`
}

// ThrottleDevice is a per-device I/O rate limit.
type ThrottleDevice struct {
	Major int64  `json:"major"`
	Minor int64  `json:"minor"`
	Rate  uint64 `json:"rate"`
}

// HugepageLimit limits one huge page size ("2MB").
type HugepageLimit struct {
	Pagesize string `json:"page_size"`
	Limit    uint64 `json:"limit"`
}

// IfPrioMap is a network priority for one interface.
type IfPrioMap struct {
	Interface string `json:"interface"`
	Priority  int64  `json:"priority"`
}

// RdmaEntry limits one RDMA device.
type RdmaEntry struct {
	HcaHandles *uint32 `json:"hca_handles,omitempty"`
	HcaObjects *uint32 `json:"hca_objects,omitempty"`
}
