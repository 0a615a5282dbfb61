package platform_test

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// BenchmarkProduceLatencyFixedRate sends 10,000 records/s (a request of
// 100 × 1 KiB records every 10 ms, acks=1, one connection) for b.N
// requests and reports the latency percentiles of the answers, per
// durability. Requests are paced by a ticker; a late answer delays the
// next send (the figure is service time at that rate, not coordinated
// omission-corrected).
//
//	go test -run '^$' -bench ProduceLatencyFixedRate -benchtime 1000x ./platform/
func BenchmarkProduceLatencyFixedRate(b *testing.B) {
	for _, durability := range []string{"replicated", "fsync"} {
		b.Run(durability, func(b *testing.B) {
			n := testnode.Start(b)
			createTopic(b, n.URL(), "lat", 8, map[string]string{"durability": durability})
			recs := make([]wire.Record, 100)
			value := bytes.Repeat([]byte("v"), 1024)
			for i := range recs {
				recs[i] = wire.Record{Key: []byte(strconv.Itoa(i)), Value: value}
			}
			body := wire.AppendRecords(nil, recs)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			url := n.URL() + "/v1/topics/lat/records?acks=1"
			hist := hdrhistogram.New(1, int64(10*time.Second/time.Microsecond), 3)
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			b.ResetTimer()
			for range b.N {
				<-tick.C
				start := time.Now()
				if err := postRecords(client, url, body); err != nil {
					b.Fatal(err)
				}
				_ = hist.RecordValue(time.Since(start).Microseconds())
			}
			b.StopTimer()
			b.ReportMetric(float64(hist.ValueAtQuantile(50))/1000, "p50-ms")
			b.ReportMetric(float64(hist.ValueAtQuantile(99))/1000, "p99-ms")
			b.ReportMetric(float64(hist.ValueAtQuantile(99.9))/1000, "p999-ms")
		})
	}
}
