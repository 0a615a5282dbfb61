package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/urfave/cli/v2"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "measure produce and consume throughput and latency against a node",
		Description: "Both print a progress bar on stderr while running, then records/s, MiB/s\n" +
			"and latency percentiles (HDR histogram). Use a topic made for the run:\n\n" +
			"   sluice topic create bench --partitions 8 --config durability=replicated\n" +
			"   sluice bench produce bench --records 1000000 --size 1024 --acks 1\n" +
			"   sluice bench produce bench --records 100000 --rate 10000 --acks 1\n" +
			"   sluice bench consume bench",
		Subcommands: []*cli.Command{benchProduceCommand(), benchConsumeCommand()},
	}
}

// latencies is an HDR histogram of microseconds, safe for concurrent use.
type latencies struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

// maxLatencyUs is the largest latency recorded exactly; larger ones are
// recorded as this value.
const maxLatencyUs = 120_000_000

func newLatencies() *latencies {
	return &latencies{h: hdrhistogram.New(1, maxLatencyUs, 3)}
}

func (l *latencies) record(d time.Duration) {
	us := min(max(d.Microseconds(), 1), maxLatencyUs)
	l.mu.Lock()
	_ = l.h.RecordValue(us) // in range by construction
	l.mu.Unlock()
}

// LatencyMs summarizes a histogram in milliseconds.
type LatencyMs struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func (l *latencies) summary() LatencyMs {
	l.mu.Lock()
	defer l.mu.Unlock()
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return LatencyMs{
		P50:  ms(l.h.ValueAtQuantile(50)),
		P99:  ms(l.h.ValueAtQuantile(99)),
		P999: ms(l.h.ValueAtQuantile(99.9)),
		Max:  ms(l.h.Max()),
		Mean: l.h.Mean() / 1000,
	}
}

// benchResult is what a bench run prints (table or JSON).
type benchResult struct {
	Kind          string    `json:"kind"`
	Topic         string    `json:"topic"`
	Records       int64     `json:"records"`
	Bytes         int64     `json:"bytes"`
	Seconds       float64   `json:"seconds"`
	RecordsPerSec float64   `json:"records_per_sec"`
	MiBPerSec     float64   `json:"mib_per_sec"`
	Errors        int64     `json:"errors"`
	FirstError    string    `json:"first_error,omitempty"`
	LatencyWhat   string    `json:"latency_of"`
	Latency       LatencyMs `json:"latency_ms"`
	TargetRate    float64   `json:"target_rate,omitempty"`
	// Interrupted: Ctrl-C stopped the run; the figures cover what was
	// done until then.
	Interrupted bool `json:"interrupted,omitempty"`
}

func (r *benchResult) finish(elapsed time.Duration) {
	r.Seconds = elapsed.Seconds()
	if r.Seconds > 0 {
		r.RecordsPerSec = float64(r.Records) / r.Seconds
		r.MiBPerSec = float64(r.Bytes) / r.Seconds / (1 << 20)
	}
}

func printBench(c *cli.Context, r *benchResult) error {
	if wantJSON(c) {
		return printJSON(c.App.Writer, r)
	}
	t := newTable(c.App.Writer)
	t.row("records", fmt.Sprint(r.Records))
	t.row("elapsed", fmt.Sprintf("%.2f s", r.Seconds))
	t.row("throughput", fmt.Sprintf("%.0f records/s, %.1f MiB/s", r.RecordsPerSec, r.MiBPerSec))
	if r.TargetRate > 0 {
		t.row("target rate", fmt.Sprintf("%.0f records/s", r.TargetRate))
	}
	t.row("latency ("+r.LatencyWhat+")", fmt.Sprintf("p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms",
		r.Latency.P50, r.Latency.P99, r.Latency.P999, r.Latency.Max))
	t.row("errors", fmt.Sprint(r.Errors))
	if r.Interrupted {
		t.row("interrupted", "yes: the figures cover the run until Ctrl-C")
	}
	if r.FirstError != "" {
		t.row("first error", r.FirstError)
	}
	return t.flush()
}

// progress shows a bar on w fed from an atomic counter. stop ends it and
// waits for its goroutines.
type progress struct {
	p    *mpb.Progress
	bar  *mpb.Bar
	done chan struct{}
	wg   sync.WaitGroup
}

func startProgress(w io.Writer, name string, total int64, count *atomic.Int64) *progress {
	pr := &progress{done: make(chan struct{})}
	pr.p = mpb.New(mpb.WithOutput(w), mpb.WithWidth(48), mpb.WithRefreshRate(150*time.Millisecond))
	pr.bar = pr.p.AddBar(total,
		mpb.PrependDecorators(decor.Name(name+" "), decor.CountersNoUnit("%d / %d")),
		mpb.AppendDecorators(decor.Percentage(decor.WCSyncSpace), decor.AverageSpeed(nil, " %.0f rec/s", decor.WCSyncSpace)),
	)
	pr.wg.Add(1)
	go func() {
		defer pr.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				pr.bar.SetCurrent(count.Load())
			case <-pr.done:
				return
			}
		}
	}()
	return pr
}

// stop completes (or aborts, when the run fell short) the bar and waits.
func (pr *progress) stop(final int64) {
	close(pr.done)
	pr.wg.Wait()
	pr.bar.SetCurrent(final)
	if !pr.bar.Completed() {
		pr.bar.Abort(false)
	}
	pr.p.Wait()
}
