package plugins

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The node budget bounds memory growth below a plugin's own limit: the
// call fails with ErrMemoryLimit naming the budget, and the budget is all
// returned once the instance is gone.
func TestMemoryBudgetBoundsGrowth(t *testing.T) {
	h, _ := newTestHost(t, Config{MemoryBudget: 3 << 20, MaxInstancesPerModule: 1})
	ctx := context.Background()
	p, err := h.Partitioner(ctx, Module{Name: "grow", Version: 1, Wasm: buildWAT(t, "testdata/grow.wat"),
		Limits: Limits{MemoryPages: 1024}}, nil) // 64 MiB limit, over the 3 MiB budget
	if err != nil {
		t.Fatal(err)
	}
	err = p.Partition(ctx, someRecords, 3, make([]int32, 2))
	if !errors.Is(err, ErrMemoryLimit) || !strings.Contains(err.Error(), "plugin memory budget of 3 MiB is used up") {
		t.Fatalf("err = %v, want the node budget named", err)
	}
	if used := h.memory.used.Load(); used > 3<<20 {
		t.Fatalf("%d bytes reserved, over the 3 MiB budget", used)
	}
	p.Close(ctx)
	if used := h.memory.used.Load(); used != 0 {
		t.Fatalf("%d bytes still reserved after the last instance closed", used)
	}
}

