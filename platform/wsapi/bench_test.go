package wsapi_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/sluicehq/sluice/platform/wsapi"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// benchEnv is startEnv for benchmarks: a real node, the handler on a real
// listener, and (with a processor) the WAT filter uploaded as "keep-all"
// (it drops keys starting with "n"; the benchmark's keys never do).
func benchEnv(b *testing.B, processor bool) (*env, string) {
	e := startEnvTB(b)
	if !processor {
		return e, ""
	}
	e.uploadWasmTB(b, "keep-all", watWasmTB(b, "drop-n-keys"))
	return e, "keep-all"
}

// BenchmarkWSConsume reads a backlog of b.N 1 KiB records over one
// WebSocket (binary frames, credit 5000) and reports records/s and MB/s.
//
//	go test -run x -bench WSConsume -benchtime 200000x ./platform/wsapi/
func BenchmarkWSConsume(b *testing.B) {
	for _, proc := range []bool{false, true} {
		b.Run(fmt.Sprintf("processor=%v", proc), func(b *testing.B) {
			e, processor := benchEnv(b, proc)
			e.createTopicConfig(b, "backlog", 1, map[string]string{"durability": "replicated"})
			value := make([]byte, 1024)
			bw := wsapi.FromBroker(e.node.Broker())
			ctx := context.Background()
			for i := 0; i < b.N; {
				batch := make([]record.Record, 0, 1000)
				for ; i < b.N && len(batch) < 1000; i++ {
					batch = append(batch, record.Record{Key: []byte("k"), Value: value})
				}
				if _, err := bw.Produce(ctx, "backlog", batch, "1"); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(1024)
			b.ResetTimer()
			start := time.Now()
			c, err := e.cl.ConsumeWS(ctx, client.WSConsumerConfig{Topic: "backlog", From: "earliest", Credit: 5000, Processor: processor})
			if err != nil {
				b.Fatal(err)
			}
			got := 0
			for got < b.N {
				batch, err := c.Poll(ctx)
				if err != nil {
					b.Fatal(err)
				}
				got += len(batch.Records)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			c.Close()
			b.ReportMetric(float64(got)/elapsed.Seconds(), "records/s")
		})
	}
}

// BenchmarkWSEndToEndLatency produces b.N records at 5,000 records/s over
// a WebSocket producer (acks=1, 5 records every millisecond) while a
// WebSocket consumer reads them, and reports the produce-to-consumer
// latency percentiles (each record carries its send time).
//
//	go test -run x -bench WSEndToEndLatency -benchtime 25000x ./platform/wsapi/
func BenchmarkWSEndToEndLatency(b *testing.B) {
	for _, bc := range []struct {
		durability string
		proc       bool
	}{{"fsync", false}, {"fsync", true}, {"replicated", false}, {"replicated", true}} {
		b.Run(fmt.Sprintf("durability=%s/processor=%v", bc.durability, bc.proc), func(b *testing.B) {
			e, processor := benchEnv(b, bc.proc)
			e.createTopicConfig(b, "live", 1, map[string]string{"durability": bc.durability})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c, err := e.cl.ConsumeWS(ctx, client.WSConsumerConfig{Topic: "live", From: "earliest", Credit: 5000, Processor: processor})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			// The consumer is assigned once its first Poll runs; start it.
			hist := hdrhistogram.New(1, int64(10*time.Second/time.Microsecond), 3)
			done := make(chan error, 1)
			const warmup = 1000 // records sent first and not measured
			go func() {
				got := 0
				for got < b.N+warmup {
					batch, err := c.Poll(ctx)
					if err != nil {
						done <- err
						return
					}
					now := time.Now().UnixNano()
					for _, r := range batch.Records {
						if r.Value[8] == 1 {
							continue // warm-up
						}
						sent := int64(binary.BigEndian.Uint64(r.Value))
						hist.RecordValue((now - sent) / 1000)
					}
					got += len(batch.Records)
				}
				done <- nil
			}()
			p, err := e.cl.ProduceWS(ctx, client.WSProducerConfig{Topic: "live", Acks: "1", MaxInFlight: 64})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			send := func(total int, warm bool) {
				for sent := 0; sent < total; {
					<-tick.C
					n := min(5, total-sent)
					recs := make([]wire.Record, n)
					now := time.Now().UnixNano()
					for i := range recs {
						v := make([]byte, 1024)
						binary.BigEndian.PutUint64(v, uint64(now))
						if warm {
							v[8] = 1
						}
						recs[i] = wire.Record{Key: []byte("k"), Value: v}
					}
					if err := p.SendAsync(ctx, recs, func([]wire.ProduceResult, error) {}); err != nil {
						b.Fatal(err)
					}
					sent += n
				}
			}
			send(warmup, true)
			b.ResetTimer()
			send(b.N, false)
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			ms := func(q float64) float64 { return float64(hist.ValueAtQuantile(q)) / 1000 }
			b.ReportMetric(ms(50), "p50-ms")
			b.ReportMetric(ms(99), "p99-ms")
			b.ReportMetric(ms(99.9), "p999-ms")
		})
	}
}
