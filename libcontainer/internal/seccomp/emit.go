package seccomp

import (
	"maps"
	"slices"

	"github.com/berthrt/berth/libcontainer/configs"
)

// emitFilter emits the filter proper, laid out as libseccomp lays out
// its decisions: the architecture, then the system call number, then the
// rules of that system call, in the order they were added.
//
//	ld arch; jeq AUDIT_ARCH_X86_64 → x86_64; jeq AUDIT_ARCH_I386 → x86; ret KILL
//	x86_64: ld nr; jge X32_BIT → x32 (or KILL without x32); jeq nr → rules…; ret default
//	x32, x86: ld nr; jeq nr → rules…; ret default
//	rules: ld arg; compare…; ret action   (a failed compare tries the next rule)
func emitFilter(asm *assembler, filterABIs []*abi, rules map[*abi]map[uint32][]rule, def uint32) {
	var amd64, x32, x86 *abi
	for _, a := range filterABIs {
		switch {
		case a.x32:
			x32 = a
		case a.audit == auditArchI386:
			x86 = a
		default:
			amd64 = a
		}
	}
	bad := asm.newLabel()
	lAmd64, lX86 := asm.newLabel(), asm.newLabel()
	asm.load(offArch)
	asm.jmp(bpfJeqK, auditArchX86_64, lAmd64, nil)
	if x86 != nil {
		asm.jmp(bpfJeqK, auditArchI386, lX86, nil)
	}
	asm.place(bad)
	asm.ret(retKillThread)

	asm.place(lAmd64)
	asm.load(offNr)
	lX32 := asm.newLabel()
	asm.jmp(bpfJgeK, x32Bit, lX32, nil)
	emitABI(asm, amd64, rules[amd64], def)
	if x32 == nil {
		// An x32 call on a filter without x32 is of a bad architecture,
		// but for -1, which a tracer sets to skip a call (libseccomp
		// lets it reach the default action).
		asm.place(lX32)
		badX32 := asm.newLabel()
		asm.jmp(bpfJeqK, 0xffffffff, nil, badX32)
		asm.ret(def)
		asm.place(badX32)
		asm.ret(retKillThread)
	}
	if x32 != nil {
		asm.place(lX32)
		emitABI(asm, x32, rules[x32], def)
	}
	if x86 != nil {
		asm.place(lX86)
		asm.load(offNr)
		emitABI(asm, x86, rules[x86], def)
	}
}

// emitABI emits the dispatch on the system call number (in A) and the
// rules of each system call. The dispatch is linear, in blocks: a block's
// system calls jump to the returns and rules placed right after it, so
// that every jump stays short, and a system call whose first rule is
// unconditional shares the return of its action.
func emitABI(asm *assembler, a *abi, rules map[uint32][]rule, def uint32) {
	const blockSize = 200 // instructions, well below the 255 of a short jump
	var (
		rets   map[uint32]*label
		bodies []func()
		size   int
	)
	flush := func() {
		if len(bodies) == 0 && len(rets) == 0 {
			return
		}
		next := asm.newLabel()
		asm.jump(next)
		for _, act := range slices.Sorted(maps.Keys(rets)) {
			asm.place(rets[act])
			asm.ret(act)
		}
		for _, b := range bodies {
			b()
		}
		asm.place(next)
		rets, bodies, size = nil, nil, 0
	}
	for _, nr := range slices.Sorted(maps.Keys(rules)) {
		list := rules[nr]
		if len(list[0].conds) == 0 {
			if rets == nil {
				rets = map[uint32]*label{}
			}
			l, ok := rets[list[0].action]
			if !ok {
				l = asm.newLabel()
				rets[list[0].action] = l
				size++
			}
			asm.jmp(bpfJeqK, nr, l, nil)
			size++
		} else {
			body := asm.newLabel()
			asm.jmp(bpfJeqK, nr, body, nil)
			bodies = append(bodies, func() {
				asm.place(body)
				for _, r := range list {
					next := asm.newLabel()
					for _, c := range r.conds {
						emitCond(asm, a.bits32, c, next)
					}
					asm.ret(r.action)
					asm.place(next)
				}
				asm.ret(def)
			})
			size += 2
			for _, r := range list {
				size += 1 + 8*len(r.conds)
			}
		}
		if size >= blockSize {
			flush()
		}
	}
	flush()
	asm.ret(def)
}

