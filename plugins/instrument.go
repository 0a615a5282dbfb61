package plugins

// Cheap interruption of runaway plugin code, and a bound on call depth.
//
// wazero can stop a running call when its context ends
// (RuntimeConfig.WithCloseOnContextDone), but its compiler does it by calling
// back into Go at every loop header. Go modules compile every function into
// a loop, so that costs ~100 ns per Go function call and per loop iteration:
// a JSON partitioner ran 100x slower. Instead, before compiling, the host
// rewrites the module. It adds
//
//   - an import, sluice_internal.yield (i32) -> i32 (timelimit.go), after the
//     module's own imports, so every function index at or past the old
//     import count moves up by one;
//   - two mutable i32 globals, exported under reserved names: the fuel
//     (checks left before the next yield) and the depth (calls the running
//     call may still nest);
//   - at every function entry and at the top of every loop body the fuel
//     check
//
//	global.get $fuel  i32.eqz  if  (call $yield (i32.const 0))  global.set $fuel  end
//	global.get $fuel  i32.const 1  i32.sub  global.set $fuel
//
//     a few instructions, and once per quantum a call into Go, which
//     checks the clock, yields to the scheduler (a safe point for the garbage
//     collector) and returns the next quantum;
//   - around every call of a module function (call, call_indirect) the depth
//     check
//
//	global.get $depth  i32.eqz  if  (call $yield (i32.const 1))  drop  end
//	global.get $depth  i32.const 1  i32.sub  global.set $depth
//	call f
//	global.get $depth  i32.const 1  i32.add  global.set $depth
//
//     where yield(1) traps with "call depth limit N exceeded". Counting at
//     call sites rather than at function entry and every return path needs
//     no analysis of branches to the function's outer label; a trap unwinds
//     frames without the increments, but a failed instance is never reused,
//     and the host resets both globals before every call.
//
// Calls of imported functions are not counted (host functions do not call
// back into the module). Tail calls (return_call) are counted like calls;
// wazero does not enable them, so such modules fail to compile anyway. A
// module importing from sluice_internal itself is refused (errReservedName).
// A start function is turned into an export the host calls under the
// start-up limit, so it cannot hang instantiation. The rewrite is
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
// (one fuel check per loop opcode and function, depth checks per call). As a backstop the work is also
// metered: every loop iteration spends one step of a budget of
// workPerByte steps per input byte, and a module that exhausts it is
// refused with errWorkLimit (the byte bounds make that unreachable; the
// fuzz target checks that it stays so).

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

const (
	reservedPrefix  = "__sluice_"
	interruptExport = reservedPrefix + "interrupt"
	depthExport     = reservedPrefix + "depth"
	startExport     = reservedPrefix + "start"
	// internalModule is the import module of the host functions the
	// instrumenter adds; a module of its own that imports from it is
	// refused.
	internalModule = "sluice_internal"
	yieldName      = "yield"
)

// Arguments of sluice_internal.yield.
const (
	yieldFuel  = 0 // the fuel ran out: check the clock, maybe reschedule, refill
	yieldDepth = 1 // the call depth limit is reached: trap
)

var (
	errUnsupported  = errors.New("unsupported")
	errWorkLimit    = errors.New("instrumenter work limit exceeded")
	errReservedName = errors.New("reserved name")
)

// section ids
const (
	secCustom = 0
	secType   = 1
	secImport = 2
	secTable  = 4
	secGlobal = 6
	secExport = 7
	secStart  = 8
	secElem   = 9
	secCode   = 10
)

// sectionRank orders the known sections as the binary format requires.
var sectionRank = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

// workPerByte is the instrumenter's step budget per input byte. Every byte
// is visited by at most three nested passes (sections, then a section's
// entries, then a function body's instructions), each iteration consuming
// at least one byte.
const workPerByte = 4

// Native stack frame estimate (see frameBytes): bytes per declared local
// or parameter, and a fixed part per frame (return address, saved
// registers, spill area of temporaries).
const (
	frameBytesPerValue = 16
	frameBytesFixed    = 512
)

