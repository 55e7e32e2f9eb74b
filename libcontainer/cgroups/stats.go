package cgroups

// Stats are a cgroup's usage counters, read from its interface files by
// Manager.GetStats. The shape is runc's (libcontainer/cgroups.Stats), so
// that `berth events` reports what runc reports; a field this host's
// cgroup version or controllers cannot fill stays zero.
type Stats struct {
	CPUStats    CPUStats    `json:"cpu_stats"`
	CPUSetStats CPUSetStats `json:"cpuset_stats"`
	MemoryStats MemoryStats `json:"memory_stats"`
	PidsStats   PidsStats   `json:"pids_stats"`
	BlkioStats  BlkioStats  `json:"blkio_stats"`
	// HugetlbStats are by page size ("2MB", "1GB").
	HugetlbStats map[string]HugetlbStats `json:"hugetlb_stats,omitempty"`
	RdmaStats    RdmaStats               `json:"rdma_stats"`
	// MiscStats are the misc controller's resources by name (v2).
	MiscStats map[string]MiscStats `json:"misc_stats,omitempty"`
}

// CPUStats are cpuacct (v1) or cpu.stat (v2) counters.
type CPUStats struct {
	CPUUsage       CPUUsage       `json:"cpu_usage"`
	ThrottlingData ThrottlingData `json:"throttling_data"`
	// PSI is the cpu pressure (v2, with CONFIG_PSI).
	PSI *PSIStats `json:"psi,omitempty"`
}

// CPUUsage is CPU time in nanoseconds.
type CPUUsage struct {
	// TotalUsage is the total CPU time consumed.
	TotalUsage uint64 `json:"total_usage"`
	// PercpuUsage is the total per CPU (v1 only).
	PercpuUsage []uint64 `json:"percpu_usage,omitempty"`
	// PercpuUsageInKernelmode and PercpuUsageInUsermode split it (v1).
	PercpuUsageInKernelmode []uint64 `json:"percpu_usage_in_kernelmode,omitempty"`
	PercpuUsageInUsermode   []uint64 `json:"percpu_usage_in_usermode,omitempty"`
	// UsageInKernelmode and UsageInUsermode are the system and user time.
	UsageInKernelmode uint64 `json:"usage_in_kernelmode"`
	UsageInUsermode   uint64 `json:"usage_in_usermode"`
}

// ThrottlingData are the CFS bandwidth counters.
type ThrottlingData struct {
	// Periods is the number of enforcement intervals that have elapsed.
	Periods uint64 `json:"periods,omitempty"`
	// ThrottledPeriods is the number of them in which the cgroup was throttled.
	ThrottledPeriods uint64 `json:"throttled_periods,omitempty"`
	// ThrottledTime is the total time throttled, in nanoseconds.
	ThrottledTime uint64 `json:"throttled_time,omitempty"`
}

// CPUSetStats are the cpuset controller's effective and configured sets,
// as lists of CPU and memory node numbers.
type CPUSetStats struct {
	CPUs         []uint16 `json:"cpus,omitempty"`
	Mems         []uint16 `json:"mems,omitempty"`
	CPUExclusive uint64   `json:"cpu_exclusive"`
	MemExclusive uint64   `json:"mem_exclusive"`
}

// MemoryData is one memory counter with its peak, failure count and limit,
// in bytes.
type MemoryData struct {
	Usage    uint64 `json:"usage,omitempty"`
	MaxUsage uint64 `json:"max_usage,omitempty"`
	Failcnt  uint64 `json:"failcnt"`
	Limit    uint64 `json:"limit"`
}

