package platform_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// BenchmarkProduceHTTP measures binary produce over real HTTP into one
// node: 1 KiB records, 1,000 per request, acks=1, several concurrent
// producers, for both durability modes. records/s is the figure the
// issue's target (150,000 with durability replicated) is about.
//
//	go test -run '^$' -bench ProduceHTTP -benchtime 200x ./platform/
func BenchmarkProduceHTTP(b *testing.B) {
	for _, durability := range []string{"replicated", "fsync"} {
		b.Run(durability, func(b *testing.B) {
			n := testnode.Start(b)
			const parts, perRequest, producers = 8, 1000, 8
			createTopic(b, n.URL(), "bench", parts, map[string]string{"durability": durability})
			recs := make([]wire.Record, perRequest)
			value := bytes.Repeat([]byte("v"), 1024)
			for i := range recs {
				recs[i] = wire.Record{Key: []byte(strconv.Itoa(i)), Value: value}
			}
			body := wire.AppendRecords(nil, recs)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: producers}}
			defer client.CloseIdleConnections()
			url := n.URL() + "/v1/topics/bench/records?acks=1"

			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			start := time.Now()
			err := produceConcurrently(client, url, body, b.N, producers)
			elapsed := time.Since(start)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N*perRequest)/elapsed.Seconds(), "records/s")
		})
	}
}

// postRecords sends one binary produce request (body from
// wire.AppendRecords) to url, a records URL with its query, and reads the
// whole answer (binary results), so the connection is reused; any status
// but 200 is an error naming it and the answer.
func postRecords(client *http.Client, url string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", wire.MediaTypeRecords)
	req.Header.Set("Accept", wire.MediaTypeResults)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: status %d: %s", url, resp.StatusCode, msg)
	}
	return nil
}

// produceConcurrently sends n requests of body to url (postRecords) from
// `producers` goroutines, and returns the first error.
func produceConcurrently(client *http.Client, url string, body []byte, n, producers int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := postRecords(client, url, body); err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	err, _ := failed.Load().(error)
	return err
}

// BenchmarkStartThousandPartitions measures how long a node holding 1,000
// partitions takes to start, and its heap once started (after a GC).
//
//	go test -run '^$' -bench StartThousandPartitions -benchtime 3x ./platform/
func BenchmarkStartThousandPartitions(b *testing.B) {
	n := testnode.Start(b)
	createTopic(b, n.URL(), "wide", 1000, nil)
	b.ResetTimer()
	var total time.Duration
	var heap uint64
	for range b.N {
		n.Stop(b)
		start := time.Now()
		n.Restart(b) // returns once ready: every replica open
		total += time.Since(start)
		open := 0
		for _, p := range n.Broker().Partitions(nil) {
			if p.Topic == "wide" {
				open++
			}
		}
		if open != 1000 {
			b.Fatalf("%d partitions of wide open after the restart, want 1000", open)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = ms.HeapAlloc
	}
	b.StopTimer()
	b.ReportMetric(total.Seconds()/float64(b.N), "s/start")
	b.ReportMetric(float64(heap)/(1<<20), "MiB-heap")
	b.ReportMetric(float64(rssBytes())/(1<<20), "MiB-rss")
}

// rssBytes is this process's resident set size (Linux), 0 elsewhere.
func rssBytes() int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func createTopic(tb testing.TB, base, name string, partitions int32, config map[string]string) {
	tb.Helper()
	body := fmt.Appendf(nil, `{"name":%q,"partitions":%d,"config":{`, name, partitions)
	first := true
	for k, v := range config {
		if !first {
			body = append(body, ',')
		}
		first = false
		body = fmt.Appendf(body, "%q:%q", k, v)
	}
	body = append(body, "}}"...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/topics", bytes.NewReader(body))
	req.Header.Set("Content-Type", wire.MediaTypeJSON)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		raw, _ := io.ReadAll(resp.Body)
		tb.Fatalf("create %s: %d %s", name, resp.StatusCode, raw)
	}
}
