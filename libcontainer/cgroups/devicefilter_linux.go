package cgroups

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
)

// deviceFilterName is the kernel name of berth's device filters. A later Set
// (from this process or another one, such as `berth update`) finds the filter
// to replace by this name among the programs attached to the cgroup, and
// leaves device programs that others attached there alone.
const deviceFilterName = "berth_devices"

// setDeviceFilter makes rules the device policy of the cgroup v2 directory
// dir. It loads the filter and attaches it with BPF_F_ALLOW_MULTI, then
// detaches the filters berth attached before: replacing the one old filter in
// a single BPF_PROG_ATTACH (BPF_F_REPLACE, kernel 5.6), or, when there are
// several, detaching them after the new one is in place. Either way the cgroup
// is never without a filter, and while two are attached a device must pass
// both. Rules that allow every device need no filter: the old ones are
// detached.
//
// The kernel detaches the programs when the cgroup is removed, so Destroy has
// nothing to undo.
func setDeviceFilter(dir string, rules []*configs.DeviceRule) error {
	err := replaceDeviceFilter(dir, rules)
	var verr *ebpf.VerifierError
	if errors.Is(err, unix.EPERM) && !errors.As(err, &verr) {
		// Since Linux 5.11 eBPF memory is charged to the memory cgroup,
		// not to RLIMIT_MEMLOCK: EPERM means a missing capability, as
		// for root in a user namespace.
		return fmt.Errorf("%w (a cgroup device filter needs CAP_SYS_ADMIN, or CAP_BPF and CAP_NET_ADMIN since Linux 5.8; RLIMIT_MEMLOCK matters only before Linux 5.11)", err)
	}
	return err
}

// replaceDeviceFilter is setDeviceFilter without the hint on EPERM.
func replaceDeviceFilter(dir string, rules []*configs.DeviceRule) error {
	p, err := targetPolicy(rules)
	if err != nil {
		return fmt.Errorf("device rules: %w", err)
	}
	insns, err := deviceFilter(p)
	if err != nil {
		return fmt.Errorf("device rules: %w", err)
	}
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("device filter: %w", &os.PathError{Op: "open", Path: dir, Err: err})
	}
	defer unix.Close(fd)

	old, err := attachedDeviceFilters(fd)
	if err != nil {
		return fmt.Errorf("device filter of %s: %w", dir, err)
	}
	defer closePrograms(old)
	if insns == nil {
		return detachDeviceFilters(dir, fd, old)
	}
	prog, err := loadDeviceFilter(insns)
	if err != nil {
		return fmt.Errorf("device filter of %s: %w", dir, err)
	}
	// The attachment holds its own reference to the program.
	defer prog.Close()

	attach := link.RawAttachProgramOptions{
		Target:  fd,
		Program: prog,
		Attach:  ebpf.AttachCGroupDevice,
		Flags:   unix.BPF_F_ALLOW_MULTI,
	}
	if len(old) == 1 {
		attach.Anchor = link.ReplaceProgram(old[0])
		err := link.RawAttachProgram(attach)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("replace device filter of %s: %w", dir, err)
		}
		// Another process detached it meanwhile: attach beside whatever
		// is there now, and detach the old one below (it may be gone).
		attach.Anchor = nil
	}
	if err := link.RawAttachProgram(attach); err != nil {
		return fmt.Errorf("attach device filter to %s: %w", dir, err)
	}
	return detachDeviceFilters(dir, fd, old)
}

// loadDeviceFilter loads insns as a cgroup device program.
func loadDeviceFilter(insns asm.Instructions) (*ebpf.Program, error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         deviceFilterName,
		Type:         ebpf.CGroupDevice,
		AttachType:   ebpf.AttachCGroupDevice,
		Instructions: insns,
		// The kernel only checks the license for GPL-only helpers, which
		// the filter does not call.
		License: "Apache-2.0",
	})
	var verr *ebpf.VerifierError
	if errors.Is(err, unix.EPERM) && !errors.As(err, &verr) {
		// Refused before the verifier ran: drop the library's hint,
		// which blames RLIMIT_MEMLOCK (see setDeviceFilter).
		return nil, fmt.Errorf("load eBPF program: %w", unix.EPERM)
	}
	if err != nil {
		return nil, fmt.Errorf("load eBPF program: %w", err)
	}
	return prog, nil
}

// attachedDeviceFilters returns berth's device filters attached to the cgroup
// fd itself (not those inherited from its ancestors). The caller closes them.
func attachedDeviceFilters(fd int) ([]*ebpf.Program, error) {
	ids, err := queryDevicePrograms(fd)
	if err != nil {
		return nil, err
	}
	var progs []*ebpf.Program
	for _, id := range ids {
		prog, err := ebpf.NewProgramFromID(id)
		if errors.Is(err, unix.ENOENT) {
			continue // detached and freed since the query
		}
		if err != nil {
			closePrograms(progs)
			return nil, fmt.Errorf("open program %d: %w", id, err)
		}
		info, err := prog.Info()
		if err != nil {
			prog.Close()
			closePrograms(progs)
			return nil, fmt.Errorf("program %d info: %w", id, err)
		}
		if info.Name != deviceFilterName {
			prog.Close()
			continue
		}
		progs = append(progs, prog)
	}
	return progs, nil
}

// bpfCgroupMaxProgs is BPF_CGROUP_MAX_PROGS (kernel/bpf/cgroup.c): a cgroup
// holds at most this many programs of one attach type.
const bpfCgroupMaxProgs = 64

// bpfProgQueryAttr is the start of union bpf_attr for BPF_PROG_QUERY
// (include/uapi/linux/bpf.h); the kernel zero-fills the fields after it.
type bpfProgQueryAttr struct {
	targetFD    uint32
	attachType  uint32
	queryFlags  uint32
	attachFlags uint32
	progIDs     uint64
	progCount   uint32
	_           uint32
}

// queryDevicePrograms returns the ids of the device programs attached to the
// cgroup fd itself, with one BPF_PROG_QUERY. It makes the system call itself
// rather than through link.QueryPrograms, which reports any failure, EPERM
// included, as ErrNotSupported when its feature probe fails too, as it does
// without privilege: this is the first bpf(2) call of setDeviceFilter, and a
// caller without privilege must get EPERM (a rootless manager ignores it).
func queryDevicePrograms(fd int) ([]ebpf.ProgramID, error) {
	ids := make([]uint32, bpfCgroupMaxProgs)
	attr := bpfProgQueryAttr{
		targetFD:   uint32(fd),
		attachType: unix.BPF_CGROUP_DEVICE,
		progIDs:    uint64(uintptr(unsafe.Pointer(&ids[0]))),
		progCount:  uint32(len(ids)),
	}
	_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_QUERY, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(ids)
	if errno != 0 {
		return nil, fmt.Errorf("query attached programs: %w", errno)
	}
	out := make([]ebpf.ProgramID, min(int(attr.progCount), len(ids)))
	for i := range out {
		out[i] = ebpf.ProgramID(ids[i])
	}
	return out, nil
}

// detachDeviceFilters detaches progs from the cgroup fd (of dir). A program
// that is no longer attached is not an error: another process replaced it.
func detachDeviceFilters(dir string, fd int, progs []*ebpf.Program) error {
	for _, prog := range progs {
		err := link.RawDetachProgram(link.RawDetachProgramOptions{
			Target:  fd,
			Program: prog,
			Attach:  ebpf.AttachCGroupDevice,
		})
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("detach old device filter from %s: %w", dir, err)
		}
	}
	return nil
}

func closePrograms(progs []*ebpf.Program) {
	for _, p := range progs {
		p.Close()
	}
}
