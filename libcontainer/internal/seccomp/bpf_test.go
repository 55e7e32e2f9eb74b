package seccomp

import (
	"encoding/binary"
	"fmt"
)

// seccompData is struct seccomp_data.
type seccompData struct {
	nr   uint32
	arch uint32
	ip   uint64
	args [6]uint64
}

func (d *seccompData) bytes() [64]byte {
	var b [64]byte
	binary.LittleEndian.PutUint32(b[0:], d.nr)
	binary.LittleEndian.PutUint32(b[4:], d.arch)
	binary.LittleEndian.PutUint64(b[8:], d.ip)
	for i, a := range d.args {
		binary.LittleEndian.PutUint64(b[16+8*i:], a)
	}
	return b
}

// run interprets a seccomp filter as the kernel does (classic BPF over
// seccomp_data, every load a 32-bit word) and returns its verdict. It
// fails on what the kernel's checker would refuse.
func run(prog []Instruction, d *seccompData) (uint32, error) {
	data := d.bytes()
	var a, x uint32
	var mem [16]uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		k := in.K
		switch in.Code {
		case 0x20: // ld [k]
			if k%4 != 0 || k+4 > 64 {
				return 0, fmt.Errorf("pc %d: load at %d", pc, k)
			}
			a = binary.LittleEndian.Uint32(data[k:])
		case 0x00: // ld #k
			a = k
		case 0x01: // ldx #k
			x = k
		case 0x60: // ld M[k]
			a = mem[k%16]
		case 0x61: // ldx M[k]
			x = mem[k%16]
		case 0x02: // st M[k]
			mem[k%16] = a
		case 0x03: // stx M[k]
			mem[k%16] = x
		case 0x04: // add #k
			a += k
		case 0x14: // sub #k
			a -= k
		case 0x54: // and #k
			a &= k
		case 0x44: // or #k
			a |= k
		case 0x64: // lsh #k
			a <<= k
		case 0x74: // rsh #k
			a >>= k
		case 0x5c: // and x
			a &= x
		case 0x07: // tax
			x = a
		case 0x87: // txa
			a = x
		case 0x05: // ja k
			pc += int(k)
		case 0x15, 0x25, 0x35, 0x45, 0x1d, 0x2d, 0x3d, 0x4d:
			v := k
			if in.Code&0x08 != 0 {
				v = x
			}
			var c bool
			switch in.Code &^ 0x08 {
			case 0x15:
				c = a == v
			case 0x25:
				c = a > v
			case 0x35:
				c = a >= v
			case 0x45:
				c = a&v != 0
			}
			if c {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case 0x06: // ret #k
			return k, nil
		case 0x16: // ret a
			return a, nil
		default:
			return 0, fmt.Errorf("pc %d: opcode %#x", pc, in.Code)
		}
	}
	return 0, fmt.Errorf("fell off the end of %d instructions", len(prog))
}
