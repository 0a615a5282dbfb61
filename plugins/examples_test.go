package plugins

import (
	"context"
	"fmt"
	"github.com/sluicehq/sluice/internal/testtool"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/record"
)

// goBuilds caches the Go example modules, built once per test binary run.
var goBuilds struct {
	once sync.Once
	dir  string
	err  error
}

// TestMain can't clean this up after goleak's os.Exit, so the build dir
// lives under the OS temp dir and is removed by cleanupGoBuilds.
func exampleWasm(t testing.TB, name string) []byte {
	t.Helper()
	goBuilds.once.Do(func() {
		goBuilds.dir, goBuilds.err = os.MkdirTemp("", "sluice-plugin-examples-")
		if goBuilds.err != nil {
			return
		}
		goBin := testtool.GoCommand()
		if _, err := os.Stat(goBin); err != nil {
			if goBin, err = exec.LookPath("go"); err != nil {
				goBuilds.err = fmt.Errorf("no go toolchain: %w", err)
				return
			}
		}
		for _, pkg := range []string{"examples/json-partitioner", "examples/filter-redact",
			"examples/flatten", "plugins/testdata/gohostile"} {
			ex := filepath.Base(pkg)
			cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-o",
				filepath.Join(goBuilds.dir, ex+".wasm"), "./"+pkg)
			cmd.Dir = ".."
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				goBuilds.err = fmt.Errorf("build %s: %v\n%s", ex, err, out)
				return
			}
		}
	})
	if goBuilds.err != nil {
		t.Fatal(goBuilds.err)
	}
	b, err := os.ReadFile(filepath.Join(goBuilds.dir, name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cleanupGoBuilds() {
	if goBuilds.dir != "" {
		os.RemoveAll(goBuilds.dir)
	}
}

// sharedHost is one Host (with one compilation cache) for the tests that run
// the Go examples, so each example compiles once per run.
var shared struct {
	once sync.Once
	h    *Host
	logs *syncBuffer
	err  error
}

func sharedHost(t testing.TB) *Host {
	t.Helper()
	shared.once.Do(func() {
		shared.logs = &syncBuffer{}
		// Under the race detector wazero's compiler takes ~40 s per Go
		// module; the interpreter checks the same behaviour in seconds. The
		// compiler itself is exercised by the WAT tests in either mode.
		shared.h, shared.err = NewHost(context.Background(), Config{
			Logger: newLogger(shared.logs), Interpreter: raceEnabled,
			DefaultLimits: Limits{CallTimeout: 30 * time.Second}, // behaviour tests, not time limits
			BackoffAfter:  1 << 20,
		})
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.h
}

func closeSharedHost() {
	if shared.h != nil {
		shared.h.Close(context.Background())
	}
}

func TestJSONPartitionerExample(t *testing.T) {
	h := sharedHost(t)
	ctx := context.Background()
	wasm := exampleWasm(t, "json-partitioner")
	info, err := h.Validate(ctx, wasm, KindPartitioner)
	if err != nil {
		t.Fatal(err)
	}
	if !containsAll(strings.Join(info.Imports, " "), "wasi_snapshot_preview1.fd_write") {
		t.Errorf("imports = %v", info.Imports)
	}
	m := Module{Name: "by-customer", Version: 1, Wasm: wasm}
	p, err := h.Partitioner(ctx, m, map[string]string{"field": "customer_id"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	// Records without the field at the start, in the middle, twice in a
	// row and at the end go by their keys (the module walks the batch only
	// up to each of them).
	missing := map[int]bool{0: true, 250: true, 251: true, 500: true}
	var recs []record.Record
	for i := range 501 {
		if missing[i] {
			recs = append(recs, record.Record{Key: fmt.Appendf(nil, "k-no-json-%d", i), Value: []byte("not json")})
			continue
		}
		recs = append(recs, record.Record{
			Key:   fmt.Appendf(nil, "order-%d", i),
			Value: fmt.Appendf(nil, `{"order_id":"o-%d","customer_id":"c-%d","total":%d}`, i, i%37, i),
		})
	}
	out := make([]int32, len(recs))
	if err := p.Partition(ctx, recs, 6, out); err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		want := partitioner.HashPartition(fmt.Appendf(nil, "c-%d", i%37), 6)
		if missing[i] {
			want = partitioner.HashPartition(recs[i].Key, 6)
		}
		if out[i] != want {
			t.Fatalf("record %d (missing field: %v): partition %d, want %d", i, missing[i], out[i], want)
		}
	}

	// missing=error makes a record without the field fail the whole batch
	// with the plugin's message.
	strict, err := h.Partitioner(ctx, m, map[string]string{"field": "customer_id", "missing": "error"})
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close(ctx)
	err = strict.Partition(ctx, recs, 6, out)
	if err == nil || !strings.Contains(err.Error(), `plugin by-customer@1: plugin failed: panic: record has no JSON field "customer_id"`) {
		t.Fatalf("err = %v", err)
	}
	// Parameters are checked when the partitioner is created.
	if _, err := h.Partitioner(ctx, m, nil); err == nil || !strings.Contains(err.Error(), `missing parameter "field"`) {
		t.Fatalf("no params: err = %v", err)
	}
}

func TestFilterRedactExample(t *testing.T) {
	h := sharedHost(t)
	ctx := context.Background()
	pr, err := h.Processor(ctx, Module{Name: "redact", Version: 3, Wasm: exampleWasm(t, "filter-redact")},
		map[string]string{"drop-field": "status", "drop-values": "cancelled", "redact": "email"})
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close(ctx)
	in := []record.Record{
		{Offset: 100, Key: []byte("a"), Value: []byte(`{"status":"paid","email":"a@example.com"}`)},
		{Offset: 101, Value: []byte(`{"status":"cancelled","email":"b@example.com"}`)},
		{Offset: 102, Value: []byte(`{"status":"paid"}`), Headers: []record.Header{{Key: "h", Value: []byte("1")}}},
		{Offset: 103, Value: []byte(`{"status":"cancelled"}`)},
	}
	outs, err := pr.Process(ctx, 2, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || outs[0].SourceOffset != 100 || outs[1].SourceOffset != 102 {
		t.Fatalf("outputs = %+v", outs)
	}
	if string(outs[0].Value) != `{"status":"paid","email":"***"}` || string(outs[0].Key) != "a" ||
		string(outs[1].Value) != `{"status":"paid"}` || len(outs[1].Headers) != 1 {
		t.Errorf("outputs = %s / %s", outs[0].Value, outs[1].Value)
	}
	// The last input (103) was filtered: a consumer commits past the batch,
	// at in[len(in)-1].Offset+1, not past the last output.
	if outs[len(outs)-1].SourceOffset >= in[len(in)-1].Offset {
		t.Error("test expects the batch to end with a filtered record")
	}
}

func TestFlattenExample(t *testing.T) {
	h := sharedHost(t)
	ctx := context.Background()
	pr, err := h.Processor(ctx, Module{Name: "flatten", Version: 1, Wasm: exampleWasm(t, "flatten")},
		map[string]string{"field": "items", "key-field": "sku"})
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close(ctx)
	in := []record.Record{
		{Offset: 5, Timestamp: 1234, Value: []byte(`{"items":[{"sku":"x"},{"sku":"y"},{"sku":"z"}]}`)},
		{Offset: 6, Value: []byte(`{"items":[]}`)},
		{Offset: 7, Value: []byte(`{"items":[{"sku":"w"}]}`)},
	}
	outs, err := pr.Process(ctx, 0, in)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range outs {
		got = append(got, fmt.Sprintf("%d:%s:%s", o.SourceOffset, o.Key, o.Value))
	}
	want := `5:x:{"sku":"x"} 5:y:{"sku":"y"} 5:z:{"sku":"z"} 7:w:{"sku":"w"}`
	if strings.Join(got, " ") != want {
		t.Fatalf("outputs\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if outs[0].Timestamp != 1234 {
		t.Errorf("timestamp = %d", outs[0].Timestamp)
	}
}

// Concurrent batches on a small pool: every call gets a correct answer and
// the pool never runs more instances than its bound.
func TestConcurrentCallsShareBoundedPool(t *testing.T) {
	h, _ := newTestHost(t, Config{MaxInstancesPerModule: 2})
	ctx := context.Background()
	p, err := h.Partitioner(ctx, watModule(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs := []record.Record{{Key: fmt.Appendf(nil, "k%d", w)}}
			out := make([]int32, 1)
			for range 50 {
				if err := p.Partition(ctx, recs, 5, out); err != nil {
					t.Error(err)
					return
				}
				if out[0] != partitioner.HashPartition(recs[0].Key, 5) {
					t.Errorf("worker %d: wrong partition %d", w, out[0])
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := len(p.pool.tokens); n > 2 {
		t.Errorf("%d live instances, bound is 2", n)
	}
}

// Users of the same module and parameters share a pool; it is dropped, with
// its instances and compiled module, when the last one closes.
func TestPoolDroppedWithLastUser(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	a, err := h.Partitioner(ctx, watModule(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Partitioner(ctx, watModule(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.pool != b.pool {
		t.Fatal("same module and params got separate pools")
	}
	a.Close(ctx)
	a.Close(ctx) // idempotent
	if err := b.Partition(ctx, []record.Record{{}}, 2, make([]int32, 1)); err != nil {
		t.Fatalf("second user broken by first's Close: %v", err)
	}
	b.Close(ctx)
	h.mu.Lock()
	pools, idle := len(h.pools), len(h.idle)
	h.mu.Unlock()
	if pools != 0 || idle != 1 || len(b.pool.tokens) != 0 || len(b.pool.idle) != 0 {
		t.Fatalf("after last Close: %d pools, %d live instances; %d idle compiled modules (want 0, 0, 1)",
			pools, len(b.pool.tokens), idle)
	}
	if err := b.Partition(ctx, []record.Record{{}}, 2, make([]int32, 1)); err == nil {
		t.Fatal("Partition after Close succeeded")
	}
}