// Idle pooled instances count against the budget, and are closed to make
// room for an instance that needs it; an instance that cannot fit even
// then is refused with a message naming the budget.
func TestMemoryBudgetCountsIdleInstances(t *testing.T) {
	h, _ := newTestHost(t, Config{MemoryBudget: 5 << 20})
	ctx := context.Background()
	mem32 := buildWAT(t, "testdata/mem32.wat")
	a, err := h.Partitioner(ctx, Module{Name: "a", Version: 1, Wasm: mem32}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	if used := h.memory.used.Load(); used != 2<<20 {
		t.Fatalf("one idle 2 MiB instance: %d bytes reserved", used)
	}
	b, err := h.Partitioner(ctx, Module{Name: "b", Version: 1, Wasm: mem32}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	// A third 2 MiB instance does not fit in 5 MiB: an idle one is closed.
	c, err := h.Partitioner(ctx, Module{Name: "c", Version: 1, Wasm: mem32}, nil)
	if err != nil {
		t.Fatalf("third instance, with idle ones to evict: %v", err)
	}
	defer c.Close(ctx)
	if used := h.memory.used.Load(); used != 4<<20 {
		t.Fatalf("after eviction: %d bytes reserved, want 4 MiB", used)
	}
	// The evicted plugin starts a new instance on its next call.
	out := make([]int32, 2)
	for _, p := range []*WasmPartitioner{a, b, c} {
		if err := p.Partition(ctx, someRecords, 3, out); err != nil || out[0] != 2 {
			t.Fatalf("%s: %v %v", p.pool.key.id, out, err)
		}
	}
	// Busy instances are never evicted: with all three plugins' instances
	// taken out of their pools, a fourth start-up does not fit.
	var held []*instance
	for _, p := range []*WasmPartitioner{a, b} {
		inst, err := p.pool.get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, inst)
	}
	defer func() {
		for i, p := range []*WasmPartitioner{a, b} {
			p.pool.put(ctx, held[i])
		}
	}()
	if used := h.memory.used.Load(); used > 5<<20 {
		t.Fatalf("%d bytes reserved, over the budget", used)
	}
	big, err := h.Partitioner(ctx, Module{Name: "big", Version: 1, Wasm: mem32}, nil)
	if err == nil {
		big.Close(ctx)
		t.Fatal("a third busy 2 MiB instance started beside c's within a 5 MiB budget")
	}
	if !errors.Is(err, ErrMemoryLimit) || !strings.Contains(err.Error(), "plugin memory budget of 5 MiB has no room") {
		t.Fatalf("err = %v, want the budget named", err)
	}
}

// Instances idle past IdleInstanceTimeout are closed, one per pool stays.
func TestIdleInstancesReleased(t *testing.T) {
	h, _ := newTestHost(t, Config{IdleInstanceTimeout: 20 * time.Millisecond, MaxInstancesPerModule: 4, MaxConcurrentCalls: 4})
	ctx := context.Background()
	p, err := h.Partitioner(ctx, Module{Name: "m", Version: 1, Wasm: buildWAT(t, "testdata/mem32.wat")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	// Take three instances at once so the pool holds three.
	var insts []*instance
	for range 3 {
		inst, err := p.pool.get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		insts = append(insts, inst)
	}
	for _, inst := range insts {
		p.pool.put(ctx, inst)
	}
	if used := h.memory.used.Load(); used != 3*(2<<20) {
		t.Fatalf("three idle instances: %d bytes", used)
	}
	deadline := time.Now().Add(30 * time.Second)
	for h.memory.used.Load() != 2<<20 || len(p.pool.idle) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("idle instances not released: %d bytes, %d idle", h.memory.used.Load(), len(p.pool.idle))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.Partition(ctx, someRecords, 3, make([]int32, 2)); err != nil {
		t.Fatalf("the warm instance: %v", err)
	}
}

// sweepIdle's rule on its own, with the clock passed in.
func TestSweepIdleKeepsNewest(t *testing.T) {
	h, _ := newTestHost(t, Config{IdleInstanceTimeout: time.Hour, MaxInstancesPerModule: 4, MaxConcurrentCalls: 4})
	ctx := context.Background()
	p, err := h.Partitioner(ctx, Module{Name: "m", Version: 1, Wasm: buildWAT(t, "testdata/mem32.wat")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	var insts []*instance
	for range 3 {
		inst, err := p.pool.get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		insts = append(insts, inst)
	}
	t0 := time.Now()
	for i, inst := range insts {
		p.pool.restore(ctx, idleInstance{inst, t0.Add(time.Duration(i) * time.Minute)})
	}
	if n := h.sweepIdle(ctx, t0.Add(90*time.Second), time.Minute); n != 1 {
		t.Fatalf("swept %d, want 1 (only the first is idle over a minute)", n)
	}
	if n := h.sweepIdle(ctx, t0.Add(time.Hour), time.Minute); n != 1 {
		t.Fatalf("swept %d, want 1 (the newest stays)", n)
	}
	if len(p.pool.idle) != 1 {
		t.Fatalf("%d idle, want 1", len(p.pool.idle))
	}
}

// Unbounded recursion ends at the call depth limit with an error that
// names the plugin and the limit, long before wazero's own 50 MB stack
// ceiling: the native stack the call grew (Go heap memory, outside the
// linear memory limit) stays a small fraction of the memory limit. The
// instance is discarded, its memory returned to the budget, and the host
// keeps serving.
func TestDeepRecursionEndsAtDepthLimit(t *testing.T) {
	h, _ := newTestHost(t, Config{MaxInstancesPerModule: 1})
	ctx := context.Background()
	p, err := h.Partitioner(ctx, Module{Name: "deep", Version: 2, Wasm: buildWAT(t, "testdata/recurse.wat")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err = p.Partition(ctx, someRecords, 3, make([]int32, 2))
	runtime.ReadMemStats(&after)
	want := fmt.Sprintf("plugin deep@2: plugin failed: call depth limit %d exceeded", DefaultMaxCallDepth)
	if !errors.Is(err, ErrPluginFailed) || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	// Without the limit the call grew wazero's stack to its ceiling
	// (~100 MB allocated, ~180 MB node RSS against a 64 MiB limit).
	grown := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d KiB during the call (%d bytes per frame at most)", grown>>10, grown/uint64(DefaultMaxCallDepth))
	if limit := uint64(DefaultMemoryPages) * wasmPageSize / 4; grown > limit {
		t.Fatalf("the call allocated %d MiB, over a quarter of the %d MiB memory limit", grown>>20, DefaultMemoryPages*wasmPageSize>>20)
	}
	if used := h.memory.used.Load(); used != 0 {
		t.Fatalf("%d bytes of the budget still held after the failed instance was discarded", used)
	}
	assertStillServes(t, h)
}

// Recursion within the limit works, and the limit is per call: a module
// recursing to a depth below it succeeds again and again.
func TestRecursionBelowDepthLimit(t *testing.T) {
	h, _ := newTestHost(t, Config{MaxInstancesPerModule: 1})
	ctx := context.Background()
	p, err := h.Partitioner(ctx, Module{Name: "deep", Version: 1, Wasm: buildWAT(t, "testdata/recurseto.wat"),
		Limits: Limits{MaxCallDepth: 600}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	out := make([]int32, 2)
	for range 5 { // recurseto.wat recurses 500 deep per call
		if err := p.Partition(ctx, someRecords, 3, out); err != nil {
			t.Fatal(err)
		}
	}
	if out[0] != 2 {
		t.Fatalf("partition %d, want 2", out[0])
	}
	p2, err := h.Partitioner(ctx, Module{Name: "deep", Version: 2, Wasm: buildWAT(t, "testdata/recurseto.wat"),
		Limits: Limits{MaxCallDepth: 400}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close(ctx)
	if err := p2.Partition(ctx, someRecords, 3, out); err == nil || !strings.Contains(err.Error(), "call depth limit 400 exceeded") {
		t.Fatalf("err = %v, want the depth limit of 400", err)
	}
}

// The depth limit shrinks for modules with large frames so that depth
// times frame stays within a quarter of the memory limit.
func TestDepthLimitFromFrames(t *testing.T) {
	l := Limits{}.withDefaults(Limits{})
	for _, c := range []struct {
		frame int
		want  uint32
	}{
		{frameBytesFixed, DefaultMaxCallDepth}, // small frames: the configured limit
		{16 << 10, 1024},                       // 16 MiB / 16 KiB
		{1 << 30, minCallDepth},                // absurd frames: the floor
		{0, DefaultMaxCallDepth},               // no code
	} {
		if got := depthLimit(c.frame, l); got != c.want {
			t.Errorf("depthLimit(%d) = %d, want %d", c.frame, got, c.want)
		}
	}
}

// A module with large frames gets a smaller depth limit: a recursing
// function with 4,000 i64 locals (an estimated 64.5 KiB frame) stops at
// the depth that keeps depth × frame within a quarter of the 64 MiB
// memory limit, not at 10,000, and the stack it grew stays bounded too.
func TestDepthLimitForLargeFrames(t *testing.T) {
	h, _ := newTestHost(t, Config{MaxInstancesPerModule: 1})
	ctx := context.Background()
	wat := `(module
  (memory (export "memory") 1)
  (func (export "sluice_abi_version") (result i32) (i32.const 1))
  (func (export "sluice_alloc") (param i32) (result i32) (i32.const 1024))
  (func $down (param $n i64) (result i64) (local` + strings.Repeat(" i64", 4000) + `)
    (local.set 4000 (local.get $n))
    (i64.add (call $down (i64.add (local.get 4000) (i64.const 1))) (local.get 3999)))
  (func (export "sluice_partition") (param i32 i32 i32) (result i64)
    (call $down (i64.const 0))))`
	path := filepath.Join(t.TempDir(), "bigframe.wat")
	if err := os.WriteFile(path, []byte(wat), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := h.Partitioner(ctx, Module{Name: "bigframe", Version: 1, Wasm: buildWAT(t, path)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	frame := frameBytesPerValue*(4000+3) + frameBytesFixed // 4,000 locals, the widest type has 3 parameters
	want := depthLimit(frame, Limits{}.withDefaults(Limits{}))
	if want >= DefaultMaxCallDepth || want < minCallDepth {
		t.Fatalf("depth limit %d for a %d-byte frame: want it between %d and %d", want, frame, minCallDepth, DefaultMaxCallDepth)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err = p.Partition(ctx, someRecords, 3, make([]int32, 2))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("call depth limit %d exceeded", want)) {
		t.Fatalf("err = %v, want the depth limit of %d", err, want)
	}
	grown := after.TotalAlloc - before.TotalAlloc
	t.Logf("depth limit %d; allocated %d KiB during the call", want, grown>>10)
	if limit := uint64(DefaultMemoryPages) * wasmPageSize; grown > limit {
		t.Fatalf("the call allocated %d MiB, over the %d MiB memory limit", grown>>20, limit>>20)
	}
}
