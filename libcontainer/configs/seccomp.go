package configs

import "strconv"

// Seccomp is a seccomp filter (linux.seccomp): what the container's
// processes may call, decided by the kernel on every system call. The
// runtime compiles it to a classic BPF program and loads it with
// seccomp(2) just before the process's execve.
type Seccomp struct {
	// DefaultAction applies to a system call that no rule matches.
	DefaultAction Action `json:"default_action"`
	// DefaultErrnoRet is the errno of an Errno or Trace DefaultAction;
	// nil means EPERM.
	DefaultErrnoRet *uint `json:"default_errno_ret,omitempty"`
	// Architectures are the ABIs the filter accepts besides the native
	// one, in libseccomp spelling ("SCMP_ARCH_X86"). A system call made
	// through any other ABI kills the thread.
	Architectures []string `json:"architectures,omitempty"`
	// Flags are seccomp(2) filter flags, in OCI spelling
	// ("SECCOMP_FILTER_FLAG_LOG").
	Flags []string `json:"flags,omitempty"`
	// ListenerPath is the AF_UNIX socket that receives the listener of a
	// filter with Notify rules (linux.seccomp.listenerPath).
	ListenerPath string `json:"listener_path,omitempty"`
	// ListenerMetadata is passed to the listener with the container's
	// state (linux.seccomp.listenerMetadata).
	ListenerMetadata string `json:"listener_metadata,omitempty"`
	// Syscalls are the rules, one system call each, in the spec's order.
	Syscalls []*Syscall `json:"syscalls,omitempty"`
}

// Action is what the filter does with a system call.
type Action int

// The actions of a seccomp rule (SCMP_ACT_*). Kill is KillThread, as in
// libseccomp.
const (
	Kill Action = iota + 1
	Errno
	Trap
	Allow
	Trace
	Log
	Notify
	KillThread
	KillProcess
)

var actionNames = map[Action]string{
	Kill:        "SCMP_ACT_KILL",
	Errno:       "SCMP_ACT_ERRNO",
	Trap:        "SCMP_ACT_TRAP",
	Allow:       "SCMP_ACT_ALLOW",
	Trace:       "SCMP_ACT_TRACE",
	Log:         "SCMP_ACT_LOG",
	Notify:      "SCMP_ACT_NOTIFY",
	KillThread:  "SCMP_ACT_KILL_THREAD",
	KillProcess: "SCMP_ACT_KILL_PROCESS",
}

// String returns the action's OCI name.
func (a Action) String() string { return enumName(actionNames, a, "Action") }

// Valid says whether a is one of the actions above.
func (a Action) Valid() bool { _, ok := actionNames[a]; return ok }

// ActionFromString returns the action of an OCI name ("SCMP_ACT_ERRNO").
func ActionFromString(name string) (Action, bool) { return enumFromName(actionNames, name) }

// Operator compares a system call's argument with a rule's values.
type Operator int

// The comparisons of a rule's argument (SCMP_CMP_*). MaskEqualTo compares
// (arg & Value) with ValueTwo.
const (
	EqualTo Operator = iota + 1
	NotEqualTo
	GreaterThan
	GreaterThanOrEqualTo
	LessThan
	LessThanOrEqualTo
	MaskEqualTo
)

var operatorNames = map[Operator]string{
	EqualTo:              "SCMP_CMP_EQ",
	NotEqualTo:           "SCMP_CMP_NE",
	GreaterThan:          "SCMP_CMP_GT",
	GreaterThanOrEqualTo: "SCMP_CMP_GE",
	LessThan:             "SCMP_CMP_LT",
	LessThanOrEqualTo:    "SCMP_CMP_LE",
	MaskEqualTo:          "SCMP_CMP_MASKED_EQ",
}

// String returns the operator's OCI name.
func (o Operator) String() string { return enumName(operatorNames, o, "Operator") }

// Valid says whether o is one of the operators above.
func (o Operator) Valid() bool { _, ok := operatorNames[o]; return ok }

// OperatorFromString returns the operator of an OCI name ("SCMP_CMP_EQ").
func OperatorFromString(name string) (Operator, bool) { return enumFromName(operatorNames, name) }

// enumName is v's name in names, or typ(v) for a value without one.
func enumName[T ~int](names map[T]string, v T, typ string) string {
	if n, ok := names[v]; ok {
		return n
	}
	return typ + "(" + strconv.Itoa(int(v)) + ")"
}

// enumFromName is the value that names calls name.
func enumFromName[T ~int](names map[T]string, name string) (T, bool) {
	for v, n := range names {
		if n == name {
			return v, true
		}
	}
	return 0, false
}

// Arg is a condition on one argument of a system call.
type Arg struct {
	// Index is the argument's position, 0 to 5.
	Index uint `json:"index"`
	// Value is compared with the argument (the mask for MaskEqualTo).
	Value uint64 `json:"value"`
	// ValueTwo is the value that MaskEqualTo compares with.
	ValueTwo uint64 `json:"value_two,omitempty"`
	// Op is the comparison.
	Op Operator `json:"op"`
}

// Syscall is one rule: a system call, the action taken when its
// arguments match, and the conditions on them. Conditions on different
// arguments must all hold; when two conditions name the same argument,
// each condition is a rule of its own, as runc does.
type Syscall struct {
	// Name is the system call's name ("mkdir"). A name the runtime does
	// not know is skipped.
	Name string `json:"name"`
	// Action is taken when the conditions hold.
	Action Action `json:"action"`
	// ErrnoRet is the errno of an Errno or Trace action; nil means EPERM.
	ErrnoRet *uint `json:"errno_ret,omitempty"`
	// Args are the conditions.
	Args []*Arg `json:"args,omitempty"`
}
