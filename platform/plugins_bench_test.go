package platform_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// jsonRecords returns n records of about 1 KiB of JSON with customer_id as
// the second field, keyed by the customer.
func jsonRecords(n int) []wire.Record {
	recs := make([]wire.Record, n)
	pad := strings.Repeat("x", 940)
	for i := range recs {
		c := fmt.Sprintf("c-%d", i%997)
		v := fmt.Sprintf(`{"order":%d,"customer_id":"%s","email":"u%d@example.com","status":"%s","note":"%s"}`,
			i, c, i, []string{"new", "paid", "cancelled"}[i%3], pad)
		recs[i] = wire.Record{Key: []byte(c), Value: []byte(v)}
	}
	return recs
}

// BenchmarkProducePartitioner compares produce throughput over HTTP into
// one node with the built-in hash partitioner, the Go-SDK JSON-field
// partitioner (examples/json-partitioner) and the WAT murmur2 partitioner,
// in the same run: 1 KiB JSON records, 1,000 per request, acks=1,
// durability replicated, 4 concurrent producers, 8 partitions.
//
//	go test -run '^$' -bench ProducePartitioner -benchtime 300x ./platform/
func BenchmarkProducePartitioner(b *testing.B) {
	n := testnode.Start(b)
	h := httpc{t: b, base: n.URL()}
	h.mustUpload("by-customer", "kind=partitioner&param.field=customer_id", exampleWasm(b, "json-partitioner"))
	h.mustUpload("murmur-wat", "kind=partitioner", watWasm(b, "examples/wat-partitioner/partitioner.wat"))
	const parts, perRequest, producers = 8, 1000, 4
	body := wire.AppendRecords(nil, jsonRecords(perRequest))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: producers}}
	defer client.CloseIdleConnections()
	for _, c := range []struct{ name, spec string }{
		{"hash", "hash"}, {"wasm-json", "wasm:by-customer"}, {"wasm-wat", "wasm:murmur-wat"},
	} {
		b.Run(c.name, func(b *testing.B) {
			topic := "bench-" + c.name
			h.ok(http.MethodPost, "/v1/topics", wire.CreateTopicRequest{Name: topic, Partitions: parts, Partitioner: c.spec,
				Config: map[string]string{"durability": "replicated"}}, nil)
			defer h.ok(http.MethodDelete, "/v1/topics/"+topic, nil, nil)
			url := n.URL() + "/v1/topics/" + topic + "/records?acks=1"
			var next atomic.Int64
			var wg sync.WaitGroup
			var failed atomic.Value
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			start, cpu0 := time.Now(), processCPU()
			for range producers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
						req.Header.Set("Content-Type", wire.MediaTypeRecords)
						req.Header.Set("Accept", wire.MediaTypeResults)
						resp, err := client.Do(req)
						if err != nil {
							failed.Store(err)
							return
						}
						msg, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							failed.Store(fmt.Errorf("status %d: %s", resp.StatusCode, msg))
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if err := failed.Load(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N*perRequest)/elapsed.Seconds(), "records/s")
			// The node and its clients share the process: CPU time per
			// record covers both, and load disturbs it far less than
			// wall time.
			b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N*perRequest), "cpu-ns/record")
		})
	}
}
