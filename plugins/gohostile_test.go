package plugins

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/record"
)

// A standard Go module that misbehaves: the failures are mapped the same
// way as for hand-written WAT, and the host keeps serving.
func TestHostileGoModule(t *testing.T) {
	h := sharedHost(t)
	ctx := context.Background()
	wasm := exampleWasm(t, "gohostile")
	cases := []struct {
		mode   string
		limits Limits
		want   error
		msg    string
	}{
		{"hog", Limits{MemoryPages: 256}, ErrMemoryLimit, "limit 256 pages (16 MiB)"},
		{"spin", Limits{CallTimeout: 200 * time.Millisecond}, ErrTimeout, "interrupted after "},
		{"exit", Limits{}, ErrPluginFailed, "exited with code 3"},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			p, err := h.Partitioner(ctx, Module{Name: "go-" + c.mode, Version: 1, Wasm: wasm, Limits: c.limits},
				map[string]string{"mode": c.mode})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(ctx)
			err = p.Partition(ctx, []record.Record{{Value: []byte("x")}}, 4, make([]int32, 1))
			if !errors.Is(err, c.want) || !strings.HasPrefix(err.Error(), "plugin go-"+c.mode+"@1: ") || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v, want %v saying %q", err, c.want, c.msg)
			}
		})
	}
	if !strings.Contains(shared.logs.String(), `level=WARN msg="giving up" plugin=go-exit@1 stream=stderr`) {
		t.Errorf("the module's stderr line was not logged:\n%s", shared.logs.String())
	}
	ok, err := h.Partitioner(ctx, Module{Name: "go-ok", Version: 1, Wasm: wasm}, map[string]string{"mode": "ok"})
	if err != nil {
		t.Fatal(err)
	}
	defer ok.Close(ctx)
	if err := ok.Partition(ctx, []record.Record{{}}, 4, make([]int32, 1)); err != nil {
		t.Fatalf("host no longer runs a good Go module: %v", err)
	}
}

// A runaway loop while the Go runtime collects garbage: the collector's
// stop-the-world phases need the goroutine running Wasm to reach a safe
// point, which its yields give it every ~20 µs (timelimit.go). The call
// must fail with ErrTimeout at its limit, and collections must complete
// while it runs, not only after it (before the yields, the first one
// waited for the whole call).
func TestRunawayDuringGC(t *testing.T) {
	h := sharedHost(t)
	ctx := context.Background()
	p, err := h.Partitioner(ctx, Module{Name: "go-spin", Version: 2, Wasm: exampleWasm(t, "gohostile"),
		Limits: Limits{CallTimeout: 100 * time.Millisecond}}, map[string]string{"mode": "spin"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	done := make(chan struct{})
	gcs := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-done:
				gcs <- n
				return
			default:
				runtime.GC()
				n++
			}
		}
	}()
	start := time.Now()
	err = p.Partition(ctx, []record.Record{{}}, 4, make([]int32, 1))
	close(done)
	n := <-gcs
	took := time.Since(start)
	checkMeasured(t, err, 100*time.Millisecond, took)
	// Under the race detector this host runs Go modules in the
	// interpreter (plain Go code, preemptible anyway) and a collection
	// takes tens of ms: the count says nothing there.
	if !raceEnabled && n < 2 {
		t.Fatalf("%d collections completed during a %v call, want them to run alongside it", n, took)
	}
	t.Logf("interrupted after %v with %d collections running alongside", took, n)
}
