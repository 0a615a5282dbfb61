package plugins

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/record"
)

func TestInstrumentDeterministicAndValid(t *testing.T) {
	wasm := buildWAT(t, watPartitioner)
	a, err := instrument(wasm)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := instrument(wasm)
	if !bytes.Equal(a, b) {
		t.Fatal("instrument is not deterministic: the disk cache would miss")
	}
	if !bytes.Contains(a, []byte(interruptExport)) || len(a) <= len(wasm) {
		t.Fatal("no interrupt global added")
	}
	for _, bad := range [][]byte{wasm[:20], append(bytes.Clone(wasm[:8]), 99, 1, 0)} {
		if _, err := instrument(bad); err == nil {
			t.Errorf("instrument(% x...) succeeded", bad[:min(len(bad), 12)])
		}
	}
}

// A module's start function still runs before the first call (the host
// calls it as an export), and one that never returns cannot hang
// instantiation.
func TestStartFunction(t *testing.T) {
	h, _ := newTestHost(t, Config{InstantiateTimeout: time.Second})
	ctx := context.Background()
	p, err := h.Partitioner(ctx, Module{Name: "start", Version: 1, Wasm: buildWAT(t, "testdata/startok.wat")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	out := make([]int32, 2)
	if err := p.Partition(ctx, someRecords, 3, out); err != nil || out[0] != 1 || out[1] != 1 {
		t.Fatalf("partitions %v, err %v; want the start function's 1", out, err)
	}

	start := time.Now()
	_, err = h.Partitioner(ctx, Module{Name: "spin", Version: 1, Wasm: buildWAT(t, "testdata/startloop.wat")}, nil)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "start function") {
		t.Fatalf("err = %v, want a start-function timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
	assertStillServes(t, h)
}

func TestReservedExportRefused(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	_, err := h.Validate(context.Background(), buildWAT(t, "testdata/reserved.wat"), KindPartitioner)
	if !errors.Is(err, ErrInvalidModule) || !strings.Contains(err.Error(), `"__sluice_interrupt"; names starting with "__sluice_" are reserved for the host`) || strings.Contains(err.Error(), "malformed") {
		t.Fatalf("err = %v", err)
	}
}

// A call that finishes near its deadline leaves the instance usable: the
// interrupt flag never leaks into the next call.
func TestInterruptFlagResets(t *testing.T) {
	h, _ := newTestHost(t, Config{MaxInstancesPerModule: 1})
	ctx := context.Background()
	p, err := h.Partitioner(ctx, Module{Name: "wat", Version: 1, Wasm: buildWAT(t, watPartitioner),
		Limits: Limits{CallTimeout: time.Millisecond}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	recs := make([]record.Record, 20000)
	out := make([]int32, len(recs))
	var ok, timedOut int
	for range 30 {
		switch err := p.Partition(ctx, recs, 3, out); {
		case err == nil:
			ok++
		case errors.Is(err, ErrTimeout):
			timedOut++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	// Whatever mix of timeouts the machine produced, a leaked flag would make
	// later calls trap at once (a trap, not ErrTimeout, since no watchdog
	// fired for them): small batches must keep succeeding.
	succeeded := 0
	for range 20 {
		err := p.Partition(ctx, recs[:1], 3, out[:1])
		if err != nil && !errors.Is(err, ErrTimeout) {
			t.Fatalf("after %d ok / %d timed out: %v", ok, timedOut, err)
		}
		if err == nil {
			succeeded++
		}
	}
	if succeeded == 0 {
		t.Fatal("no small batch succeeded")
	}
}

// The host's internal import module is not for plugins: a module that
// imports from it (to refill its own fuel, say) is refused, saying why.
func TestInternalImportRefused(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	_, err := h.Validate(context.Background(), buildWAT(t, "testdata/importsinternal.wat"), KindPartitioner)
	if !errors.Is(err, ErrInvalidModule) || !strings.Contains(err.Error(), `the module imports from "sluice_internal", which is reserved for the host`) {
		t.Fatalf("err = %v", err)
	}
}

// The rewrite renumbers function indices (the yield import comes after
// the module's own imports): exports, the start function, calls,
// ref.func and element segments still reach the same functions, so a
// module with an imported function, a table of functions called
// indirectly and a start function computes what it did before.
func TestInstrumentRenumbersFunctions(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	info, err := h.Validate(ctx, buildWAT(t, "testdata/indirect.wat"), KindPartitioner)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range info.Imports {
		if strings.HasPrefix(imp, internalModule) {
			t.Fatalf("imports %v list the host's internal import", info.Imports)
		}
	}
	p, err := h.Partitioner(ctx, Module{Name: "indirect", Version: 1, Wasm: buildWAT(t, "testdata/indirect.wat")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	out := make([]int32, 2)
	if err := p.Partition(ctx, someRecords, 5, out); err != nil || out[0] != 4 || out[1] != 4 {
		t.Fatalf("partitions %v, err %v; want 4 (start function's 1 + 3 through the table)", out, err)
	}
}
