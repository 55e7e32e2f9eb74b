package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/berthrt/berth/libcontainer"
	"github.com/berthrt/berth/libcontainer/cgroups"
)

func eventsCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "events",
		Usage: "display container events such as OOM notifications, cpu, memory, and IO usage statistics",
		ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container.`,
		Description: `The events command displays information about the container. By default the
information is displayed once every 5 seconds.`,
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "set the stats collection interval"},
			&cli.BoolFlag{Name: "stats", Usage: "display the container's stats then exit"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			c, err := loadOne(g, cmd)
			if err != nil {
				return err
			}
			interval := cmd.Duration("interval")
			if interval <= 0 {
				return errors.New("--interval: duration interval must be greater than 0")
			}
			st, err := c.Status()
			if err != nil {
				return err
			}
			if st == libcontainer.Stopped {
				return fmt.Errorf("container with id %s is not running", c.ID())
			}
			enc := json.NewEncoder(os.Stdout)
			if cmd.Bool("stats") {
				s, err := c.Stats()
				if err != nil {
					return err
				}
				return enc.Encode(statsEvent(c.ID(), s))
			}
			return watchEvents(ctx, g, c, interval, enc)
		},
	}
}

// watchEvents prints a stats event every interval and an OOM event each
// time the OOM killer acts, until the container is deleted (its cgroup is
// removed) or ctx is done. A failed stats read is logged and the watch goes
// on, as runc does.
func watchEvents(ctx context.Context, g *globals, c *libcontainer.Container, interval time.Duration, enc *json.Encoder) error {
	oom, err := c.NotifyOOM()
	if errors.Is(err, errors.ErrUnsupported) {
		g.logger.Warn("OOM events are not reported: " + err.Error())
	} else if err != nil {
		return err
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-oom:
			if !ok {
				return nil // the cgroup is gone
			}
			if err := enc.Encode(&event{Type: "oom", ID: c.ID()}); err != nil {
				return err
			}
		case <-tick.C:
			// Reload: a deleted container ends the watch even where no
			// OOM channel reports its cgroup's removal.
			cur, err := libcontainer.Load(g.root, c.ID(), libcontainer.WithLogger(g.logger))
			if errors.Is(err, libcontainer.ErrNotExist) {
				return nil
			}
			if err != nil {
				g.logger.Error(err.Error())
				continue
			}
			s, err := cur.Stats()
			if err != nil {
				g.logger.Error(err.Error())
				continue
			}
			if err := enc.Encode(statsEvent(c.ID(), s)); err != nil {
				return err
			}
		}
	}
}

// event is one JSON line of berth events: {"type":"stats"|"oom","id":...,
// "data":...}, as runc prints it.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// The types below give berth events the JSON shape of runc's
// (types/events.go in runc), which containerd and other tools decode.
// They are distinct from cgroups.Stats, whose keys follow runc's
// libcontainer instead.

// eventStats is the data of a stats event.
type eventStats struct {
	CPU     eventCPU                `json:"cpu"`
	CPUSet  eventCPUSet             `json:"cpuset"`
	Memory  eventMemory             `json:"memory"`
	Pids    eventPids               `json:"pids"`
	Blkio   eventBlkio              `json:"blkio"`
	Hugetlb map[string]eventHugetlb `json:"hugetlb"`
}

// eventCPU is CPU time and CFS throttling.
type eventCPU struct {
	Usage      eventCPUUsage      `json:"usage"`
	Throttling eventCPUThrottling `json:"throttling"`
	PSI        *cgroups.PSIStats  `json:"psi,omitempty"`
}

// eventCPUUsage is CPU time in nanoseconds, in total, per CPU and by mode.
type eventCPUUsage struct {
	Total        uint64   `json:"total,omitempty"`
	Percpu       []uint64 `json:"percpu,omitempty"`
	PercpuKernel []uint64 `json:"percpu_kernel,omitempty"`
	PercpuUser   []uint64 `json:"percpu_user,omitempty"`
	Kernel       uint64   `json:"kernel"`
	User         uint64   `json:"user"`
}

// eventCPUThrottling are the CFS bandwidth counters.
type eventCPUThrottling struct {
	Periods          uint64 `json:"periods,omitempty"`
	ThrottledPeriods uint64 `json:"throttledPeriods,omitempty"`
	ThrottledTime    uint64 `json:"throttledTime,omitempty"`
}

// eventCPUSet are the cpuset controller's sets and flags.
type eventCPUSet struct {
	CPUs         []uint16 `json:"cpus,omitempty"`
	CPUExclusive uint64   `json:"cpu_exclusive"`
	Mems         []uint16 `json:"mems,omitempty"`
	MemExclusive uint64   `json:"mem_exclusive"`
}

// eventMemory are the memory controller's counters.
type eventMemory struct {
	Cache     uint64            `json:"cache,omitempty"`
	Usage     eventMemoryEntry  `json:"usage"`
	Swap      eventMemoryEntry  `json:"swap"`
	Kernel    eventMemoryEntry  `json:"kernel"`
	KernelTCP eventMemoryEntry  `json:"kernelTCP"`
	Raw       map[string]uint64 `json:"raw,omitempty"`
	PSI       *cgroups.PSIStats `json:"psi,omitempty"`
}

// eventMemoryEntry is one memory counter, in bytes.
type eventMemoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// eventPids are the pids controller's counters.
type eventPids struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

// eventBlkio are the block I/O counters.
type eventBlkio struct {
	IoServiceBytesRecursive []eventBlkioEntry `json:"ioServiceBytesRecursive,omitempty"`
	IoServicedRecursive     []eventBlkioEntry `json:"ioServicedRecursive,omitempty"`
	IoQueuedRecursive       []eventBlkioEntry `json:"ioQueueRecursive,omitempty"`
	IoServiceTimeRecursive  []eventBlkioEntry `json:"ioServiceTimeRecursive,omitempty"`
	IoWaitTimeRecursive     []eventBlkioEntry `json:"ioWaitTimeRecursive,omitempty"`
	IoMergedRecursive       []eventBlkioEntry `json:"ioMergedRecursive,omitempty"`
	IoTimeRecursive         []eventBlkioEntry `json:"ioTimeRecursive,omitempty"`
	SectorsRecursive        []eventBlkioEntry `json:"sectorsRecursive,omitempty"`
	PSI                     *cgroups.PSIStats `json:"psi,omitempty"`
}

// eventBlkioEntry is one per-device block I/O counter.
type eventBlkioEntry struct {
	Major uint64 `json:"major,omitempty"`
	Minor uint64 `json:"minor,omitempty"`
	Op    string `json:"op,omitempty"`
	Value uint64 `json:"value,omitempty"`
}

// eventHugetlb is one huge page size's counters, in bytes.
type eventHugetlb struct {
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// statsEvent makes the stats event of container id.
func statsEvent(id string, s *libcontainer.Stats) *event {
	e := &event{Type: "stats", ID: id}
	if s != nil && s.CgroupStats != nil {
		e.Data = convertStats(s.CgroupStats)
	}
	return e
}

func convertStats(cg *cgroups.Stats) *eventStats {
	cpu := &cg.CPUStats
	mem := &cg.MemoryStats
	s := &eventStats{
		CPU: eventCPU{
			Usage: eventCPUUsage{
				Total:        cpu.CPUUsage.TotalUsage,
				Percpu:       cpu.CPUUsage.PercpuUsage,
				PercpuKernel: cpu.CPUUsage.PercpuUsageInKernelmode,
				PercpuUser:   cpu.CPUUsage.PercpuUsageInUsermode,
				Kernel:       cpu.CPUUsage.UsageInKernelmode,
				User:         cpu.CPUUsage.UsageInUsermode,
			},
			Throttling: eventCPUThrottling(cpu.ThrottlingData),
			PSI:        cpu.PSI,
		},
		CPUSet: eventCPUSet{
			CPUs:         cg.CPUSetStats.CPUs,
			CPUExclusive: cg.CPUSetStats.CPUExclusive,
			Mems:         cg.CPUSetStats.Mems,
			MemExclusive: cg.CPUSetStats.MemExclusive,
		},
		Memory: eventMemory{
			Cache:     mem.Cache,
			Usage:     convertMemoryData(mem.Usage),
			Swap:      convertMemoryData(mem.SwapUsage),
			Kernel:    convertMemoryData(mem.KernelUsage),
			KernelTCP: convertMemoryData(mem.KernelTCPUsage),
			Raw:       mem.Stats,
			PSI:       mem.PSI,
		},
		Pids: eventPids(cg.PidsStats),
		Blkio: eventBlkio{
			IoServiceBytesRecursive: convertBlkio(cg.BlkioStats.IoServiceBytesRecursive),
			IoServicedRecursive:     convertBlkio(cg.BlkioStats.IoServicedRecursive),
			IoQueuedRecursive:       convertBlkio(cg.BlkioStats.IoQueuedRecursive),
			IoServiceTimeRecursive:  convertBlkio(cg.BlkioStats.IoServiceTimeRecursive),
			IoWaitTimeRecursive:     convertBlkio(cg.BlkioStats.IoWaitTimeRecursive),
			IoMergedRecursive:       convertBlkio(cg.BlkioStats.IoMergedRecursive),
			IoTimeRecursive:         convertBlkio(cg.BlkioStats.IoTimeRecursive),
			SectorsRecursive:        convertBlkio(cg.BlkioStats.SectorsRecursive),
			PSI:                     cg.BlkioStats.PSI,
		},
		// Always an object, "{}" when empty, as runc prints it.
		Hugetlb: make(map[string]eventHugetlb, len(cg.HugetlbStats)),
	}
	for size, h := range cg.HugetlbStats {
		s.Hugetlb[size] = eventHugetlb{Usage: h.Usage, Max: h.MaxUsage, Failcnt: h.Failcnt}
	}
	return s
}

func convertMemoryData(d cgroups.MemoryData) eventMemoryEntry {
	return eventMemoryEntry{Limit: d.Limit, Usage: d.Usage, Max: d.MaxUsage, Failcnt: d.Failcnt}
}

func convertBlkio(in []cgroups.BlkioStatEntry) []eventBlkioEntry {
	if len(in) == 0 {
		return nil
	}
	out := make([]eventBlkioEntry, len(in))
	for i, e := range in {
		out[i] = eventBlkioEntry(e)
	}
	return out
}
