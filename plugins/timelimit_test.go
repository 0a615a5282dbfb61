package plugins

import (
	"context"
	"errors"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// measured extracts "interrupted after D (limit L)" from err and checks the
// measured time is at least the limit (never an upper bound: a loaded
// machine may be late to interrupt, and that is what the message is for).
var measuredRE = regexp.MustCompile(`interrupted after ([0-9.]+[µmn]?s) \(limit ([0-9.]+[µmn]?s)\)`)

// longLimits reports whether the multi-second cases run
// (SLUICE_LONG_TESTS=1; docs/testing.md).
func longLimits() bool { return os.Getenv("SLUICE_LONG_TESTS") == "1" }

func checkMeasured(t *testing.T, err error, limit time.Duration, took time.Duration) {
	t.Helper()
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrPluginFailed) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	m := measuredRE.FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("err = %q, want it to say \"interrupted after D (limit %v)\"", err, limit)
	}
	got, err1 := time.ParseDuration(m[1])
	lim, err2 := time.ParseDuration(m[2])
	if err1 != nil || err2 != nil || lim != limit {
		t.Fatalf("err = %q: limit %q, want %v", err, m[2], limit)
	}
	if got < limit {
		t.Fatalf("err = %q: reports %v, less than the limit %v", err, got, limit)
	}
	if got > took+time.Millisecond { // the message rounds to the millisecond at most
		t.Fatalf("err = %q: reports %v, more than the %v the call took", err, got, took)
	}
}

// The per-call time limit holds as configured across its range: a looping
// module is interrupted no sooner than its limit (1 ms to 300 ms, past the
// ~270 ms the old 32-bit loop budget covered; 2 s and 5 s in long mode),
// and the error reports the time measured. Time is checked on the real
// clock at the guest's yields, so nothing cuts a long limit short.
func TestCallTimeLimitAcrossRange(t *testing.T) {
	limits := []time.Duration{time.Millisecond, 5 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond}
	if longLimits() {
		limits = append(limits, 2*time.Second, 5*time.Second)
	}
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	for _, limit := range limits {
		t.Run(limit.String(), func(t *testing.T) {
			p, err := h.Partitioner(ctx, Module{Name: "loop", Version: 1, Wasm: buildWAT(t, "testdata/loop.wat"),
				Limits: Limits{CallTimeout: limit}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(ctx)
			start := time.Now()
			err = p.Partition(ctx, someRecords, 3, make([]int32, 2))
			took := time.Since(start)
			if !strings.HasPrefix(err.Error(), "plugin loop@1: ") {
				t.Fatalf("err = %q, want it to name the plugin", err)
			}
			checkMeasured(t, err, limit, took)
			if took < limit {
				t.Fatalf("call returned after %v, before its limit %v", took, limit)
			}
		})
	}
}

// The start-up limit holds the same way for a start function that never
// returns (20 ms and 400 ms; 1.5 s and 3 s in long mode).
func TestStartupTimeLimitAcrossRange(t *testing.T) {
	limits := []time.Duration{20 * time.Millisecond, 400 * time.Millisecond}
	if longLimits() {
		limits = append(limits, 1500*time.Millisecond, 3*time.Second)
	}
	for _, limit := range limits {
		t.Run(limit.String(), func(t *testing.T) {
			h, _ := newTestHost(t, Config{InstantiateTimeout: limit})
			start := time.Now()
			_, err := h.Partitioner(context.Background(), Module{Name: "spin", Version: 1, Wasm: buildWAT(t, "testdata/startloop.wat")}, nil)
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), "start function") || !strings.Contains(err.Error(), "start-up ") {
				t.Fatalf("err = %v, want a start-up timeout of the start function", err)
			}
			checkMeasured(t, err, limit, took)
		})
	}
}

