package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/urfave/cli/v2"
)

func benchConsumeCommand() *cli.Command {
	return &cli.Command{
		Name:      "consume",
		Usage:     "read a topic's backlog as fast as possible",
		ArgsUsage: "TOPIC",
		Description: "Reads every partition (or --partition P) with one fetch loop per partition,\n" +
			"from --from up to the high watermark seen at the start, or until --records\n" +
			"records arrived. Latency is per fetch request.",
		Flags: []cli.Flag{
			&cli.Int64Flag{Name: "records", Aliases: []string{"n"}, Usage: "stop after N records (0: the backlog at start)"},
			&cli.StringFlag{Name: "from", Value: "earliest", Usage: "earliest, latest, OFFSET or @TIMESTAMP"},
			&cli.IntSliceFlag{Name: "partition", Aliases: []string{"p"}, Usage: "read only partition `P` (repeatable)"},
			&cli.IntFlag{Name: "max-bytes", Value: 4 << 20, Usage: "bytes per fetch"},
			&cli.StringFlag{Name: "processor", Usage: "run processor plugin `NAME[@N]` on the broker"},
			&cli.StringSliceFlag{Name: "param", Usage: "processor parameter `KEY=VALUE` (repeatable)"},
		},
		Action: benchConsume,
	}
}

func benchConsume(c *cli.Context) error {
	topic, err := oneArg(c, "TOPIC")
	if err != nil {
		return err
	}
	from, err := client.ParsePosition(c.String("from"))
	if err != nil {
		return err
	}
	params, err := parseKV("param", c.StringSlice("param"))
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	tp, err := cl.DescribeTopic(c.Context, topic)
	if err != nil {
		return err
	}
	var parts []int32
	for _, p := range c.IntSlice("partition") {
		parts = append(parts, int32(p))
	}
	if len(parts) == 0 {
		for _, p := range tp.Partitions {
			parts = append(parts, p.Index)
		}
	}
	starts := map[int32]int64{}
	ends := map[int32]int64{}
	var backlog int64
	for _, p := range parts {
		if p < 0 || p >= tp.PartitionCount {
			return fmt.Errorf("bench consume: topic %s has no partition %d", topic, p)
		}
		s, err := cl.Resolve(c.Context, topic, p, from)
		if err != nil {
			return err
		}
		e, err := cl.Offset(c.Context, topic, p, "latest")
		if err != nil {
			return err
		}
		starts[p], ends[p] = s, e
		backlog += max(e-s, 0)
	}
	want := c.Int64("records")
	total := want
	if want == 0 {
		total = backlog
	}
	if total == 0 {
		return fmt.Errorf("bench consume: nothing to read: %s has no records past %s (produce some with sluice bench produce)", topic, from)
	}
	opts := client.FetchOptions{MaxBytes: c.Int("max-bytes"), MaxWait: 500 * time.Millisecond, Processor: c.String("processor"), Params: params}

	lat := newLatencies()
	var got, bytes atomic.Int64
	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	bar := startProgress(c.App.ErrWriter, "consume", total, &got)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(parts))
	for _, p := range parts {
		wg.Add(1)
		go func(p int32) {
			defer wg.Done()
			off := starts[p]
			for ctx.Err() == nil {
				if want == 0 && off >= ends[p] {
					return
				}
				t0 := time.Now()
				fb, err := cl.Fetch(ctx, topic, p, off, opts)
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
						cancel()
					}
					return
				}
				lat.record(time.Since(t0))
				var b int64
				for i := range fb.Records {
					b += int64(len(fb.Records[i].Key) + len(fb.Records[i].Value))
				}
				bytes.Add(b)
				if got.Add(int64(len(fb.Records))) >= total && want > 0 {
					cancel()
				}
				off = fb.NextOffset
			}
		}(p)
	}
	wg.Wait()
	elapsed := time.Since(start)
	bar.stop(got.Load())
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	res := &benchResult{Kind: "consume", Topic: topic, Records: got.Load(), Bytes: bytes.Load(), LatencyWhat: "fetch request", Latency: lat.summary()}
	res.finish(elapsed)
	res.Interrupted = c.Context.Err() != nil
	if err := printBench(c, res); err != nil {
		return err
	}
	if res.Interrupted {
		return fmt.Errorf("bench consume: %w after %d records: the figures cover those", errInterrupted, res.Records)
	}
	return nil
}
