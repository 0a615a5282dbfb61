package plugins

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/record"
)

// waitQueued polls until plugin has n callers waiting.
func waitQueued(t *testing.T, s *scheduler, plugin string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.waiting()[plugin] != n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d waiting, want %d", plugin, s.waiting()[plugin], n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Slots go round-robin between plugins with waiters: a plugin with many
// queued callers delays another plugin's caller by one turn, not by its
// whole queue.
func TestSchedulerFairAcrossPlugins(t *testing.T) {
	s := newScheduler(1)
	ctx := context.Background()
	if err := s.acquire(ctx, "busy"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	enqueue := func(plugin, name string, n int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.acquire(ctx, plugin); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			s.release()
		}()
		waitQueued(t, s, plugin, n)
	}
	enqueue("busy", "busy-1", 1)
	enqueue("busy", "busy-2", 2)
	enqueue("busy", "busy-3", 3)
	enqueue("quiet", "quiet-1", 1)
	s.release()
	wg.Wait()
	if got := strings.Join(order, " "); got != "busy-1 quiet-1 busy-2 busy-3" {
		t.Fatalf("grant order %q, want busy-1 quiet-1 busy-2 busy-3", got)
	}
	if s.free.Load() != 1 || s.held() != 0 || len(s.ring) != 0 || len(s.queues) != 0 {
		t.Fatalf("after all released: free %d, running %d, ring %v", s.free.Load(), s.held(), s.ring)
	}
}

// A caller that gives up leaves its queue; the slot count stays exact.
func TestSchedulerCancelledWaiter(t *testing.T) {
	s := newScheduler(2)
	ctx := context.Background()
	for range 2 {
		if err := s.acquire(ctx, "a"); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error)
	go func() { errc <- s.acquire(cctx, "b") }()
	waitQueued(t, s, "b", 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "execution slot") {
		t.Fatalf("err = %v", err)
	}
	if s.held() != 2 {
		t.Fatalf("%d running, want the 2 holders", s.held())
	}
	s.release()
	s.release()
	if s.free.Load() != 2 || len(s.ring) != 0 {
		t.Fatalf("free %d ring %v", s.free.Load(), s.ring)
	}
	// Many callers, random give-ups: every slot comes back.
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, cancel := context.WithTimeout(ctx, time.Duration(i%5)*time.Millisecond)
			defer cancel()
			if s.acquire(c, fmt.Sprint("p", i%3)) == nil {
				time.Sleep(time.Millisecond)
				s.release()
			}
		}()
	}
	wg.Wait()
	if s.free.Load() != 2 || s.held() != 0 || len(s.ring) != 0 || len(s.queues) != 0 {
		t.Fatalf("after the storm: free %d running %d ring %v queues %v", s.free.Load(), s.held(), s.ring, s.waiting())
	}
}

func TestBackoffRules(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := &backoff{after: 3, min: time.Second, max: 4 * time.Second}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	mustAllow := func(now time.Time) {
		t.Helper()
		if err := b.allow(now); err != nil {
			t.Fatalf("at %v: refused: %v", now.Sub(t0), err)
		}
	}
	mustRefuse := func(now time.Time, msg string, retryAfter time.Duration) {
		t.Helper()
		err := b.allow(now)
		if !errors.Is(err, ErrBackedOff) || !strings.Contains(err.Error(), msg) {
			t.Fatalf("at %v: err = %v, want ErrBackedOff saying %q", now.Sub(t0), err, msg)
		}
		var bo *BackedOffError
		if !errors.As(err, &bo) || bo.RetryAfter != retryAfter {
			t.Fatalf("at %v: %#v, want a BackedOffError to retry after %v", now.Sub(t0), err, retryAfter)
		}
	}
	// Two strikes, then a success: no back-off, the run is over.
	for range 2 {
		mustAllow(at(0))
		b.record(at(0), true, "timed out")
	}
	b.record(at(0), false, "")
	for range 2 {
		mustAllow(at(0))
		b.record(at(0), true, "timed out")
	}
	mustAllow(at(0))
	b.record(at(0), true, "timed out (3)") // third in a row: 1 s
	mustRefuse(at(500*time.Millisecond), "for 500ms after 3 calls in a row exceeded its limits (last: timed out (3))", 500*time.Millisecond)
	mustAllow(at(time.Second)) // the probe
	mustRefuse(at(time.Second), "a probe call", time.Second)
	b.record(at(time.Second), true, "timed out") // probe failed: 2 s
	mustRefuse(at(2900*time.Millisecond), "for 100ms", 100*time.Millisecond)
	mustAllow(at(3 * time.Second))
	b.record(at(3*time.Second), true, "timed out") // 4 s
	mustAllow(at(7 * time.Second))
	b.record(at(7*time.Second), true, "timed out") // capped at 4 s
	mustRefuse(at(10*time.Second), "for 1s", time.Second)
	mustAllow(at(11 * time.Second))
	b.record(at(11*time.Second), false, "") // success clears everything
	mustAllow(at(11 * time.Second))
	mustAllow(at(11 * time.Second))
	if b.level != 0 || b.strikes != 0 {
		t.Fatalf("after success: %+v", b)
	}
}

// A plugin that keeps timing out is backed off: its callers get
// ErrBackedOff naming it (retriable, not ErrPluginFailed) without running
// it, while another plugin on the same host keeps being served.
func TestLoopingPluginBackedOff(t *testing.T) {
	h, _ := newTestHost(t, Config{BackoffAfter: 2, BackoffMin: time.Hour})
	ctx := context.Background()
	p, err := h.Partitioner(ctx, Module{Name: "loop", Version: 3, Wasm: buildWAT(t, "testdata/loop.wat"),
		Limits: Limits{CallTimeout: 5 * time.Millisecond}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	for i := range 2 {
		if err := p.Partition(ctx, someRecords, 3, make([]int32, 2)); !errors.Is(err, ErrTimeout) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	err = p.Partition(ctx, someRecords, 3, make([]int32, 2))
	if !errors.Is(err, ErrBackedOff) || errors.Is(err, ErrPluginFailed) ||
		!strings.HasPrefix(err.Error(), "plugin loop@3: plugin backed off for ") || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("third call: %v, want ErrBackedOff naming loop@3", err)
	}
	assertStillServes(t, h)
}

// On a real Host with one execution slot, a looping plugin's queued
// callers do not hold up another plugin's call: it runs after the running
// call and at most one more of the looping plugin's.
func TestLoopingPluginQueuesOnlyItsOwnCallers(t *testing.T) {
	h, _ := newTestHost(t, Config{MaxConcurrentCalls: 1, MaxInstancesPerModule: 8})
	ctx := context.Background()
	// Long enough that a descheduled test goroutine still checks before
	// the next looping call ends.
	loop, err := h.Partitioner(ctx, Module{Name: "loop", Version: 1, Wasm: buildWAT(t, "testdata/loop.wat"),
		Limits: Limits{CallTimeout: 500 * time.Millisecond}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close(ctx)
	good, err := h.Partitioner(ctx, watModule(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close(ctx)
	var done atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = loop.Partition(ctx, someRecords, 3, make([]int32, 2))
			done.Add(1)
		}()
	}
	waitQueued(t, h.sched, "loop@1", 3) // one running, three waiting
	out := make([]int32, 1)
	if err := good.Partition(ctx, []record.Record{{Key: []byte("k")}}, 5, out); err != nil {
		t.Fatal(err)
	}
	if n := done.Load(); n > 2 {
		t.Errorf("the good plugin's call waited for %d looping calls, want at most 2", n)
	}
	wg.Wait()
}
