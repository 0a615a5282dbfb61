package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/urfave/cli/v2"
)

// commitEvery is how often `consume --group` commits what it printed.
const commitEvery = time.Second

// consumeGroup is `sluice consume TOPIC --group G`: a group member over the
// WebSocket consumer. It commits the offset after the last record printed,
// every commitEvery and on exit, so a record is never skipped, though one
// may print twice after a crash (at-least-once).
func consumeGroup(c *cli.Context, cl *client.Client, topic, group string, from client.Position, params map[string]string, pr *recordPrinter) error {
	start := from.String()
	if start != "earliest" && start != "latest" && start[0] != '@' {
		return usagef("--from %s with --group: give earliest, latest or @TIMESTAMP (set offsets with sluice group reset-offsets)", start)
	}
	ws, err := cl.ConsumeWS(c.Context, client.WSConsumerConfig{
		Topic: topic, Group: group, From: start, ClientID: "sluice-cli",
		Processor: c.String("processor"), Params: params,
		JSON: false,
	})
	if err != nil {
		return err
	}
	positions := map[int32]int64{}
	commit := func() error {
		if len(positions) == 0 {
			return nil
		}
		mine := map[int32]int64{}
		for _, p := range ws.Assignment() {
			if o, ok := positions[p]; ok {
				mine[p] = o
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ws.Commit(ctx, ws.Generation(), mine); err != nil {
			return fmt.Errorf("commit offsets of group %s: %w", group, err)
		}
		return nil
	}
	max, idle := c.Int("max"), c.Duration("idle-timeout")
	n := 0
	lastCommit := time.Now()
	var runErr error
	for max == 0 || n < max {
		ctx, cancel := c.Context, context.CancelFunc(func() {})
		if idle > 0 {
			ctx, cancel = context.WithTimeout(c.Context, idle)
		}
		b, err := ws.Poll(ctx)
		cancel()
		if err != nil {
			if c.Context.Err() == nil && !(idle > 0 && errors.Is(err, context.DeadlineExceeded)) {
				runErr = err
			}
			break
		}
		full := true
		for i := range b.Records {
			if max > 0 && n >= max {
				full = false
				break
			}
			r := b.Records[i]
			r.Partition = b.Partition
			if err := pr.print(&r); err != nil {
				runErr = err
				break
			}
			positions[b.Partition] = r.Offset + 1
			n++
		}
		if full && runErr == nil {
			positions[b.Partition] = b.NextOffset
		}
		if runErr != nil {
			break
		}
		if time.Since(lastCommit) >= commitEvery {
			lastCommit = time.Now()
			if err := commit(); err != nil {
				runErr = err
				break
			}
		}
	}
	if err := commit(); err != nil && runErr == nil {
		runErr = err
	}
	if err := ws.Close(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}
