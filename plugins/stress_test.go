package plugins

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/record"
)

// Many callers of several plugins at once, on a Host with a tight memory
// budget, two execution slots and back-offs: every call succeeds or fails
// with an error naming its plugin and a known cause; the budget is never
// over-reserved; when everything is closed, all memory and every slot are
// returned.
func TestHostUnderConcurrentLoad(t *testing.T) {
	h, _ := newTestHost(t, Config{MemoryBudget: 7 << 20, MaxConcurrentCalls: 2, MaxInstancesPerModule: 3,
		BackoffAfter: 2, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond})
	ctx := context.Background()
	mem32 := buildWAT(t, "testdata/mem32.wat")
	var parts []*WasmPartitioner
	for i := range 3 {
		p, err := h.Partitioner(ctx, Module{Name: fmt.Sprint("m", i), Version: 1, Wasm: mem32}, nil)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}
	loop, err := h.Partitioner(ctx, Module{Name: "loop", Version: 1, Wasm: buildWAT(t, "testdata/loop.wat"),
		Limits: Limits{CallTimeout: 2 * time.Millisecond}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	chatty, err := h.Processor(ctx, Module{Name: "chatty", Version: 1, Wasm: buildWAT(t, "testdata/chatty.wat")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]int32, 2)
			for i := range 30 {
				var err error
				switch (g + i) % 5 {
				case 0, 1, 2:
					err = parts[(g+i)%3].Partition(ctx, someRecords, 3, out)
					if err != nil && !errors.Is(err, ErrMemoryLimit) {
						errs <- fmt.Errorf("mem32: %w", err)
					}
				case 3:
					err = loop.Partition(ctx, someRecords, 3, out)
					if !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrBackedOff) {
						errs <- fmt.Errorf("loop: %v", err)
					}
				case 4:
					_, err = chatty.Process(ctx, 0, []record.Record{{Offset: 1, Value: []byte("v")}})
					if err != nil {
						errs <- fmt.Errorf("chatty: %w", err)
					}
				}
				if used := h.memory.used.Load(); used > h.memory.limit {
					errs <- fmt.Errorf("budget over-reserved: %d > %d", used, h.memory.limit)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, p := range parts {
		p.Close(ctx)
	}
	loop.Close(ctx)
	chatty.Close(ctx)
	if used := h.memory.used.Load(); used != 0 {
		t.Errorf("%d bytes of the budget held after every plugin closed", used)
	}
	if h.sched.free.Load() != 2 || len(h.sched.waiting()) != 0 {
		t.Errorf("scheduler after the load: %d free, waiting %v", h.sched.free.Load(), h.sched.waiting())
	}
}
