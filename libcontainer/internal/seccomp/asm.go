package seccomp

import (
	"errors"
	"fmt"
)

// Instruction is one classic BPF instruction (struct sock_filter).
type Instruction struct {
	Code uint16
	Jt   uint8
	Jf   uint8
	K    uint32
}

// Classic BPF opcodes (linux/filter.h) used by the compiler.
const (
	bpfLdAbsW = 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfAndK   = 0x54 // BPF_ALU | BPF_AND | BPF_K
	bpfJa     = 0x05 // BPF_JMP | BPF_JA
	bpfJeqK   = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfJgtK   = 0x25 // BPF_JMP | BPF_JGT | BPF_K
	bpfJgeK   = 0x35 // BPF_JMP | BPF_JGE | BPF_K
	bpfJsetK  = 0x45 // BPF_JMP | BPF_JSET | BPF_K
	bpfRetK   = 0x06 // BPF_RET | BPF_K
)

// maxInstructions is the kernel's limit on a filter (BPF_MAXINSNS).
const maxInstructions = 4096

// label is a jump target, placed once in the program.
type label struct{ pos int }

// op is an instruction whose jumps name labels; nil means the next
// instruction. A label op (isLabel) marks a position and emits nothing.
type op struct {
	ins     Instruction
	jt, jf  *label
	isLabel *label
	// farT and farF are set when the offset to jt or jf exceeds the 8 bits
	// of a conditional jump: the jump then goes through a BPF_JA after it.
	farT, farF bool
}

// assembler builds a program with symbolic jumps, then lays it out.
type assembler struct{ ops []op }

func (a *assembler) newLabel() *label { return &label{pos: -1} }

func (a *assembler) place(l *label) { a.ops = append(a.ops, op{isLabel: l}) }

func (a *assembler) load(off uint32) {
	a.ops = append(a.ops, op{ins: Instruction{Code: bpfLdAbsW, K: off}})
}

func (a *assembler) and(k uint32) { a.ops = append(a.ops, op{ins: Instruction{Code: bpfAndK, K: k}}) }

func (a *assembler) ret(k uint32) { a.ops = append(a.ops, op{ins: Instruction{Code: bpfRetK, K: k}}) }

func (a *assembler) jump(l *label) { a.ops = append(a.ops, op{ins: Instruction{Code: bpfJa}, jt: l}) }

// jmp emits a conditional jump: to jt when true, to jf when false (nil:
// the next instruction).
func (a *assembler) jmp(code uint16, k uint32, jt, jf *label) {
	a.ops = append(a.ops, op{ins: Instruction{Code: code, K: k}, jt: jt, jf: jf})
}

// size is the number of instructions o emits.
func (o *op) size() int {
	switch {
	case o.isLabel != nil:
		return 0
	case o.ins.Code == bpfJa:
		return 1
	}
	n := 1
	if o.farT {
		n++
	}
	if o.farF {
		n++
	}
	return n
}

// layout places the labels, widening jumps that are too long until none
// is, and returns the program.
func (a *assembler) layout() ([]Instruction, error) {
	for {
		pos := 0
		for i := range a.ops {
			if l := a.ops[i].isLabel; l != nil {
				l.pos = pos
			}
			pos += a.ops[i].size()
		}
		if pos > maxInstructions {
			return nil, fmt.Errorf("filter of %d instructions exceeds the kernel's %d", pos, maxInstructions)
		}
		changed := false
		pos = 0
		for i := range a.ops {
			o := &a.ops[i]
			if o.isLabel == nil && o.ins.Code != bpfJa && o.ins.Code&0x07 == 0x05 {
				// The offsets of the jumps if emitted short.
				base := pos + 1
				if o.jt != nil && !o.farT && o.jt.pos-base > 255 {
					o.farT, changed = true, true
				}
				if o.jf != nil && !o.farF && o.jf.pos-base > 255 {
					o.farF, changed = true, true
				}
			}
			pos += o.size()
		}
		if !changed {
			break
		}
	}
	var out []Instruction
	for i := range a.ops {
		o := &a.ops[i]
		if o.isLabel != nil {
			continue
		}
		pos := len(out)
		if o.ins.Code == bpfJa {
			if o.jt == nil || o.jt.pos < pos+1 {
				return nil, errors.New("internal error: backward jump")
			}
			ins := o.ins
			ins.K = uint32(o.jt.pos - pos - 1)
			out = append(out, ins)
			continue
		}
		if o.ins.Code&0x07 != 0x05 {
			out = append(out, o.ins)
			continue
		}
		// A conditional jump, followed by its long jumps if any: the
		// true branch's first, then the false branch's.
		after := pos + 1 + boolInt(o.farT) + boolInt(o.farF)
		ins := o.ins
		off := func(l *label) (uint8, error) {
			if l == nil {
				return uint8(after - pos - 1), nil
			}
			d := l.pos - pos - 1
			if d < 0 || d > 255 {
				return 0, errors.New("internal error: jump out of range")
			}
			return uint8(d), nil
		}
		var err error
		switch {
		case o.farT:
			ins.Jt = 0
		default:
			if ins.Jt, err = off(o.jt); err != nil {
				return nil, err
			}
		}
		switch {
		case o.farF:
			ins.Jf = uint8(boolInt(o.farT))
		default:
			if ins.Jf, err = off(o.jf); err != nil {
				return nil, err
			}
		}
		out = append(out, ins)
		for _, far := range []struct {
			on bool
			l  *label
		}{{o.farT, o.jt}, {o.farF, o.jf}} {
			if !far.on {
				continue
			}
			at := len(out)
			target := after
			if far.l != nil {
				target = far.l.pos
			}
			out = append(out, Instruction{Code: bpfJa, K: uint32(target - at - 1)})
		}
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
