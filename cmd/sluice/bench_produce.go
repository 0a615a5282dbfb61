package main

import (
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/urfave/cli/v2"
)

func benchProduceCommand() *cli.Command {
	return &cli.Command{
		Name:      "produce",
		Usage:     "produce N records of a fixed size as fast as possible, or at a fixed rate",
		ArgsUsage: "TOPIC",
		Description: "Latency is measured per record from when it was due to be sent (with --rate,\n" +
			"its slot in the schedule, so a stall is not hidden) to its acknowledgement.",
		Flags: []cli.Flag{
			&cli.Int64Flag{Name: "records", Aliases: []string{"n"}, Value: 100_000, Usage: "records to produce"},
			&cli.IntFlag{Name: "size", Value: 1024, Usage: "value size in `BYTES` (random bytes)"},
			&cli.IntFlag{Name: "batch", Value: 1000, Usage: "records per request at most"},
			&cli.StringFlag{Name: "acks", Value: "1", Usage: "0, 1 or all"},
			&cli.Float64Flag{Name: "rate", Usage: "target records/s for a fixed-rate latency run (0: as fast as possible)"},
			&cli.IntFlag{Name: "keys", Usage: "use `K` distinct keys (0: no keys, records spread round-robin)"},
			&cli.IntFlag{Name: "in-flight", Value: 4, Usage: "concurrent requests (above 1, order within a partition is not kept)"},
			&cli.DurationFlag{Name: "linger", Value: 5 * time.Millisecond, Usage: "batch linger (with --rate default 0: send at once)"},
			&cli.BoolFlag{Name: "no-idempotence", Usage: "produce without the idempotent producer (the default is idempotent)"},
		},
		Action: benchProduce,
	}
}

func benchProduce(c *cli.Context) error {
	topic, err := oneArg(c, "TOPIC")
	if err != nil {
		return err
	}
	acks, err := client.ParseAcks(c.String("acks"))
	if err != nil {
		return err
	}
	n, size, rate, keys := c.Int64("records"), c.Int("size"), c.Float64("rate"), c.Int("keys")
	if n <= 0 || size < 0 || rate < 0 {
		return usagef("bench produce: --records must be > 0, --size and --rate >= 0")
	}
	linger := c.Duration("linger")
	if rate > 0 && !c.IsSet("linger") {
		linger = -1 // latency run: a record goes out as soon as a request slot is free
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	if _, err := cl.DescribeTopic(c.Context, topic); err != nil {
		return err
	}
	value := make([]byte, size)
	_, _ = rand.Read(value)
	var keyList [][]byte
	for i := 0; i < keys; i++ {
		keyList = append(keyList, []byte(fmt.Sprintf("key-%d", i)))
	}

	// A buffer of two rounds of requests keeps the node busy without
	// counting a deep queue in the latency.
	batch, inFlight := max(c.Int("batch"), 1), max(c.Int("in-flight"), 1)
	p := cl.NewProducer(client.ProducerConfig{
		Acks: acks, Linger: linger, BatchRecords: batch, MaxInFlight: inFlight,
		MaxBuffered: 2 * batch * inFlight, DisableIdempotence: c.Bool("no-idempotence"),
	})
	lat := newLatencies()
	var acked, failed atomic.Int64
	var firstErr sync.Once
	res := &benchResult{Kind: "produce", Topic: topic, LatencyWhat: "produce to ack", TargetRate: rate}
	bar := startProgress(c.App.ErrWriter, "produce", n, &acked)

	start := time.Now()
	var period time.Duration
	if rate > 0 {
		period = time.Duration(float64(time.Second) / rate)
	}
	var sendErr error
	for i := int64(0); i < n && c.Context.Err() == nil; i++ {
		due := time.Now()
		if period > 0 {
			due = start.Add(time.Duration(i) * period)
			// Sleep only when well ahead; a late record is sent at once
			// and its latency counts from its due time.
			if ahead := time.Until(due); ahead > time.Millisecond {
				t := time.NewTimer(ahead)
				select {
				case <-t.C:
				case <-c.Context.Done():
					t.Stop()
				}
			}
		}
		r := client.Record{Value: value}
		if keys > 0 {
			r.Key = keyList[i%int64(keys)]
		}
		err := p.ProduceFunc(c.Context, topic, r, func(pr client.ProduceResult) {
			lat.record(time.Since(due))
			if pr.Err != nil {
				failed.Add(1)
				firstErr.Do(func() { res.FirstError = pr.Err.Error() })
			}
			acked.Add(1)
		})
		if err != nil {
			if c.Context.Err() == nil {
				sendErr = err
			}
			break
		}
	}
	closeErr := p.Close()
	elapsed := time.Since(start)
	bar.stop(acked.Load())
	if sendErr != nil {
		return sendErr
	}
	res.Interrupted = c.Context.Err() != nil
	if closeErr != nil {
		return closeErr
	}
	res.Records = acked.Load() - failed.Load()
	res.Bytes = res.Records * int64(size)
	res.Errors = failed.Load()
	res.Latency = lat.summary()
	res.finish(elapsed)
	if err := printBench(c, res); err != nil {
		return err
	}
	if res.Interrupted {
		return fmt.Errorf("bench produce: %w after %d records: the figures cover those", errInterrupted, acked.Load())
	}
	if res.Errors > 0 {
		return fmt.Errorf("bench produce: %d records failed: %s", res.Errors, res.FirstError)
	}
	return nil
}