// MemoryStats are the memory controller's counters.
type MemoryStats struct {
	// Cache is the page cache in bytes.
	Cache uint64 `json:"cache,omitempty"`
	// Usage is memory (v1 memory.usage_in_bytes, v2 memory.current).
	Usage MemoryData `json:"usage,omitempty"`
	// SwapUsage is memory+swap on both versions, as runc reports (v2 adds its
	// separate memory and swap counters).
	SwapUsage MemoryData `json:"swap_usage,omitempty"`
	// SwapOnlyUsage is swap alone (v2).
	SwapOnlyUsage MemoryData `json:"swap_only_usage,omitempty"`
	// KernelUsage and KernelTCPUsage are v1's kmem counters.
	KernelUsage    MemoryData `json:"kernel_usage,omitempty"`
	KernelTCPUsage MemoryData `json:"kernel_tcp_usage,omitempty"`
	// Stats is memory.stat, by key.
	Stats map[string]uint64 `json:"stats,omitempty"`
	// UseHierarchy is v1's memory.use_hierarchy.
	UseHierarchy bool `json:"use_hierarchy"`
	// PSI is the memory pressure (v2).
	PSI *PSIStats `json:"psi,omitempty"`
}

// PidsStats are the pids controller's counters.
type PidsStats struct {
	// Current is the number of tasks in the cgroup.
	Current uint64 `json:"current,omitempty"`
	// Limit is pids.max; 0 means "max".
	Limit uint64 `json:"limit,omitempty"`
}

// BlkioStatEntry is one per-device block I/O counter.
type BlkioStatEntry struct {
	Major uint64 `json:"major,omitempty"`
	Minor uint64 `json:"minor,omitempty"`
	// Op is "Read", "Write", "Sync", "Async", "Discard" or "Total"; empty
	// for counters without operations.
	Op    string `json:"op,omitempty"`
	Value uint64 `json:"value,omitempty"`
}

// BlkioStats are the block I/O counters (v1 blkio, v2 io.stat).
type BlkioStats struct {
	IoServiceBytesRecursive []BlkioStatEntry `json:"io_service_bytes_recursive,omitempty"`
	IoServicedRecursive     []BlkioStatEntry `json:"io_serviced_recursive,omitempty"`
	IoQueuedRecursive       []BlkioStatEntry `json:"io_queue_recursive,omitempty"`
	IoServiceTimeRecursive  []BlkioStatEntry `json:"io_service_time_recursive,omitempty"`
	IoWaitTimeRecursive     []BlkioStatEntry `json:"io_wait_time_recursive,omitempty"`
	IoMergedRecursive       []BlkioStatEntry `json:"io_merged_recursive,omitempty"`
	IoTimeRecursive         []BlkioStatEntry `json:"io_time_recursive,omitempty"`
	SectorsRecursive        []BlkioStatEntry `json:"sectors_recursive,omitempty"`
	// PSI is the I/O pressure (v2).
	PSI *PSIStats `json:"psi,omitempty"`
}

// HugetlbStats are one huge page size's counters, in bytes.
type HugetlbStats struct {
	Usage    uint64 `json:"usage,omitempty"`
	MaxUsage uint64 `json:"max_usage,omitempty"`
	Failcnt  uint64 `json:"failcnt"`
}

// RdmaEntry is one RDMA device's handles and objects.
type RdmaEntry struct {
	Device     string `json:"device,omitempty"`
	HcaHandles uint32 `json:"hca_handles,omitempty"`
	HcaObjects uint32 `json:"hca_objects,omitempty"`
}

// RdmaStats are the rdma controller's current use and limits.
type RdmaStats struct {
	RdmaLimit   []RdmaEntry `json:"rdma_limit,omitempty"`
	RdmaCurrent []RdmaEntry `json:"rdma_current,omitempty"`
}

// MiscStats are one misc resource's use and events.
type MiscStats struct {
	Usage  uint64 `json:"usage,omitempty"`
	Events uint64 `json:"events,omitempty"`
}

// PSIData is one line of a pressure file: averages over 10, 60 and 300
// seconds (percent) and the total stall time (microseconds).
type PSIData struct {
	Avg10  float64 `json:"avg10"`
	Avg60  float64 `json:"avg60"`
	Avg300 float64 `json:"avg300"`
	Total  uint64  `json:"total"`
}

// PSIStats are a pressure file's "some" and "full" lines.
type PSIStats struct {
	Some PSIData `json:"some,omitempty"`
	Full PSIData `json:"full,omitempty"`
}