// budget meters one instrument call's loop iterations.
type budget struct{ left int }

type section struct {
	id   byte
	body []byte
}

// instrumented is a module rewritten by instrumentModule.
type instrumented struct {
	wasm []byte
	// frameBytes estimates the largest native stack frame of any of the
	// module's functions: frameBytesPerValue per local plus the most
	// parameters of any type, plus frameBytesFixed. The call depth limit
	// is derived from it (depthLimit).
	frameBytes int
}

// instrument returns wasm with the fuel and depth globals, the checks and
// the yield import added, and the start function exported instead of run
// by instantiation.
func instrument(wasm []byte) ([]byte, error) {
	m, err := instrumentModule(wasm)
	return m.wasm, err
}

// instrumentModule rewrites wasm (see the comment at the top of the file).
//
// The yield import is appended to the module's imported functions, so
// every function index at or past the old import count moves up by one:
// calls, ref.func (in code, global initialisers and element segments),
// function exports and the start function are renumbered, and so are the
// function indices of the "name" custom section (rewriteNames), which
// wazero uses in the stack traces of traps. A table with
// an initialiser expression (function-references proposal) is refused.
func instrumentModule(wasm []byte) (instrumented, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return instrumented{}, errors.New("not a Wasm binary")
	}
	var secs []section
	lastRank := 0
	w := &budget{left: workPerByte*len(wasm) + 64}
	r := &reader{b: wasm, i: 8, w: w}
	for !r.done() {
		r.step()
		id := r.byte()
		size := r.u32()
		body := r.bytes(int(size))
		if r.err != nil {
			return instrumented{}, fmt.Errorf("section %d: %w", id, r.err)
		}
		if id != secCustom {
			rank, ok := sectionRank[id]
			if !ok {
				return instrumented{}, fmt.Errorf("unknown section id %d", id)
			}
			// Wasm allows each section once, in order (wazero refuses the
			// rest too); the rewrite replaces some by id, so a second one
			// would be written twice.
			if rank <= lastRank {
				return instrumented{}, fmt.Errorf("section %d repeated or out of order", id)
			}
			lastRank = rank
		}
		secs = append(secs, section{id, body})
	}

	var mi modInfo
	var exportsBody, globalsBody []byte
	hasStart, startFunc := false, uint32(0)
	for _, s := range secs {
		var err error
		switch s.id {
		case secType:
			mi.types, mi.maxParams, err = scanTypes(s.body, w)
			if err != nil {
				return instrumented{}, fmt.Errorf("type section: %w", err)
			}
		case secImport:
			if mi.funcImports, mi.globalImports, err = scanImports(s.body, w); errors.Is(err, errReservedName) {
				return instrumented{}, err
			} else if err != nil {
				return instrumented{}, fmt.Errorf("import section: %w", err)
			}
		case secTable:
			if err := scanTables(s.body, w); err != nil {
				return instrumented{}, fmt.Errorf("table section: %w", err)
			}
		case secGlobal:
			globalsBody = s.body
		case secExport:
			exportsBody = s.body
		case secStart:
			sr := &reader{b: s.body}
			startFunc, hasStart = sr.u32(), true
			if sr.err != nil {
				return instrumented{}, fmt.Errorf("start section: %w", sr.err)
			}
		}
	}
	mi.yield = mi.funcImports // the new import's index

	newGlobals, definedGlobals, err := rewriteGlobals(globalsBody, &mi, w)
	if err != nil {
		return instrumented{}, fmt.Errorf("global section: %w", err)
	}
	mi.fuel = mi.globalImports + definedGlobals
	mi.depth = mi.fuel + 1

	newExports, err := addExports(exportsBody, &mi, hasStart, startFunc, w)
	if errors.Is(err, errReservedName) {
		return instrumented{}, err
	} else if err != nil {
		return instrumented{}, fmt.Errorf("export section: %w", err)
	}
	replaced := map[byte][]byte{
		secType:   appendType(secBody(secs, secType), mi.types),
		secImport: appendImport(secBody(secs, secImport), mi.types),
		secGlobal: newGlobals,
		secExport: newExports,
	}

	out := make([]byte, 0, len(wasm)+len(wasm)/4+128)
	out = append(out, wasm[:8]...)
	put := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	// Sections the rewrite needs that the module may lack, in order.
	pending := []byte{secType, secImport, secGlobal, secExport}
	flushBefore := func(rank int) {
		for len(pending) > 0 && sectionRank[pending[0]] < rank {
			put(pending[0], replaced[pending[0]])
			pending = pending[1:]
		}
	}
	frame, hasNames := 0, false
	for _, s := range secs {
		if s.id != secCustom {
			flushBefore(sectionRank[s.id])
		}
		if body, ok := replaced[s.id]; ok {
			put(s.id, body)
			pending = slices.DeleteFunc(pending, func(id byte) bool { return id == s.id })
			continue
		}
		switch s.id {
		case secCustom:
			if customName(s.body) == "name" {
				// Function indices moved: renumbered, or dropped if it
				// does not parse (a name section is never an error); a
				// second one is dropped too (wazero refuses two).
				if hasNames {
					continue
				}
				if names, ok := rewriteNames(s.body, &mi, w); ok {
					put(s.id, names)
					hasNames = true
				}
				continue
			}
			put(s.id, s.body)
		case secStart:
			// dropped: exported as startExport instead
		case secElem:
			elems, err := rewriteElems(s.body, &mi, w)
			if err != nil {
				return instrumented{}, fmt.Errorf("element section: %w", err)
			}
			put(secElem, elems)
		case secCode:
			code, f, err := instrumentCode(s.body, &mi, w)
			if err != nil {
				return instrumented{}, fmt.Errorf("code section: %w", err)
			}
			frame = f
			put(secCode, code)
		default:
			put(s.id, s.body)
		}
	}
	flushBefore(1 << 30)
	return instrumented{wasm: out, frameBytes: frame}, nil
}

