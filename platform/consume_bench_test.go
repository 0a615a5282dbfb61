package platform_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
)

// consumeBacklog is the backlog the consume benchmarks read: the issue's
// 200,000 records of 1 KiB on one partition.
const consumeBacklog = 200_000

// loadBacklog creates a one-partition replicated topic on n and produces
// consumeBacklog 1 KiB records to it, 1,000 per request.
func loadBacklog(b *testing.B, n *testnode.Node, topic string) *client.Client {
	b.Helper()
	createTopic(b, n.URL(), topic, 1, map[string]string{"durability": "replicated"})
	cl, err := client.New(n.URL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cl.Close() })
	value := bytes.Repeat([]byte("v"), 1024)
	recs := make([]client.Record, 1000)
	for i := range recs {
		recs[i] = client.Record{Key: []byte(strconv.Itoa(i)), Value: value}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for range consumeBacklog / len(recs) {
		if _, err := cl.Produce(ctx, topic, recs, client.ProduceOptions{Acks: client.AcksLeader}); err != nil {
			b.Fatal(err)
		}
	}
	return cl
}

// BenchmarkConsumeFetch reads a 200,000-record 1 KiB backlog of one
// partition with the Go client's Fetch in a loop (what `sluice bench
// consume` does), 4 MiB per fetch, once per iteration, client and node in
// one process. records/s is the figure of docs/benchmarks.md.
//
//	go test -run '^$' -bench ConsumeFetch -benchtime 5x -count 5 ./platform/
func BenchmarkConsumeFetch(b *testing.B) {
	n := testnode.Start(b)
	cl := loadBacklog(b, n, "consume")
	ctx := context.Background()
	b.SetBytes(consumeBacklog * 1024)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		var got int64
		for off := int64(0); off < consumeBacklog; {
			fb, err := cl.Fetch(ctx, "consume", 0, off, client.FetchOptions{MaxBytes: 4 << 20})
			if err != nil {
				b.Fatal(err)
			}
			got += int64(len(fb.Records))
			off = fb.NextOffset
		}
		if got != consumeBacklog {
			b.Fatalf("read %d records, want %d", got, consumeBacklog)
		}
	}
	b.ReportMetric(float64(b.N*consumeBacklog)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkConsumeConsumer reads the same backlog with the Go client's
// Consumer (its fetch goroutine and Poll), once per iteration.
//
//	go test -run '^$' -bench ConsumeConsumer -benchtime 5x -count 5 ./platform/
func BenchmarkConsumeConsumer(b *testing.B) {
	n := testnode.Start(b)
	cl := loadBacklog(b, n, "consume")
	ctx := context.Background()
	b.SetBytes(consumeBacklog * 1024)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		cs, err := cl.NewConsumer(ctx, client.ConsumerConfig{Topic: "consume", From: client.Earliest})
		if err != nil {
			b.Fatal(err)
		}
		var got int64
		for got < consumeBacklog {
			fb, err := cs.Poll(ctx)
			if err != nil {
				b.Fatal(err)
			}
			got += int64(len(fb.Records))
		}
		cs.Close()
	}
	b.ReportMetric(float64(b.N*consumeBacklog)/time.Since(start).Seconds(), "records/s")
}
