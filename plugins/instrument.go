package plugins

// Cheap interruption of runaway plugin code.
//
// wazero can stop a running call when its context ends
// (RuntimeConfig.WithCloseOnContextDone), but its compiler does it by calling
// back into Go at every loop header. Go modules compile every function into
// a loop, so that costs ~100 ns per Go function call and per loop iteration:
// a JSON partitioner ran 100x slower. Instead, before compiling, the host
// adds one mutable i32 global, the fuel, to the module and, at the top of
// every loop body, the check
//
//	global.get $fuel  i32.eqz  if  unreachable  end
//	global.get $fuel  i32.const 1  i32.sub  global.set $fuel
//
// which costs a few instructions. Before every call the host sets the fuel
// to a budget of loop iterations (four per nanosecond of the call's time
// limit, capped at 2^31-1); a watchdog sets it to 0 when the time limit passes, so the code
// traps at its next loop iteration and the call fails with ErrTimeout.
//
// The budget matters because of Go's garbage collector: its stop-the-world
// phases wait for every goroutine to reach a safe point, and a goroutine
// running compiled Wasm has none until it returns or calls a host function.
// If a runaway loop runs while a collection starts, the watchdog's goroutine
// is stopped too; the budget still ends the loop, within a few times the
// time limit. (wazero's own mechanism has no such problem because it calls
// into Go at every loop header, which is exactly its cost.)
//
// Code without loops ends on its own (recursion ends in a stack overflow
// trap). A start function is turned into an export the host calls under the
// same watchdog, so it cannot hang instantiation. The rewrite is
// deterministic, so the on-disk compilation cache keeps working across
// restarts.
//
// The instrumenter parses untrusted uploaded bytes before wazero validates
// them, so its work is bounded by its input: every count read from the
// module (imports, exports, functions, local groups, br_table targets) is
// checked against the bytes left before the loop starts (each element
// takes at least one byte, so a count larger than what is left is an error
// at once), every loop stops at the first decoding error, and every loop
// iteration consumes at least one input byte. The total work is therefore
// linear in len(wasm), and the output is at most a fixed multiple of it
// (one fuel check per loop opcode). As a backstop the work is also
// metered: every loop iteration spends one step of a budget of
// workPerByte steps per input byte, and a module that exhausts it is
// refused with errWorkLimit (the byte bounds make that unreachable; the
// fuzz target checks that it stays so).

import (
	"errors"
	"fmt"
	"strings"
)

const (
	reservedPrefix  = "__sluice_"
	interruptExport = reservedPrefix + "interrupt"
	startExport     = reservedPrefix + "start"
)

var (
	errUnsupported  = errors.New("unsupported")
	errWorkLimit    = errors.New("instrumenter work limit exceeded")
	errReservedName = errors.New("reserved export name")
)

// section ids
const (
	secCustom = 0
	secImport = 2
	secGlobal = 6
	secExport = 7
	secStart  = 8
	secCode   = 10
)

// sectionRank orders the known sections as the binary format requires.
var sectionRank = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

// workPerByte is the instrumenter's step budget per input byte. Every byte
// is visited by at most three nested passes (sections, then a section's
// entries, then a function body's instructions), each iteration consuming
// at least one byte.
const workPerByte = 4

// budget meters one instrument call's loop iterations.
type budget struct{ left int }

type section struct {
	id   byte
	body []byte
}