// Subsections of the "name" custom section the rewrite keeps: the ones
// wazero reads. The others (0, the module's name, which would prefix every
// frame of a trace; 3, label names, whose indices the inserted checks
// shift; the extended proposal's 4-9) are dropped.
const (
	nameFunctions = 1 // name map: function index -> name
	nameLocals    = 2 // indirect name map: function index -> local index -> name
)

// rewriteNames returns the "name" custom section (body from the section's
// own name on) with its function and local names, the function indices
// renumbered for the yield import (locals keep theirs: the rewrite appends
// its own). ok is false if it does not parse or holds a name that is not
// UTF-8 (wazero would refuse the module), and then the section is dropped:
// names are optional, and a malformed name section must not fail a module.
func rewriteNames(body []byte, mi *modInfo, w *budget) (out []byte, ok bool) {
	r := &reader{b: body, w: w}
	r.bytes(int(r.u32())) // "name"
	out = append(out, body[:r.i]...)
	name := func(sr *reader, nb []byte) []byte {
		n := sr.bytes(int(sr.u32()))
		if !utf8.Valid(n) {
			sr.err = errors.New("a name is not UTF-8")
		}
		nb = appendU32(nb, uint32(len(n)))
		return append(nb, n...)
	}
	for !r.done() {
		r.step()
		id := r.byte()
		sub := r.bytes(int(r.u32()))
		if r.err != nil {
			return nil, false
		}
		if id != nameFunctions && id != nameLocals {
			continue
		}
		sr := &reader{b: sub, w: w}
		var nb []byte
		n := sr.count(2) // index, name length
		nb = appendU32(nb, n)
		for range n {
			sr.step()
			nb = appendU32(nb, mi.fn(sr.u32()))
			if id == nameFunctions {
				nb = name(sr, nb)
				continue
			}
			m := sr.count(2)
			nb = appendU32(nb, m)
			for range m {
				sr.step()
				nb = appendU32(nb, sr.u32())
				nb = name(sr, nb)
			}
		}
		if sr.err != nil || !sr.done() {
			return nil, false
		}
		out = append(out, id)
		out = appendU32(out, uint32(len(nb)))
		out = append(out, nb...)
	}
	if r.err != nil {
		return nil, false
	}
	return out, true
}

