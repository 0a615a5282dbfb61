package plugins

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// wasmHeader is the magic number and version 1.
const wasmHeader = "\x00asm\x01\x00\x00\x00"

// hostileModule is a module of wasmHeader and one section.
func hostileModule(id byte, body ...byte) []byte {
	b := []byte(wasmHeader)
	b = append(b, id)
	b = appendU32(b, uint32(len(body)))
	return append(b, body...)
}

var maxU32 = []byte{0xff, 0xff, 0xff, 0xff, 0x0f}

// hostileModules are small modules whose counts promise far more elements
// than they hold. Before counts were checked against the bytes left, the
// locals one (18 bytes) kept the instrumenter looping 2^32 times, holding
// the host's compile lock for seconds.
var hostileModules = map[string][]byte{
	"locals":   hostileModule(secCode, append(append([]byte{1, 6}, maxU32...), 0x0b)...),
	"code":     hostileModule(secCode, maxU32...),
	"imports":  hostileModule(secImport, maxU32...),
	"exports":  hostileModule(secExport, maxU32...),
	"br_table": hostileModule(secCode, append(append([]byte{1, 8, 0, 0x0e}, maxU32...), 0x0b)...),
}

func TestInstrumentRefusesCountsPastTheInput(t *testing.T) {
	for name, wasm := range hostileModules {
		t.Run(name, func(t *testing.T) {
			_, err := instrument(wasm)
			if !errors.Is(err, errCountTooLarge) {
				t.Fatalf("instrument(% x) = %v, want errCountTooLarge", wasm, err)
			}
		})
	}
	// Through the host, the refusal is an invalid module and the host
	// keeps compiling.
	h, _ := newTestHost(t, Config{})
	_, err := h.Validate(context.Background(), hostileModules["locals"], KindPartitioner)
	if !errors.Is(err, ErrInvalidModule) || !strings.Contains(err.Error(), errCountTooLarge.Error()) {
		t.Fatalf("Validate = %v, want ErrInvalidModule naming the count", err)
	}
}

// A name section is renumbered for the yield import and keeps only what
// wazero reads (function and local names); one that does not parse or that
// wazero would refuse is dropped, never an error (names are optional), and
// the module still compiles.
func TestInstrumentNameSection(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	named := buildWAT(t, "testdata/trapdeep.wat") // with --debug-names
	out, err := instrument(named)
	if err != nil {
		t.Fatal(err)
	}
	names, ok := nameSection(t, out)
	if !ok {
		t.Fatal("the name section was dropped")
	}
	// Functions 0-4 of the module become 1-5 (the yield import is 0):
	// check_order was 2, now 3.
	if !bytes.Contains(names, append([]byte{3, byte(len("check_order"))}, "check_order"...)) {
		t.Fatalf("check_order not renumbered to 3 in % x", names)
	}
	sub := func(id byte, body ...byte) []byte { return append(appendU32([]byte{id}, uint32(len(body))), body...) }
	section := func(subs ...[]byte) []byte {
		b := []byte{4, 'n', 'a', 'm', 'e'}
		for _, s := range subs {
			b = append(b, s...)
		}
		return b
	}
	fnNames := sub(1, 1, 0, 2, 'o', 'k')             // function 0 is "ok"
	renumbered := section(sub(1, 1, 1, 2, 'o', 'k')) // after the yield import: 1
	for _, c := range []struct {
		name     string
		sections [][]byte
		kept     bool
	}{
		{"a count past its bytes", [][]byte{section(sub(1, 0xff, 0xff, 0xff, 0xff, 0x0f))}, false},
		{"a truncated entry", [][]byte{section(sub(1, 1, 0))}, false},
		{"a subsection past the section", [][]byte{{4, 'n', 'a', 'm', 'e', 1, 9}}, false},
		{"a name not UTF-8", [][]byte{section(sub(1, 1, 0, 2, 0xff, 0xfe))}, false},
		{"a local name not UTF-8", [][]byte{section(sub(2, 1, 0, 1, 0, 1, 0xc3))}, false},
		{"two name sections", [][]byte{section(fnNames), section(fnNames)}, true},
		{"a module name of the wrong size", [][]byte{section(sub(0, 9, 'm'), fnNames)}, true},
		{"label names", [][]byte{section(fnNames, sub(3, 1, 0, 1, 0, 1, 'l'))}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			wasm := []byte(wasmHeader)
			for _, body := range c.sections {
				wasm = append(appendU32(append(wasm, secCustom), uint32(len(body))), body...)
			}
			out, err := instrument(wasm)
			if err != nil {
				t.Fatalf("instrument: %v, want the names dropped", err)
			}
			names, ok := nameSection(t, out)
			if ok != c.kept {
				t.Fatalf("name section kept: %v, want %v (% x)", ok, c.kept, names)
			}
			if ok && !bytes.Equal(names, renumbered) {
				t.Fatalf("kept % x, want only the function names, renumbered: % x", names, renumbered)
			}
			if n := bytes.Count(out, []byte{4, 'n', 'a', 'm', 'e'}); n > 1 {
				t.Fatalf("%d name sections kept", n)
			}
			if _, err := h.rt.CompileModule(ctx, out); err != nil {
				t.Fatalf("wazero refuses the rewritten module: %v", err)
			}
		})
	}
}