// emitCond emits one argument comparison: it falls through when the
// condition holds and jumps to fail otherwise. A 64-bit argument is
// compared as libseccomp does, high half first; a 32-bit ABI's argument
// has only its low half.
func emitCond(asm *assembler, bits32 bool, c configs.Arg, fail *label) {
	lo := uint32(offArgs + 8*c.Index)
	hi := lo + 4
	v, v2 := c.Value, c.ValueTwo
	vhi, vlo := uint32(v>>32), uint32(v)
	if bits32 {
		asm.load(lo)
		switch c.Op {
		case configs.EqualTo:
			asm.jmp(bpfJeqK, vlo, nil, fail)
		case configs.NotEqualTo:
			asm.jmp(bpfJeqK, vlo, fail, nil)
		case configs.GreaterThan:
			asm.jmp(bpfJgtK, vlo, nil, fail)
		case configs.GreaterThanOrEqualTo:
			asm.jmp(bpfJgeK, vlo, nil, fail)
		case configs.LessThan:
			asm.jmp(bpfJgeK, vlo, fail, nil)
		case configs.LessThanOrEqualTo:
			asm.jmp(bpfJgtK, vlo, fail, nil)
		case configs.MaskEqualTo:
			asm.and(vlo)
			asm.jmp(bpfJeqK, uint32(v2), nil, fail)
		}
		return
	}
	ok := asm.newLabel()
	asm.load(hi)
	switch c.Op {
	case configs.EqualTo:
		asm.jmp(bpfJeqK, vhi, nil, fail)
		asm.load(lo)
		asm.jmp(bpfJeqK, vlo, nil, fail)
	case configs.NotEqualTo:
		asm.jmp(bpfJeqK, vhi, nil, ok)
		asm.load(lo)
		asm.jmp(bpfJeqK, vlo, fail, nil)
	case configs.GreaterThan, configs.GreaterThanOrEqualTo:
		asm.jmp(bpfJgtK, vhi, ok, nil)
		asm.jmp(bpfJeqK, vhi, nil, fail)
		asm.load(lo)
		code := uint16(bpfJgtK)
		if c.Op == configs.GreaterThanOrEqualTo {
			code = bpfJgeK
		}
		asm.jmp(code, vlo, nil, fail)
	case configs.LessThan, configs.LessThanOrEqualTo:
		asm.jmp(bpfJgtK, vhi, fail, nil)
		asm.jmp(bpfJeqK, vhi, nil, ok)
		asm.load(lo)
		code := uint16(bpfJgeK)
		if c.Op == configs.LessThanOrEqualTo {
			code = bpfJgtK
		}
		asm.jmp(code, vlo, fail, nil)
	case configs.MaskEqualTo:
		asm.and(vhi)
		asm.jmp(bpfJeqK, uint32(v2>>32), nil, fail)
		asm.load(lo)
		asm.and(vlo)
		asm.jmp(bpfJeqK, uint32(v2), nil, fail)
	}
	asm.place(ok)
}

// emitStub emits runc's -ENOSYS stub before the filter: on each
// architecture the profile lists, a system call numbered above the
// largest one the profile names on that ABI returns ENOSYS. It is left
// out when the default action allows (ALLOW, LOG, TRACE: a tracer
// handles new system calls itself) or already returns ENOSYS.
func emitStub(asm *assembler, s *configs.Seccomp, def uint32) {
	switch s.DefaultAction {
	case configs.Allow, configs.Log, configs.Trace:
		return
	}
	if def == retErrno|errnoENOSYS {
		return
	}
	maxNr := map[*abi]uint32{}
	var order []*abi
	for _, name := range s.Architectures {
		a := lookupABI(name)
		if a == nil {
			continue
		}
		if _, ok := maxNr[a]; ok {
			continue
		}
		var m uint32
		for _, sc := range s.Syscalls {
			if sc == nil {
				continue
			}
			if _, mux := muxX86[sc.Name]; mux && a.audit == auditArchI386 {
				// libseccomp numbers them as pseudo calls, which runc's
				// stub ignores.
				continue
			}
			if nr, ok := a.numbers[sc.Name]; ok && nr > m {
				m = nr
			}
		}
		if m == 0 {
			continue
		}
		maxNr[a] = m
		order = append(order, a)
	}
	if len(order) == 0 {
		return
	}
	var amd64, x32, x86 *abi
	for _, a := range order {
		switch {
		case a.x32:
			x32 = a
		case a.audit == auditArchI386:
			x86 = a
		default:
			amd64 = a
		}
	}
	filter, enosys := asm.newLabel(), asm.newLabel()
	l64, l86 := asm.newLabel(), asm.newLabel()
	asm.load(offArch)
	if amd64 != nil || x32 != nil {
		asm.jmp(bpfJeqK, auditArchX86_64, l64, nil)
	}
	if x86 != nil {
		asm.jmp(bpfJeqK, auditArchI386, l86, nil)
	}
	asm.jump(filter)
	if amd64 != nil || x32 != nil {
		asm.place(l64)
		asm.load(offNr)
		lx32 := filter
		if x32 != nil {
			lx32 = asm.newLabel()
		}
		if amd64 != nil {
			asm.jmp(bpfJsetK, x32Bit, lx32, nil)
			asm.jmp(bpfJgtK, maxNr[amd64], enosys, nil)
			asm.jump(filter)
		} else {
			asm.jmp(bpfJsetK, x32Bit, nil, filter)
		}
		if x32 != nil {
			asm.place(lx32)
			asm.jmp(bpfJgtK, maxNr[x32], enosys, nil)
			asm.jump(filter)
		}
	}
	if x86 != nil {
		asm.place(l86)
		asm.load(offNr)
		asm.jmp(bpfJgtK, maxNr[x86], enosys, nil)
		asm.jump(filter)
	}
	asm.place(enosys)
	asm.ret(retErrno | errnoENOSYS)
	asm.place(filter)
}