func TestSpanTimeoutMessages(t *testing.T) {
	s := span{start: time.Now().Add(-3 * time.Second), limit: 2 * time.Second, what: "call"}
	if err := s.timeoutError(); !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "call interrupted after 3s (limit 2s)") {
		t.Fatalf("late stop: %v", err)
	}
}

// Recursion without a loop (naive fib(60), 2^40 calls never deeper than
// 60) is interrupted at the time limit too: every function entry is a
// fuel check.
func TestTreeRecursionInterrupted(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	p, err := h.Partitioner(ctx, Module{Name: "fib", Version: 1, Wasm: buildWAT(t, "testdata/treerecurse.wat"),
		Limits: Limits{CallTimeout: 20 * time.Millisecond}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	start := time.Now()
	err = p.Partition(ctx, someRecords, 3, make([]int32, 2))
	checkMeasured(t, err, 20*time.Millisecond, time.Since(start))
}

// A running call yields to Go at its fuel checks: a loop of 100 ms makes
// thousands of yields (one per ~20 µs of guest time), each a point where
// a garbage collection or another goroutine may take over.
func TestLoopYields(t *testing.T) {
	h, _ := newTestHost(t, Config{MaxInstancesPerModule: 1})
	ctx := context.Background()
	c, err := h.compile(ctx, buildWAT(t, "testdata/loop.wat"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.release(ctx, c)
	inst, err := h.newInstance(ctx, c, Module{Name: "loop", Version: 1}, Limits{CallTimeout: 100 * time.Millisecond}.withDefaults(Limits{}), nil, KindPartitioner, false)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.close(ctx)
	err = inst.call(ctx, newSpan(100*time.Millisecond, "call"), inst.entry, inst.stack[:])
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if inst.clock.yields < 100 {
		t.Fatalf("%d yields in a 100 ms call, want hundreds", inst.clock.yields)
	}
	t.Logf("%d yields in 100 ms, quantum %d checks", inst.clock.yields, inst.clock.quantum)
}

// Fault: plugin calls hold every P of the process (GOMAXPROCS 1, one
// execution slot, a looping call). Guarantee: the rest of the node still
// runs, at the call's yields, not only when Go's sysmon preempts it (every
// 10 ms): another goroutine gets hundreds of turns during a 100 ms call.
// With a P left over (the default bound) a call keeps its P between
// preemptions instead, like any CPU-bound goroutine (holdsEveryP).
func TestCallsHoldingEveryPGiveWay(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	h, _ := newTestHost(t, Config{MaxInstancesPerModule: 1, MaxConcurrentCalls: 1})
	ctx := context.Background()
	c, err := h.compile(ctx, buildWAT(t, "testdata/loop.wat"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.release(ctx, c)
	m := Module{Name: "loop", Version: 1}
	inst, err := h.newInstance(ctx, c, m, Limits{CallTimeout: 100 * time.Millisecond}.withDefaults(Limits{}), nil, KindPartitioner, false)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.close(ctx)
	if err := h.sched.acquire(ctx, m.ID()); err != nil {
		t.Fatal(err)
	}
	if !h.sched.holdsEveryP() {
		t.Fatal("one running call at GOMAXPROCS 1 does not hold every P")
	}
	var turns atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				turns.Add(1)
				runtime.Gosched()
			}
		}
	}()
	runtime.Gosched() // let it start
	before := turns.Load()
	err = inst.call(ctx, newSpan(100*time.Millisecond, "call"), inst.entry, inst.stack[:])
	during := turns.Load() - before
	close(stop)
	<-done
	h.sched.release()
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if during < 100 {
		t.Fatalf("another goroutine ran %d times during a 100 ms call holding the only P (%d yields), want hundreds", during, inst.clock.yields)
	}
	if h.sched.held() != 0 || h.sched.holdsEveryP() {
		t.Fatalf("after release: %d running", h.sched.held())
	}
	t.Logf("%d turns of another goroutine, %d yields", during, inst.clock.yields)
}