// modInfo is what the rewrite needs to know of a module.
type modInfo struct {
	types         uint32 // entries of the type section (the yield type's index)
	maxParams     int    // most parameters of any function type
	funcImports   uint32 // imported functions before the rewrite
	globalImports uint32
	yield         uint32 // function index of sluice_internal.yield
	fuel, depth   uint32 // global indices
}

// fn renumbers a function index of the original module.
func (m *modInfo) fn(i uint32) uint32 {
	if i >= m.funcImports {
		return i + 1
	}
	return i
}

func secBody(secs []section, id byte) []byte {
	for _, s := range secs {
		if s.id == id {
			return s.body
		}
	}
	return nil
}

func customName(b []byte) string {
	r := &reader{b: b}
	name := r.bytes(int(r.u32()))
	if r.err != nil {
		return ""
	}
	return string(name)
}

// scanTypes counts the type section's entries and finds the most
// parameters of any.
func scanTypes(b []byte, w *budget) (n uint32, maxParams int, err error) {
	r := &reader{b: b, w: w}
	n = r.count(3) // form, two counts
	for range n {
		r.step()
		if form := r.byte(); form != 0x60 && r.err == nil {
			return 0, 0, fmt.Errorf("type form 0x%02x: %w", form, errUnsupported)
		}
		params := r.count(1)
		r.bytes(int(params))
		r.bytes(int(r.count(1)))
		if r.err != nil {
			return 0, 0, r.err
		}
		maxParams = max(maxParams, int(params))
	}
	if r.err == nil && !r.done() {
		return 0, 0, errors.New("trailing bytes")
	}
	return n, maxParams, r.err
}

// appendType adds the yield type (i32) -> i32 at index n.
func appendType(b []byte, n uint32) []byte {
	out := appendU32(nil, n+1)
	if b != nil {
		r := &reader{b: b}
		r.u32()
		out = append(out, b[r.i:]...)
	}
	return append(out, 0x60, 0x01, 0x7f, 0x01, 0x7f)
}

// appendImport adds the yield import (of type typeIdx) after the module's
// imports.
func appendImport(b []byte, typeIdx uint32) []byte {
	var n uint32
	var rest []byte
	if b != nil {
		r := &reader{b: b}
		n = r.u32()
		rest = b[r.i:]
	}
	out := appendU32(nil, n+1)
	out = append(out, rest...)
	out = appendU32(out, uint32(len(internalModule)))
	out = append(out, internalModule...)
	out = appendU32(out, uint32(len(yieldName)))
	out = append(out, yieldName...)
	out = append(out, 0x00)
	return appendU32(out, typeIdx)
}

func scanImports(b []byte, w *budget) (funcs, globals uint32, err error) {
	r := &reader{b: b, w: w}
	n := r.count(3) // module name, field name, kind: a byte each at least
	for range n {
		r.step()
		module := r.bytes(int(r.u32()))
		r.bytes(int(r.u32())) // name
		if r.err == nil && string(module) == internalModule {
			return 0, 0, fmt.Errorf("%w: the module imports from %q, which is reserved for the host", errReservedName, internalModule)
		}
		switch kind := r.byte(); kind {
		case 0x00: // function
			r.u32()
			funcs++
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
			if r.err == nil {
				return 0, 0, fmt.Errorf("import kind %d: %w", kind, errUnsupported)
			}
		}
		if r.err != nil {
			return 0, 0, r.err
		}
	}
	if r.err == nil && !r.done() {
		return 0, 0, errors.New("trailing bytes")
	}
	return funcs, globals, r.err
}