// instrument returns wasm with the interrupt global and loop checks added
// and the start function exported instead of run by instantiation.
func instrument(wasm []byte) ([]byte, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, errors.New("not a Wasm binary")
	}
	var secs []section
	w := &budget{left: workPerByte*len(wasm) + 64}
	r := &reader{b: wasm, i: 8, w: w}
	for !r.done() {
		r.step()
		id := r.byte()
		size := r.u32()
		body := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, r.err)
		}
		if id != secCustom {
			if _, ok := sectionRank[id]; !ok {
				return nil, fmt.Errorf("unknown section id %d", id)
			}
		}
		secs = append(secs, section{id, body})
	}

	importedGlobals, definedGlobals := uint32(0), uint32(0)
	var exportsBody, globalsBody []byte
	hasStart, startFunc := false, uint32(0)
	for _, s := range secs {
		switch s.id {
		case secImport:
			n, err := countImportedGlobals(s.body, w)
			if err != nil {
				return nil, fmt.Errorf("import section: %w", err)
			}
			importedGlobals = n
		case secGlobal:
			globalsBody = s.body
			sr := &reader{b: s.body}
			definedGlobals = sr.u32()
			if sr.err != nil {
				return nil, fmt.Errorf("global section: %w", sr.err)
			}
		case secExport:
			exportsBody = s.body
		case secStart:
			sr := &reader{b: s.body}
			startFunc, hasStart = sr.u32(), true
			if sr.err != nil {
				return nil, fmt.Errorf("start section: %w", sr.err)
			}
		}
	}
	globalIdx := importedGlobals + definedGlobals

	// The new global: mutable i32 = 0.
	newGlobals := appendU32(nil, definedGlobals+1)
	if globalsBody != nil {
		sr := &reader{b: globalsBody}
		sr.u32()
		newGlobals = append(newGlobals, globalsBody[sr.i:]...)
	}
	// i32, mutable, initial value 0x7fffffff (the host sets a budget before
	// every call anyway).
	newGlobals = append(newGlobals, 0x7f, 0x01, 0x41, 0xff, 0xff, 0xff, 0xff, 0x07, 0x0b)

	newExports, err := addExports(exportsBody, globalIdx, hasStart, startFunc, w)
	if errors.Is(err, errReservedName) {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("export section: %w", err)
	}

	out := make([]byte, 0, len(wasm)+len(wasm)/16+64)
	out = append(out, wasm[:8]...)
	put := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	wroteGlobal, wroteExport := false, false
	flushBefore := func(rank int) {
		if !wroteGlobal && rank > sectionRank[secGlobal] {
			put(secGlobal, newGlobals)
			wroteGlobal = true
		}
		if !wroteExport && rank > sectionRank[secExport] {
			put(secExport, newExports)
			wroteExport = true
		}
	}
	for _, s := range secs {
		if s.id != secCustom {
			flushBefore(sectionRank[s.id])
		}
		switch s.id {
		case secGlobal:
			put(secGlobal, newGlobals)
			wroteGlobal = true
		case secExport:
			put(secExport, newExports)
			wroteExport = true
		case secStart:
			// dropped: exported as startExport instead
		case secCode:
			code, err := instrumentCode(s.body, globalIdx, w)
			if err != nil {
				return nil, fmt.Errorf("code section: %w", err)
			}
			put(secCode, code)
		default:
			put(s.id, s.body)
		}
	}
	flushBefore(1 << 30)
	return out, nil
}

func countImportedGlobals(b []byte, w *budget) (uint32, error) {
	r := &reader{b: b, w: w}
	n := r.count(3) // module name, field name, kind: a byte each at least
	var globals uint32
	for range n {
		r.step()
		r.bytes(int(r.u32())) // module
		r.bytes(int(r.u32())) // name
		switch kind := r.byte(); kind {
		case 0x00: // function
			r.u32()
		case 0x01: // table
			r.byte()
			r.limits()
		case 0x02: // memory
			r.limits()
		case 0x03: // global
			r.byte()
			r.byte()
			globals++
		case 0x04: // tag
			r.byte()
			r.u32()
		default:
			return 0, fmt.Errorf("import kind %d: %w", kind, errUnsupported)
		}
		if r.err != nil {
			return 0, r.err
		}
	}
	return globals, r.err
}

