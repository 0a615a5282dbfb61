package platform_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// spinSink keeps the go-spin case's loop from being optimised away.
var spinSink int

// BenchmarkBystanderLatency measures what busy plugins cost a topic that
// uses none: the latency of a produce (one 100-byte record, acks=1) and of
// a fetch of it, on a plugin-free topic of the same node, while `busy`
// goroutines keep producing to a topic whose Wasm partitioner spins ~20 M
// loop iterations per call (plugins/testdata/busy.wat, tens of ms of CPU
// per call, within its limit, so never backed off), against the same with
// none. In the "looping" cases the busy topic's partitioner never returns
// (plugins/testdata/loop.wat, default 100 ms limit): its calls time out,
// then it is backed off, and its producers keep retrying. The "go-spin"
// case is the control: no plugin, one goroutine spinning in plain Go code,
// so one core is busy as with a busy plugin, but with Go's preemption. Each iteration is
// one produce then one fetch, back to back, on one connection. The busy
// producers start before the timer and stop after it.
//
//	go test -run '^$' -bench BystanderLatency -benchtime 2000x ./platform/
func BenchmarkBystanderLatency(b *testing.B) {
	n := testnode.Start(b)
	h := httpc{t: b, base: n.URL()}
	h.mustUpload("busy", "kind=partitioner&timeout_ms=10000", watWasm(b, "plugins/testdata/busy.wat"))
	h.mustUpload("loop", "kind=partitioner", watWasm(b, "plugins/testdata/loop.wat"))
	createTopic(b, n.URL(), "calm", 1, map[string]string{"durability": "replicated"})
	h.ok(http.MethodPost, "/v1/topics", wire.CreateTopicRequest{Name: "spin", Partitions: 2, Partitioner: "wasm:busy",
		Config: map[string]string{"durability": "replicated"}}, nil)
	h.ok(http.MethodPost, "/v1/topics", wire.CreateTopicRequest{Name: "looping", Partitions: 2, Partitioner: "wasm:loop",
		Config: map[string]string{"durability": "replicated"}}, nil)
	body := wire.AppendRecords(nil, []wire.Record{{Key: []byte("k"), Value: bytes.Repeat([]byte("v"), 100)}})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()
	post := func(ctx context.Context, topic string) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, n.URL()+"/v1/topics/"+topic+"/records?acks=1", bytes.NewReader(body))
		req.Header.Set("Content-Type", wire.MediaTypeRecords)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("produce to %s: status %d", topic, resp.StatusCode)
		}
		return nil
	}
	var offset int64
	for _, c := range []struct {
		topic string
		busy  int
	}{{"spin", 0}, {"spin", 1}, {"spin", 4}, {"looping", 4}, {"go-spin", 1}} {
		busy := c.busy
		name := fmt.Sprintf("busy=%d", busy)
		switch c.topic {
		case "looping":
			name = fmt.Sprintf("looping=%d", busy)
		case "go-spin":
			name = "go-spin=1"
		}
		b.Run(name, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			calls := make(chan struct{}, 1<<20)
			if c.topic == "go-spin" {
				// The control: no plugin at all, one goroutine keeping
				// one core busy in plain Go code (preemptible), which is
				// what a busy plugin call costs the node at best.
				wg.Add(1)
				go func() {
					defer wg.Done()
					for x := 0; ctx.Err() == nil; x++ {
						spinSink += x
					}
				}()
				busy = 0
			}
			for range busy {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ctx.Err() == nil {
						err := post(ctx, c.topic)
						if c.topic == "looping" {
							// Its produces all fail: retry after 10 ms, as a
							// client would.
							calls <- struct{}{}
							time.Sleep(10 * time.Millisecond)
						} else if err == nil {
							calls <- struct{}{}
						} else if ctx.Err() == nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			// Let the busy plugin calls get going.
			for range busy {
				<-calls
			}
			prod := hdrhistogram.New(1, int64(10*time.Second/time.Microsecond), 3)
			fetch := hdrhistogram.New(1, int64(10*time.Second/time.Microsecond), 3)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if err := post(ctx, "calm"); err != nil {
					b.Fatal(err)
				}
				_ = prod.RecordValue(time.Since(start).Microseconds())
				start = time.Now()
				resp, err := client.Get(fmt.Sprintf("%s/v1/topics/calm/partitions/0/records?offset=%d&max_bytes=4096", n.URL(), offset))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("fetch: status %d", resp.StatusCode)
				}
				_ = fetch.RecordValue(time.Since(start).Microseconds())
				offset++
			}
			b.StopTimer()
			cancel()
			wg.Wait()
			b.ReportMetric(float64(prod.ValueAtQuantile(50))/1000, "produce-p50-ms")
			b.ReportMetric(float64(prod.ValueAtQuantile(99))/1000, "produce-p99-ms")
			b.ReportMetric(float64(fetch.ValueAtQuantile(50))/1000, "fetch-p50-ms")
			b.ReportMetric(float64(fetch.ValueAtQuantile(99))/1000, "fetch-p99-ms")
			b.ReportMetric(float64(len(calls)+busy), "busy-calls")
		})
	}
}