// nameSection returns the body of the "name" custom section of wasm.
func nameSection(t *testing.T, wasm []byte) ([]byte, bool) {
	t.Helper()
	r := &reader{b: wasm, i: 8}
	for !r.done() {
		id := r.byte()
		body := r.bytes(int(r.u32()))
		if id == secCustom && customName(body) == "name" {
			return body, true
		}
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	return nil, false
}

func TestInstrumentWorkIsMetered(t *testing.T) {
	// A budget smaller than the module's loop count stops the walk with
	// errWorkLimit (the backstop behind the byte bounds).
	body := []byte{1, 0, 0}
	for range 100 {
		body = append(body, 0x01) // nop
	}
	body = append(body, 0x0b)
	body[1] = byte(len(body) - 2)
	r := &reader{b: body, w: &budget{left: 10}}
	r.count(1)
	for !r.done() {
		r.step()
		r.byte()
	}
	if !errors.Is(r.err, errWorkLimit) {
		t.Fatalf("err = %v, want errWorkLimit", r.err)
	}
}

// FuzzInstrument feeds arbitrary bytes to the instrumenter, which reads
// uploaded modules before wazero validates them. It must never panic,
// never exhaust its work budget (every loop is bounded by the bytes left),
// and on success produce a deterministic output of bounded size that
// exports the interrupt global (so instrumenting it again is refused as a
// reserved name). The seed corpus (testdata/fuzz/FuzzInstrument) holds the
// WAT modules of testdata and examples built with wat2wasm, and the
// hostile modules above.
func FuzzInstrument(f *testing.F) {
	for _, wasm := range hostileModules {
		f.Add(wasm)
	}
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, err := instrument(wasm)
		if errors.Is(err, errWorkLimit) {
			t.Fatalf("work budget exhausted: a loop is not bounded by the input")
		}
		if err != nil {
			return
		}
		// One fuel check (at most 36 bytes with 5-byte indices) per loop
		// opcode (at least 2 bytes) and function body (at least 3 bytes
		// with its size), the depth checks around a call (at most 53
		// bytes, for at least 2), plus the new type, import, globals,
		// exports and section headers.
		if limit := 27*len(wasm) + 256; len(out) > limit {
			t.Fatalf("output %d bytes for %d input bytes (limit %d)", len(out), len(wasm), limit)
		}
		again, err := instrument(wasm)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("instrument is not deterministic (second err %v)", err)
		}
		if !bytes.Contains(out, []byte(interruptExport)) {
			t.Fatal("output does not export the interrupt global")
		}
		if _, err := instrument(out); !errors.Is(err, errReservedName) {
			t.Fatalf("re-instrumenting the output: %v, want errReservedName", err)
		}
	})
}

// A section repeated or out of order (found by FuzzInstrument: a second
// type section was written twice, replaced) is refused, naming it.
func TestInstrumentRefusesSectionsOutOfOrder(t *testing.T) {
	for name, wasm := range map[string][]byte{
		"type twice":       append(hostileModule(secType, 0), hostileModule(secType, 0)[8:]...),
		"code before type": append(hostileModule(secCode, 0), hostileModule(secType, 0)[8:]...),
	} {
		if _, err := instrument(wasm); err == nil || !strings.Contains(err.Error(), "repeated or out of order") {
			t.Errorf("%s: err = %v, want it refused", name, err)
		}
	}
}