func addExports(b []byte, globalIdx uint32, hasStart bool, startFunc uint32, w *budget) ([]byte, error) {
	var n uint32
	var rest []byte
	if b != nil {
		r := &reader{b: b, w: w}
		n = r.count(3) // name length, kind, index
		if r.err != nil {
			return nil, r.err
		}
		restStart := r.i
		for range n {
			r.step()
			name := string(r.bytes(int(r.u32())))
			r.byte()
			r.u32()
			if r.err != nil {
				return nil, r.err
			}
			if strings.HasPrefix(name, reservedPrefix) {
				return nil, fmt.Errorf("%w: the module exports %q; names starting with %q are reserved for the host",
					errReservedName, name, reservedPrefix)
			}
		}
		if !r.done() {
			// Bytes after the last export would end up between the
			// module's exports and the host's.
			return nil, errors.New("trailing bytes")
		}
		rest = b[restStart:]
	}
	added := uint32(1)
	if hasStart {
		added++
	}
	out := appendU32(nil, n+added)
	out = append(out, rest...)
	out = appendU32(out, uint32(len(interruptExport)))
	out = append(out, interruptExport...)
	out = append(out, 0x03)
	out = appendU32(out, globalIdx)
	if hasStart {
		out = appendU32(out, uint32(len(startExport)))
		out = append(out, startExport...)
		out = append(out, 0x00)
		out = appendU32(out, startFunc)
	}
	return out, nil
}

