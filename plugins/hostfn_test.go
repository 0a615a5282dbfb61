package plugins

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/fieldpart"
)

// A hand-written module using sluice.partition_by_json_field passes
// validation and routes by the field exactly as Kafka would route records
// keyed by the field's text.
func TestHostFunctionPartitionByJSONField(t *testing.T) {
	ctx := context.Background()
	p := hostFuncPartitioner(t, "testdata/fieldhost.wat", "sluice.partition_by_json_field")
	recs := []record.Record{
		{Key: []byte("k"), Value: []byte(`{"order":1,"customer_id":"c-42"}`), Headers: []record.Header{{Key: "h", Value: []byte("v")}}},
		{Value: []byte(`{"customer_id":12345}`)},
		{Value: []byte(`nope`)},
	}
	out := make([]int32, len(recs))
	if err := p.Partition(ctx, recs, 9, out); err != nil {
		t.Fatal(err)
	}
	want := []int32{partitioner.HashPartition([]byte("c-42"), 9), partitioner.HashPartition([]byte("12345"), 9), 0}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("record %d: partition %d, want %d", i, out[i], want[i])
		}
	}
}

// The host function checks every pointer and length against the module's
// memory and the batch's layout, and answers a negative code, never a trap
// or a read outside memory.
func TestHostFunctionRefusesBadArguments(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	mod := bareInstance(t, h, "testdata/fieldhost.wat")
	mem := mod.Memory()
	// A valid batch of one record at 1024: {"customer_id":"x"}.
	enc := make([]byte, batchSize([]record.Record{{Value: []byte(`{"customer_id":"x"}`)}}, allFields))
	encodeBatch(enc, []record.Record{{Value: []byte(`{"customer_id":"x"}`)}}, allFields)
	mem.Write(1024, enc)
	probe := mod.ExportedFunction("probe")
	size := mem.Size()
	for _, c := range []struct {
		name string
		args []uint64
		want int32
	}{
		{"valid", []uint64{1024, uint64(len(enc)), 64, 11, 4, 2048}, 1},
		{"batch past memory", []uint64{uint64(size - 8), 64, 64, 11, 4, 2048}, hostErrBounds},
		{"path past memory", []uint64{1024, uint64(len(enc)), uint64(size - 2), 11, 4, 2048}, hostErrBounds},
		{"out past memory", []uint64{1024, uint64(len(enc)), 64, 11, 4, uint64(size - 2)}, hostErrBounds},
		{"zero partitions", []uint64{1024, uint64(len(enc)), 64, 11, 0, 2048}, hostErrArgs},
		{"empty path", []uint64{1024, uint64(len(enc)), 64, 0, 4, 2048}, hostErrArgs},
		{"truncated batch", []uint64{1024, uint64(len(enc) - 3), 64, 11, 4, 2048}, hostErrMalformed},
		{"huge count", []uint64{64, 8, 64, 11, 4, 2048}, hostErrMalformed},
	} {
		res, err := probe.Call(ctx, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := int32(res[0]); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if v, _ := mem.ReadUint32Le(2048); int32(v) != partitioner.HashPartition([]byte("x"), 4) {
		t.Errorf("valid call wrote partition %d", int32(v))
	}
}

// hostFuncPartitioner validates the WAT module file, checks that it
// imports exactly hostImport, and returns a partitioner of
// it (closed with the test).
func hostFuncPartitioner(t *testing.T, file, hostImport string) *WasmPartitioner {
	t.Helper()
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	wasm := buildWAT(t, file)
	info, err := h.Validate(ctx, wasm, KindPartitioner)
	if err != nil {
		t.Fatalf("validate: %v", err)
	}
	if len(info.Imports) != 1 || info.Imports[0] != hostImport {
		t.Fatalf("imports %v, want [%s]", info.Imports, hostImport)
	}
	p, err := h.Partitioner(ctx, Module{Name: "field", Version: 1, Wasm: wasm}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// bareInstance instantiates the WAT module file on h's runtime as it is:
// not instrumented, outside any call (closed with the test), for probing
// the host functions directly.
func bareInstance(t *testing.T, h *Host, file string) api.Module {
	t.Helper()
	mod, err := h.rt.InstantiateModule(context.Background(), mustCompile(t, h, buildWAT(t, file)), wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mod.Close(context.Background()) })
	return mod
}

func mustCompile(t *testing.T, h *Host, wasm []byte) wazero.CompiledModule {
	t.Helper()
	c, err := h.rt.CompileModule(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// A hand-written module using sluice.partition_call_by_json_field and
// asking for keys only is sent no values (it traps if one arrives), and
// still routes by the field of each record's value exactly as Kafka would
// route records keyed by the field's text: the host reads the records
// where it holds them.
func TestHostFunctionPartitionCallByJSONField(t *testing.T) {
	ctx := context.Background()
	p := hostFuncPartitioner(t, "testdata/fieldcall.wat", "sluice.partition_call_by_json_field")
	recs := []record.Record{
		{Key: []byte("k"), Value: []byte(`{"order":1,"customer_id":"c-42"}`), Headers: []record.Header{{Key: "h", Value: []byte("v")}}},
		{Value: []byte(`{"customer_id":12345}`)},
		{Value: []byte(`nope`)},
		{Key: []byte{}, Value: []byte(`{"customer_id":"c-\u0034\u0032"}`)},
	}
	for i := range 1000 {
		recs = append(recs, record.Record{Key: fmt.Appendf(nil, "o-%d", i), Value: fmt.Appendf(nil, `{"order":%d,"customer_id":"c-%d"}`, i, i%37)})
	}
	for _, partitions := range []int{1, 9, 64} {
		out := make([]int32, len(recs))
		if err := p.Partition(ctx, recs, partitions, out); err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			want := fieldpart.Partition(recs[i].Value, []string{"customer_id"}, partitions)
			if want < 0 {
				want = 0
			}
			if i == 0 && want != partitioner.HashPartition([]byte("c-42"), partitions) || i == 3 && want != partitioner.HashPartition([]byte("c-42"), partitions) {
				t.Fatalf("record %d: fieldpart gives %d, not Kafka's partition of c-42", i, want)
			}
			if out[i] != want {
				t.Fatalf("%d partitions, record %d: partition %d, want %d", partitions, i, out[i], want)
			}
		}
	}
}

// Outside a partition call (sluice_init, a processor, a bare call) the
// call's host function answers -4; within one it checks the path and out
// ranges against the module's memory and answers a negative code, never a
// trap or a read outside memory.
func TestHostFunctionCallRefusesBadArguments(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	mod := bareInstance(t, h, "testdata/fieldcall.wat")
	mem := mod.Memory()
	probe := mod.ExportedFunction("probe")
	call := func(ctx context.Context, args ...uint64) int32 {
		t.Helper()
		res, err := probe.Call(ctx, args...)
		if err != nil {
			t.Fatal(err)
		}
		return int32(res[0])
	}
	if got := call(ctx, 64, 11, 2048); got != hostErrNoCall {
		t.Fatalf("outside a call: %d, want %d", got, hostErrNoCall)
	}
	if got := call(withGuest(ctx, &guestIO{}), 64, 11, 2048); got != hostErrNoCall {
		t.Fatalf("outside a partition call: %d, want %d", got, hostErrNoCall)
	}
	in := withGuest(ctx, &guestIO{batch: []record.Record{{Value: []byte(`{"customer_id":"x"}`)}, {Value: []byte(`[]`)}}, partitions: 4})
	size := mem.Size()
	for _, c := range []struct {
		name string
		args []uint64
		want int32
	}{
		{"valid", []uint64{64, 11, 2048}, 2},
		{"path past memory", []uint64{uint64(size - 2), 11, 2048}, hostErrBounds},
		{"out past memory", []uint64{64, 11, uint64(size - 4)}, hostErrBounds},
		{"empty path", []uint64{64, 0, 2048}, hostErrArgs},
	} {
		if got := call(in, c.args...); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	first, _ := mem.ReadUint32Le(2048)
	second, _ := mem.ReadUint32Le(2052)
	if int32(first) != partitioner.HashPartition([]byte("x"), 4) || int32(second) != fieldpart.Missing {
		t.Errorf("valid call wrote %d, %d", int32(first), int32(second))
	}
}

// Fault: a module calls the batch host function in a loop (each call a
// native scan of the whole batch, thousands between two fuel checks).
// Guarantee: the host function checks the call's deadline itself, so the
// call stops near its limit, not a quantum of whole-batch scans later
// (before the check, a review's module of this kind with larger batches ran
// 13.5 s against a 50 ms limit; the deterministic part below fails without
// the check).
func TestHostFunctionLoopStopsAtTheLimit(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	p, err := h.Partitioner(ctx, Module{Name: "hostloop", Version: 1, Wasm: buildWAT(t, "testdata/hostloop.wat"),
		Limits: Limits{CallTimeout: 50 * time.Millisecond}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	value := fmt.Appendf(nil, `{"order":1,"customer_id":"c-1","pad":"%s"}`, strings.Repeat("x", 4000))
	recs := make([]record.Record, 1024)
	for i := range recs {
		recs[i] = record.Record{Value: value}
	}
	start := time.Now()
	err = p.Partition(ctx, recs, 4, make([]int32, len(recs)))
	took := time.Since(start)
	checkMeasured(t, err, 50*time.Millisecond, took)
	if took > 10*time.Second {
		t.Fatalf("a 50 ms call ran %v", took)
	}

	// The check itself, deterministically: past the deadline, the host
	// function traps the call instead of scanning.
	mod := bareInstance(t, h, "testdata/fieldcall.wat")
	late := withGuest(ctx, &guestIO{batch: recs[:1], partitions: 4, clock: &clock{deadline: time.Now().Add(-time.Second)}})
	if _, err := mod.ExportedFunction("probe").Call(late, 64, 11, 2048); !errors.Is(err, errInterrupted) {
		t.Fatalf("past the deadline: err = %v, want errInterrupted", err)
	}
}