// scanTables refuses tables with an initialiser expression, whose
// function references the rewrite does not renumber.
func scanTables(b []byte, w *budget) error {
	r := &reader{b: b, w: w}
	n := r.count(2)
	for range n {
		r.step()
		if r.i < len(r.b) && r.b[r.i] == 0x40 {
			return fmt.Errorf("table with an initialiser: %w", errUnsupported)
		}
		r.byte() // reference type
		r.limits()
		if r.err != nil {
			return r.err
		}
	}
	return r.err
}

// rewriteGlobals renumbers ref.func in the initialisers of the module's
// globals and appends the fuel and depth globals (mutable i32).
func rewriteGlobals(b []byte, m *modInfo, w *budget) (out []byte, defined uint32, err error) {
	var body []byte
	if b != nil {
		r := &reader{b: b, w: w}
		defined = r.count(3) // type, mutability, end: a byte each at least
		for range defined {
			r.step()
			start := r.i
			r.byte()
			r.byte()
			if r.err != nil {
				return nil, 0, r.err
			}
			body = append(body, b[start:r.i]...)
			if body, err = rewriteExpr(r, body, m); err != nil {
				return nil, 0, err
			}
		}
		if r.err == nil && !r.done() {
			return nil, 0, errors.New("trailing bytes")
		}
		if r.err != nil {
			return nil, 0, r.err
		}
	}
	out = appendU32(nil, defined+2)
	out = append(out, body...)
	// fuel: i32, mutable, 0 (the first check yields; the host sets it
	// before every call anyway); depth: i32, mutable, 0 (likewise).
	out = append(out, 0x7f, 0x01, 0x41, 0x00, 0x0b)
	out = append(out, 0x7f, 0x01, 0x41, 0x00, 0x0b)
	return out, defined, nil
}

// rewriteExpr copies one constant expression (up to and including its
// end) from r to out, renumbering ref.func.
func rewriteExpr(r *reader, out []byte, m *modInfo) ([]byte, error) {
	last := r.i
	for {
		r.step()
		opStart := r.i
		op := r.byte()
		switch {
		case op == 0x0b:
			return append(out, r.b[last:r.i]...), r.err
		case op == 0x41 || op == 0x42:
			r.leb()
		case op == 0x43:
			r.bytes(4)
		case op == 0x44:
			r.bytes(8)
		case op == 0x23:
			r.u32()
		case op == 0xd0:
			r.byte()
		case op == 0xd2:
			idx := r.u32()
			if r.err != nil {
				return nil, r.err
			}
			out = append(out, r.b[last:opStart]...)
			out = append(out, 0xd2)
			out = appendU32(out, m.fn(idx))
			last = r.i
		case op == 0x6a || op == 0x6b || op == 0x6c || op == 0x7c || op == 0x7d || op == 0x7e: // extended constants
		case op == 0xfd:
			if sub := r.u32(); sub == 12 && r.err == nil { // v128.const
				r.bytes(16)
			} else if r.err == nil {
				return nil, fmt.Errorf("opcode 0xfd %d in a constant expression: %w", sub, errUnsupported)
			}
		default:
			if r.err == nil {
				return nil, fmt.Errorf("opcode 0x%02x in a constant expression: %w", op, errUnsupported)
			}
		}
		if r.err != nil {
			return nil, r.err
		}
	}
}

