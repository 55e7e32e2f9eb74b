package seccomp

import "sync"

//go:generate go run ./internal/gentables -o ztables.go

// sysEntry is a system call of a table in ztables.go: its number and name.
type sysEntry struct {
	nr   uint32
	name string
}

// Audit architectures (linux/audit.h): the arch field of seccomp_data.
const (
	auditArchX86_64 = 0xc000003e
	auditArchI386   = 0x40000003
)

// x32Bit marks an x32 system call (__X32_SYSCALL_BIT): x32 processes run
// on the x86_64 audit architecture.
const x32Bit = 0x40000000

// abi is one system call ABI the filter can match.
type abi struct {
	// name is libseccomp's (SCMP_ARCH_X86_64).
	name string
	// audit is the seccomp_data.arch the kernel reports for it.
	audit uint32
	// bits32 compares only the low 32 bits of arguments, as libseccomp
	// does for a 32-bit ABI, whose arguments have no high half.
	bits32 bool
	// x32 says the ABI's system call numbers carry x32Bit.
	x32 bool
	// numbers maps a system call's name to its number.
	numbers map[string]uint32
}

// abis are the ABIs an amd64 kernel runs, keyed by libseccomp's name,
// built once from the tables.
var abis = sync.OnceValue(func() map[string]*abi {
	return map[string]*abi{
		"SCMP_ARCH_X86_64": {name: "SCMP_ARCH_X86_64", audit: auditArchX86_64, numbers: numbers(tableX86_64[:], 0)},
		"SCMP_ARCH_X86":    {name: "SCMP_ARCH_X86", audit: auditArchI386, bits32: true, numbers: numbers(tableI386[:], 0)},
		"SCMP_ARCH_X32":    {name: "SCMP_ARCH_X32", audit: auditArchX86_64, bits32: true, x32: true, numbers: x32Numbers()},
	}
})

// x32Numbers is the x32 table without the system calls that
// arch/x86/entry/syscalls/syscall_64.tbl gives to the 64-bit ABI only
// (no x32 entry): the kernel refuses them to x32 processes, and
// libseccomp does not know them on x32.
func x32Numbers() map[string]uint32 {
	m := numbers(tableX32[:], x32Bit)
	for _, name := range []string{
		"_sysctl", "create_module", "epoll_ctl_old", "epoll_wait_old",
		"get_kernel_syms", "get_thread_area", "map_shadow_stack", "nfsservctl",
		"query_module", "set_thread_area", "uselib", "vserver",
	} {
		delete(m, name)
	}
	return m
}

// Multiplexers of the x86 ABI: socketcall(2) and ipc(2) take the number
// of a socket or System V IPC call as their first argument.
const (
	nrSocketcallX86 = 102
	nrIPCX86        = 117
)

// muxX86 gives the multiplexer and call number of a system call that an
// x86 process can also make through socketcall(2) or ipc(2)
// (linux/net.h SYS_*, linux/ipc.h). libseccomp turns a rule on such a
// call into a rule on the multiplexer too, whose first argument is the
// call number (the call's own conditions on argument 0 give way to it,
// the others are kept as they are).
var muxX86 = map[string][2]uint32{
	"socket": {nrSocketcallX86, 1}, "bind": {nrSocketcallX86, 2}, "connect": {nrSocketcallX86, 3},
	"listen": {nrSocketcallX86, 4}, "accept": {nrSocketcallX86, 5}, "getsockname": {nrSocketcallX86, 6},
	"getpeername": {nrSocketcallX86, 7}, "socketpair": {nrSocketcallX86, 8}, "send": {nrSocketcallX86, 9},
	"recv": {nrSocketcallX86, 10}, "sendto": {nrSocketcallX86, 11}, "recvfrom": {nrSocketcallX86, 12},
	"shutdown": {nrSocketcallX86, 13}, "setsockopt": {nrSocketcallX86, 14}, "getsockopt": {nrSocketcallX86, 15},
	"sendmsg": {nrSocketcallX86, 16}, "recvmsg": {nrSocketcallX86, 17}, "accept4": {nrSocketcallX86, 18},
	"recvmmsg": {nrSocketcallX86, 19}, "sendmmsg": {nrSocketcallX86, 20},
	"semop": {nrIPCX86, 1}, "semget": {nrIPCX86, 2}, "semctl": {nrIPCX86, 3}, "semtimedop": {nrIPCX86, 4},
	"msgsnd": {nrIPCX86, 11}, "msgrcv": {nrIPCX86, 12}, "msgget": {nrIPCX86, 13}, "msgctl": {nrIPCX86, 14},
	"shmat": {nrIPCX86, 21}, "shmdt": {nrIPCX86, 22}, "shmget": {nrIPCX86, 23}, "shmctl": {nrIPCX86, 24},
}

// numbers inverts a number-to-name table. A name listed twice is an x32
// system call that has an x32-only entry (512 and up) besides the x86_64
// one it must not use: the higher number wins.
func numbers(table []sysEntry, bit uint32) map[string]uint32 {
	out := make(map[string]uint32, len(table))
	for _, e := range table {
		if old, ok := out[e.name]; !ok || e.nr|bit > old {
			out[e.name] = e.nr | bit
		}
	}
	return out
}

// nativeABI is the ABI of this host (the runtime is built for amd64).
const nativeABI = "SCMP_ARCH_X86_64"

// lookupABI returns the ABI of a libseccomp architecture name
// (SCMP_ARCH_NATIVE is the host's), or nil for an architecture this host
// cannot run.
func lookupABI(name string) *abi {
	if name == "SCMP_ARCH_NATIVE" {
		name = nativeABI
	}
	return abis()[name]
}

// SyscallNumber returns the number of a system call on an architecture
// (libseccomp spelling); ok is false when either is unknown.
func SyscallNumber(archName, name string) (nr uint32, ok bool) {
	a := lookupABI(archName)
	if a == nil {
		return 0, false
	}
	nr, ok = a.numbers[name]
	return nr, ok
}

// knownName says whether an ABI of this host has the system call. A name
// another ABI has is used there only (waitpid is x86's): libseccomp
// resolves it to a pseudo number that each ABI translates, or drops.
func knownName(name string) bool {
	for _, a := range abis() {
		if _, ok := a.numbers[name]; ok {
			return true
		}
	}
	_, ok := muxX86[name]
	return ok
}
