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

// A name section is renumbered for the yield import; one that does not
// parse is dropped, never an error (names are optional), and the module is
// still accepted.
func TestInstrumentNameSection(t *testing.T) {
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
	for _, junk := range [][]byte{
		{4, 'n', 'a', 'm', 'e', 1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f}, // a count past its bytes
		{4, 'n', 'a', 'm', 'e', 1, 2, 1, 0},                         // a truncated entry
		{4, 'n', 'a', 'm', 'e', 1, 9},                               // a subsection past the section
	} {
		bad := append([]byte(wasmHeader), secCustom)
		bad = appendU32(bad, uint32(len(junk)))
		bad = append(bad, junk...)
		out, err := instrument(bad)
		if err != nil {
			t.Fatalf("name section % x: %v, want it dropped", junk, err)
		}
		if _, ok := nameSection(t, out); ok {
			t.Fatalf("malformed name section % x kept", junk)
		}
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