// rewriteElems renumbers the function indices of every element segment.
func rewriteElems(b []byte, m *modInfo, w *budget) ([]byte, error) {
	r := &reader{b: b, w: w}
	n := r.count(2)
	if r.err != nil {
		return nil, r.err
	}
	out := appendU32(make([]byte, 0, len(b)+len(b)/8), n)
	var err error
	for range n {
		r.step()
		flags := r.u32()
		if r.err != nil {
			return nil, r.err
		}
		if flags > 7 {
			return nil, fmt.Errorf("element segment flags %d: %w", flags, errUnsupported)
		}
		out = appendU32(out, flags)
		if flags&2 != 0 && flags&1 == 0 { // 2, 6: table index
			out = appendU32(out, r.u32())
		}
		if flags&1 == 0 { // 0, 2, 4, 6: active, offset expression
			if out, err = rewriteExpr(r, out, m); err != nil {
				return nil, err
			}
		}
		if flags != 0 && flags != 4 { // element kind or reference type
			out = append(out, r.byte())
		}
		k := r.count(1)
		out = appendU32(out, k)
		for range k {
			r.step()
			if flags&4 == 0 { // function indices
				idx := r.u32()
				out = appendU32(out, m.fn(idx))
			} else if out, err = rewriteExpr(r, out, m); err != nil {
				return nil, err
			}
			if r.err != nil {
				return nil, r.err
			}
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	if !r.done() {
		return nil, errors.New("trailing bytes")
	}
	return out, nil
}

func addExports(b []byte, m *modInfo, hasStart bool, startFunc uint32, w *budget) ([]byte, error) {
	var n uint32
	var rest []byte
	if b != nil {
		r := &reader{b: b, w: w}
		n = r.count(3) // name length, kind, index
		if r.err != nil {
			return nil, r.err
		}
		for range n {
			r.step()
			nameStart := r.i
			name := string(r.bytes(int(r.u32())))
			nameEnd := r.i
			kind := r.byte()
			idx := r.u32()
			if r.err != nil {
				return nil, r.err
			}
			if strings.HasPrefix(name, reservedPrefix) {
				return nil, fmt.Errorf("%w: the module exports %q; names starting with %q are reserved for the host",
					errReservedName, name, reservedPrefix)
			}
			rest = append(rest, b[nameStart:nameEnd]...)
			rest = append(rest, kind)
			if kind == 0x00 {
				idx = m.fn(idx)
			}
			rest = appendU32(rest, idx)
		}
		if !r.done() {
			// Bytes after the last export would end up between the
			// module's exports and the host's.
			return nil, errors.New("trailing bytes")
		}
	}
	added := uint32(2)
	if hasStart {
		added++
	}
	out := appendU32(nil, n+added)
	out = append(out, rest...)
	exp := func(name string, kind byte, idx uint32) {
		out = appendU32(out, uint32(len(name)))
		out = append(out, name...)
		out = append(out, kind)
		out = appendU32(out, idx)
	}
	exp(interruptExport, 0x03, m.fuel)
	exp(depthExport, 0x03, m.depth)
	if hasStart {
		exp(startExport, 0x00, m.fn(startFunc))
	}
	return out, nil
}

// checks holds the instruction sequences instrumentCode inserts.
type checks struct {
	fuel      []byte // at function entry and loop headers
	depthPre  []byte // before a call
	depthPost []byte // after it
}

func newChecks(m *modInfo) checks {
	fuel, depth, yield := appendU32(nil, m.fuel), appendU32(nil, m.depth), appendU32(nil, m.yield)
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	return checks{
		// global.get $fuel  i32.eqz  if  (call $yield (i32.const 0))  global.set $fuel  end
		// global.get $fuel  i32.const 1  i32.sub  global.set $fuel
		fuel: cat([]byte{0x23}, fuel, []byte{0x45, 0x04, 0x40, 0x41, yieldFuel, 0x10}, yield, []byte{0x24}, fuel, []byte{0x0b},
			[]byte{0x23}, fuel, []byte{0x41, 0x01, 0x6b, 0x24}, fuel),
		// global.get $depth  i32.eqz  if  (call $yield (i32.const 1))  drop  end
		// global.get $depth  i32.const 1  i32.sub  global.set $depth
		depthPre: cat([]byte{0x23}, depth, []byte{0x45, 0x04, 0x40, 0x41, yieldDepth, 0x10}, yield, []byte{0x1a, 0x0b},
			[]byte{0x23}, depth, []byte{0x41, 0x01, 0x6b, 0x24}, depth),
		// global.get $depth  i32.const 1  i32.add  global.set $depth
		depthPost: cat([]byte{0x23}, depth, []byte{0x41, 0x01, 0x6a, 0x24}, depth),
	}
}

// instrumentCode rewrites every function body of a code section and
// returns the largest frame estimate.
func instrumentCode(b []byte, m *modInfo, w *budget) ([]byte, int, error) {
	r := &reader{b: b, w: w}
	n := r.count(1) // a body's size takes a byte
	if r.err != nil {
		return nil, 0, r.err
	}
	c := newChecks(m)
	out := appendU32(make([]byte, 0, len(b)+len(b)/4), n)
	var body []byte
	maxFrame := 0
	for i := range n {
		r.step()
		size := r.u32()
		fn := r.bytes(int(size))
		if r.err != nil {
			return nil, 0, fmt.Errorf("function %d: %w", i, r.err)
		}
		var err error
		var locals uint64
		if body, locals, err = instrumentBody(body[:0], fn, &c, m, w); err != nil {
			return nil, 0, fmt.Errorf("function %d: %w", i, err)
		}
		frame := uint64(frameBytesPerValue)*(locals+uint64(m.maxParams)) + frameBytesFixed
		maxFrame = max(maxFrame, int(min(frame, 1<<40)))
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	if !r.done() {
		return nil, 0, errors.New("trailing bytes")
	}
	return out, maxFrame, nil
}

// instrumentBody copies one function body, adding the fuel check at its
// entry and after every loop's block type, the depth checks around every
// call (but calls of imported host functions), and renumbering function
// indices. It returns the body and its count of declared locals.
func instrumentBody(out, fn []byte, c *checks, m *modInfo, w *budget) ([]byte, uint64, error) {
	r := &reader{b: fn, w: w}
	groups := r.count(2) // count and type: a byte each at least
	var locals uint64
	for range groups {
		r.step()
		locals += uint64(r.u32())
		r.byte()
		if r.err != nil {
			break
		}
	}
	if r.err != nil {
		return nil, 0, fmt.Errorf("locals: %w", r.err)
	}
	out = append(out, fn[:r.i]...)
	out = append(out, c.fuel...)
	last := r.i // start of bytes not yet copied
	for !r.done() {
		r.step()
		opStart := r.i
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
			out = append(out, c.fuel...)
			last = r.i
		case op == 0x10 || op == 0x12: // call, return_call
			idx := r.u32()
			if r.err != nil {
				break
			}
			out = append(out, fn[last:opStart]...)
			host := idx < m.funcImports
			if !host {
				out = append(out, c.depthPre...)
			}
			out = append(out, op)
			out = appendU32(out, m.fn(idx))
			if !host {
				out = append(out, c.depthPost...)
			}
			last = r.i
		case op == 0xd2: // ref.func
			idx := r.u32()
			if r.err != nil {
				break
			}
			out = append(out, fn[last:opStart]...)
			out = append(out, op)
			out = appendU32(out, m.fn(idx))
			last = r.i
		case op == 0x0c || op == 0x0d || (op >= 0x20 && op <= 0x26):
			r.u32() // br, br_if, local/global/table get/set
		case op == 0x0e: // br_table: n labels and the default
			n := r.count(1)
			for i := uint32(0); i <= n && r.err == nil; i++ {
				r.step()
				r.u32()
			}
		case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
			r.u32()
			r.u32()
			if r.err != nil {
				break
			}
			out = append(out, fn[last:opStart]...)
			out = append(out, c.depthPre...)
			out = append(out, fn[opStart:r.i]...)
			out = append(out, c.depthPost...)
			last = r.i
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
			return nil, 0, fmt.Errorf("opcode 0x%02x: %w", op, errUnsupported)
		}
		if r.err != nil {
			return nil, 0, r.err
		}
	}
	return append(out, fn[last:]...), locals, nil
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
