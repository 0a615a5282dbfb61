package plugins

import (
	"context"
	"testing"
	"time"

	"github.com/sluicehq/sluice/record"
)

// BenchmarkBusyCall is the cost of the yields on CPU-bound guest code: one
// call of plugins/testdata/busy.wat (a loop of ~20 M iterations, a fuel
// check in every one) per op, on one goroutine, with the yields every
// yieldEvery of guest time. Its ns/op against another yieldEvery is what
// the yields cost (docs/benchmarks.md, issue 11).
//
//	go test -run '^$' -bench BusyCall -benchtime 20x -count 5 ./plugins/
func BenchmarkBusyCall(b *testing.B) {
	ctx := context.Background()
	h, _ := newTestHost(b, Config{})
	p, err := h.Partitioner(ctx, Module{Name: "busy", Version: 1, Wasm: buildWAT(b, "testdata/busy.wat"),
		Limits: Limits{CallTimeout: 10 * time.Second}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(ctx)
	recs := []record.Record{{Key: []byte("k")}}
	out := make([]int32, 1)
	b.ResetTimer()
	for range b.N {
		if err := p.Partition(ctx, recs, 2, out); err != nil {
			b.Fatal(err)
		}
	}
}
