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
			start := time.Now()
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
		})
	}
}

// BenchmarkFetchProcessor measures HTTP fetch throughput of 1 KiB JSON
// records with no processor and with examples/filter-redact (drops a third,
// masks email) run on the broker: one fetch loop, 1 MiB per fetch.
//
//	go test -run '^$' -bench FetchProcessor -benchtime 2000x ./platform/
func BenchmarkFetchProcessor(b *testing.B) {
	n := testnode.Start(b)
	h := httpc{t: b, base: n.URL()}
	h.mustUpload("redact", "kind=processor&param.redact=email&param.drop-field=status&param.drop-values=cancelled", exampleWasm(b, "filter-redact"))
	h.ok(http.MethodPost, "/v1/topics", wire.CreateTopicRequest{Name: "src", Partitions: 1,
		Config: map[string]string{"durability": "replicated"}}, nil)
	body := wire.AppendRecords(nil, jsonRecords(1000))
	const batches = 20 // 20,000 records, read in a loop
	for range batches {
		st, raw := h.do(http.MethodPost, "/v1/topics/src/records?acks=1", wire.MediaTypeRecords, body)
		if st != http.StatusOK {
			b.Fatalf("produce: %d %s", st, raw)
		}
	}
	for _, c := range []struct{ name, query string }{{"none", ""}, {"filter-redact", "&processor=redact"}} {
		b.Run(c.name, func(b *testing.B) {
			var in, out int64
			off := int64(0)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				st, raw := h.do(http.MethodGet, fmt.Sprintf("/v1/topics/src/partitions/0/records?offset=%d&format=binary%s", off, c.query), "", nil)
				if st != http.StatusOK {
					b.Fatalf("fetch: %d %s", st, raw)
				}
				fb, err := wire.DecodeFetchBatch(raw)
				if err != nil {
					b.Fatal(err)
				}
				in += fb.NextOffset - off
				out += int64(len(fb.Records))
				off = fb.NextOffset
				if off >= batches*1000 {
					off = 0
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(in)/elapsed.Seconds(), "in-records/s")
			b.ReportMetric(float64(out)/elapsed.Seconds(), "out-records/s")
		})
	}
}