// instrumentCode rewrites every function body of a code section.
func instrumentCode(b []byte, globalIdx uint32, w *budget) ([]byte, error) {
	r := &reader{b: b, w: w}
	n := r.count(1) // a body's size takes a byte
	if r.err != nil {
		return nil, r.err
	}
	// global.get $fuel  i32.eqz  if  unreachable  end
	// global.get $fuel  i32.const 1  i32.sub  global.set $fuel
	g := appendU32(nil, globalIdx)
	check := append([]byte{0x23}, g...)
	check = append(check, 0x45, 0x04, 0x40, 0x00, 0x0b, 0x23)
	check = append(check, g...)
	check = append(check, 0x41, 0x01, 0x6b, 0x24)
	check = append(check, g...)
	out := appendU32(make([]byte, 0, len(b)+len(b)/16), n)
	var body []byte
	for i := range n {
		r.step()
		size := r.u32()
		fn := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("function %d: %w", i, r.err)
		}
		var err error
		if body, err = instrumentBody(body[:0], fn, check, w); err != nil {
			return nil, fmt.Errorf("function %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	if !r.done() {
		return nil, errors.New("trailing bytes")
	}
	return out, nil
}

// instrumentBody copies one function body, adding check after every loop's
// block type.
func instrumentBody(out, fn, check []byte, w *budget) ([]byte, error) {
	r := &reader{b: fn, w: w}
	groups := r.count(2) // count and type: a byte each at least
	for range groups {
		r.step()
		r.u32()
		r.byte()
		if r.err != nil {
			break
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("locals: %w", r.err)
	}
	out = append(out, fn[:r.i]...)
	last := r.i // start of bytes not yet copied
	for !r.done() {
		r.step()
		op := r.byte()
		switch {
		case op == 0x02 || op == 0x04: // block, if
			r.blockType()
		case op == 0x03: // loop
			r.blockType()
			if r.err != nil {
				break
			}
			out = append(out, fn[last:r.i]...)
			out = append(out, check...)
			last = r.i
		case op == 0x0c || op == 0x0d || op == 0x10 || op == 0x12 || (op >= 0x20 && op <= 0x26) || op == 0xd2:
			r.u32() // br, br_if, call, return_call, local/global/table get/set, ref.func
		case op == 0x0e: // br_table: n labels and the default
			n := r.count(1)
			for i := uint32(0); i <= n && r.err == nil; i++ {
				r.step()
				r.u32()
			}
		case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
			r.u32()
			r.u32()
		case op == 0x1c: // select t*
			r.bytes(int(r.u32()))
		case op >= 0x28 && op <= 0x3e: // loads and stores
			r.memarg()
		case op == 0x3f || op == 0x40: // memory.size, memory.grow
			r.u32()
		case op == 0x41 || op == 0x42: // i32.const, i64.const
			r.leb()
		case op == 0x43:
			r.bytes(4)
		case op == 0x44:
			r.bytes(8)
		case op == 0xd0: // ref.null
			r.byte()
		case op == 0xfc:
			r.prefixFC()
		case op == 0xfd:
			r.prefixSIMD()
		case op == 0xfe:
			r.prefixAtomic()
		case op <= 0x01 || op == 0x05 || op == 0x0b || op == 0x0f || op == 0x1a || op == 0x1b ||
			(op >= 0x45 && op <= 0xc4) || op == 0xd1:
			// no immediates
		default:
			return nil, fmt.Errorf("opcode 0x%02x: %w", op, errUnsupported)
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	return append(out, fn[last:]...), nil
}

// reader decodes the binary format; the first error sticks. Readers of
// one instrument call share the work budget w (nil: unmetered).
type reader struct {
	b   []byte
	i   int
	err error
	w   *budget
}

// step spends one unit of the work budget, failing the reader with
// errWorkLimit once it is gone.
func (r *reader) step() {
	if r.w == nil || r.err != nil {
		return
	}
	r.w.left--
	if r.w.left < 0 {
		r.err = errWorkLimit
	}
}

var (
	errTruncated     = errors.New("truncated")
	errCountTooLarge = errors.New("count larger than the bytes left")
)

func (r *reader) done() bool { return r.err != nil || r.i >= len(r.b) }

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.i >= len(r.b) {
		r.err = errTruncated
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

// count reads an element count (u32) of a vector whose elements take at
// least minBytes bytes each; a count the remaining bytes cannot hold is
// errCountTooLarge at once, so no loop runs longer than the input allows.
func (r *reader) count(minBytes int) uint32 {
	n := r.u32()
	if r.err != nil {
		return 0
	}
	if uint64(n)*uint64(minBytes) > uint64(len(r.b)-r.i) {
		r.err = fmt.Errorf("%w: %d elements of at least %d bytes in %d bytes", errCountTooLarge, n, minBytes, len(r.b)-r.i)
		return 0
	}
	return n
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.i {
		r.err = errTruncated
		return nil
	}
	s := r.b[r.i : r.i+n]
	r.i += n
	return s
}

func (r *reader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = errors.New("overlong LEB128")
	return 0
}

// leb skips a signed or unsigned LEB128 of up to 64 bits.
func (r *reader) leb() {
	for range 10 {
		if r.byte()&0x80 == 0 || r.err != nil {
			return
		}
	}
	r.err = errors.New("overlong LEB128")
}

func (r *reader) limits() {
	flags := r.byte()
	r.leb()
	if flags&1 != 0 {
		r.leb()
	}
}

func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 { // multi-memory: memory index follows
		r.u32()
	}
	r.leb()
}

func (r *reader) blockType() {
	if r.i >= len(r.b) {
		r.err = errTruncated
		return
	}
	switch r.b[r.i] {
	case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		r.i++
	default:
		r.leb() // s33 type index
	}
}

func (r *reader) prefixFC() {
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncations
	case sub == 8: // memory.init
		r.u32()
		r.u32()
	case sub == 9 || sub == 13 || sub == 15 || sub == 16 || sub == 17: // data.drop, elem.drop, table.grow/size/fill
		r.u32()
	case sub == 10 || sub == 12 || sub == 14: // memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	case sub == 11: // memory.fill
		r.u32()
	default:
		r.err = fmt.Errorf("opcode 0xfc %d: %w", sub, errUnsupported)
	}
}

func (r *reader) prefixSIMD() {
	switch sub := r.u32(); {
	case sub <= 11 || sub == 92 || sub == 93: // v128 loads and stores
		r.memarg()
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // extract/replace lane
		r.byte()
	case sub >= 84 && sub <= 91: // load/store lane
		r.memarg()
		r.byte()
	case sub <= 0x113:
		// every other SIMD instruction (and relaxed SIMD) has no immediate
	default:
		r.err = fmt.Errorf("opcode 0xfd %d: %w", sub, errUnsupported)
	}
}

func (r *reader) prefixAtomic() {
	switch sub := r.u32(); {
	case sub == 3: // atomic.fence
		r.byte()
	case sub <= 0x4e:
		r.memarg()
	default:
		r.err = fmt.Errorf("opcode 0xfe %d: %w", sub, errUnsupported)
	}
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}
