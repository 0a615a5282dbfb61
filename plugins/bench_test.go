package plugins

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/record"
)

// benchConfig measures throughput, not limits: a generous time limit keeps
// a busy machine from failing a run.
var benchConfig = Config{DefaultLimits: Limits{CallTimeout: 10 * time.Second}}

// jsonRecords makes n records of about size bytes of JSON each, with
// customer_id either second (early) or last.
func jsonRecords(n, size int, last bool) []record.Record {
	recs := make([]record.Record, n)
	for i := range recs {
		pad := strings.Repeat("x", max(0, size-150))
		var v string
		if last {
			v = fmt.Sprintf(`{"order_id":"o-%07d","status":"paid","email":"user%d@example.com","note":"%s","customer_id":"c-%05d"}`, i, i, pad, i%1000)
		} else {
			v = fmt.Sprintf(`{"order_id":"o-%07d","customer_id":"c-%05d","status":"paid","email":"user%d@example.com","note":"%s"}`, i, i%1000, i, pad)
		}
		recs[i] = record.Record{Offset: int64(i), Key: fmt.Appendf(nil, "o-%07d", i), Value: []byte(v)}
	}
	return recs
}

func reportPerRecord(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
}

// cpuTime is the CPU time this process has used. On a shared machine the
// CPU time per record is a steadier figure than the wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the process CPU time per record since start.
func reportCPU(b *testing.B, start time.Duration, n int) {
	b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N*n), "cpu-ns/record")
}

func benchPartitioner(b *testing.B, p partitioner.Partitioner, recs []record.Record) {
	out := make([]int32, len(recs))
	ctx := context.Background()
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		if err := p.Partition(ctx, recs, 12, out); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start, len(recs))
	reportPerRecord(b, len(recs))
}

// BenchmarkPartitioner: raw cost per record, batches of 1,000 records of
// 1 KiB JSON, on one goroutine.
func BenchmarkPartitioner(b *testing.B) {
	ctx := context.Background()
	h, _ := newTestHost(b, benchConfig)
	recs := jsonRecords(1000, 1024, false)
	b.Run("builtin-hash", func(b *testing.B) {
		p, _ := partitioner.Builtin(partitioner.Hash)
		benchPartitioner(b, p, recs)
	})
	b.Run("wat-murmur2", func(b *testing.B) {
		p, err := h.Partitioner(ctx, watModule(b), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close(ctx)
		benchPartitioner(b, p, recs)
	})
	b.Run("go-sdk-trivial", func(b *testing.B) {
		// The Go SDK's own cost: a handler that only looks up a parameter.
		p, err := h.Partitioner(ctx, Module{Name: "trivial", Version: 1, Wasm: exampleWasm(b, "gohostile")},
			map[string]string{"mode": "ok"})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close(ctx)
		benchPartitioner(b, p, recs)
	})
	for _, last := range []bool{false, true} {
		name := "go-json-field-second"
		if last {
			name = "go-json-field-last"
		}
		b.Run(name, func(b *testing.B) {
			p, err := h.Partitioner(ctx, Module{Name: "json", Version: 1, Wasm: exampleWasm(b, "json-partitioner")},
				map[string]string{"field": "customer_id"})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close(ctx)
			benchPartitioner(b, p, jsonRecords(1000, 1024, last))
		})
	}
}

// BenchmarkProcessorFilterRedact: records/s through the filter-redact
// example on one goroutine, batches of 1,000 records of 1 KiB, 10% dropped,
// one field redacted in the rest.
func BenchmarkProcessorFilterRedact(b *testing.B) {
	ctx := context.Background()
	h, _ := newTestHost(b, benchConfig)
	pr, err := h.Processor(ctx, Module{Name: "redact", Version: 1, Wasm: exampleWasm(b, "filter-redact")},
		map[string]string{"drop-field": "status", "drop-values": "cancelled", "redact": "email"})
	if err != nil {
		b.Fatal(err)
	}
	defer pr.Close(ctx)
	recs := jsonRecords(1000, 1024, false)
	for i := 0; i < len(recs); i += 10 {
		recs[i].Value = []byte(strings.Replace(string(recs[i].Value), `"paid"`, `"cancelled"`, 1))
	}
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		outs, err := pr.Process(ctx, 0, recs)
		if err != nil {
			b.Fatal(err)
		}
		if len(outs) != 900 {
			b.Fatalf("%d outputs", len(outs))
		}
	}
	reportCPU(b, start, len(recs))
	reportPerRecord(b, len(recs))
}

// BenchmarkColdStart: from module bytes to the first answer on a fresh
// Host: validate (compile, instantiate, check), create the partitioner
// (instantiate, init) and partition one record. "cached" has the compiled
// code in the on-disk cache already (a node restart).
func BenchmarkColdStart(b *testing.B) {
	ctx := context.Background()
	mods := map[string]Module{
		"wat":     watModule(b),
		"go-json": {Name: "json", Version: 1, Wasm: exampleWasm(b, "json-partitioner")},
	}
	params := map[string]map[string]string{"wat": nil, "go-json": {"field": "customer_id"}}
	for _, name := range []string{"wat", "go-json"} {
		for _, cached := range []bool{false, true} {
			label := name + "/compile"
			if cached {
				label = name + "/disk-cache"
			}
			b.Run(label, func(b *testing.B) {
				dir := b.TempDir()
				if cached {
					h, _ := NewHost(ctx, Config{CacheDir: dir})
					if _, err := h.Validate(ctx, mods[name].Wasm, KindPartitioner); err != nil {
						b.Fatal(err)
					}
					h.Close(ctx)
				}
				recs := jsonRecords(1, 200, false)
				for i := 0; b.Loop(); i++ {
					cfg := Config{}
					if cached {
						cfg.CacheDir = dir
					}
					h, err := NewHost(ctx, cfg)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := h.Validate(ctx, mods[name].Wasm, KindPartitioner); err != nil {
						b.Fatal(err)
					}
					p, err := h.Partitioner(ctx, mods[name], params[name])
					if err != nil {
						b.Fatal(err)
					}
					if err := p.Partition(ctx, recs, 3, make([]int32, 1)); err != nil {
						b.Fatal(err)
					}
					h.Close(ctx)
				}
			})
		}
	}
}

// BenchmarkWarmInstantiate: one more instance of an already compiled
// module, including _initialize, the ABI check and sluice_init.
func BenchmarkWarmInstantiate(b *testing.B) {
	ctx := context.Background()
	h, _ := newTestHost(b, Config{})
	for _, m := range []struct {
		name   string
		mod    Module
		params map[string]string
	}{
		{"wat", watModule(b), nil},
		{"go-json", Module{Name: "json", Version: 1, Wasm: exampleWasm(b, "json-partitioner")}, map[string]string{"field": "customer_id"}},
	} {
		b.Run(m.name, func(b *testing.B) {
			c, err := h.compile(ctx, m.mod.Wasm)
			if err != nil {
				b.Fatal(err)
			}
			defer h.release(ctx, c)
			b.ResetTimer()
			for b.Loop() {
				inst, err := h.newInstance(ctx, c, m.mod, h.cfg.DefaultLimits, m.params, KindPartitioner, true)
				if err != nil {
					b.Fatal(err)
				}
				inst.close(ctx)
			}
		})
	}
}
