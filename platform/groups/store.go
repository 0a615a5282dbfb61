package groups

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/sluicehq/sluice/record"
)

// loadLoop creates __consumer_offsets if needed and loads every committed
// offset, retrying until it succeeds or the coordinator closes.
func (c *Coordinator) loadLoop() {
	defer c.stopped.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for attempt := 1; ; attempt++ {
		offsets, parts, epochs, err := c.load(ctx)
		if err == nil {
			c.cfg.Logger.Info("committed offsets loaded", "topic", OffsetsTopic, "positions", len(offsets), "partitions_led", len(epochs))
			c.mu.Lock()
			c.offsets = newOffsetTable(offsets)
			c.offsetsParts = parts
			c.loadedEpoch = epochs
			c.mu.Unlock()
			close(c.ready)
			return
		}
		if attempt == 1 || attempt%20 == 0 {
			c.cfg.Logger.Info("loading committed offsets; will retry", "err", err, "attempt", attempt)
		}
		select {
		case <-c.stop:
			return
		case <-c.cfg.Clock.After(c.cfg.LoadRetry):
		}
	}
}

// load reads the partitions of __consumer_offsets this node leads up to
// their high watermarks and keeps the last value per key (tombstones
// delete). It returns the partition count and the leader epoch of each
// partition read. The others are read when this node comes to lead them
// (checkOwner): a node's coordinator starts without waiting for the
// other nodes, and serves only the groups whose partition it leads.
func (c *Coordinator) load(ctx context.Context) (map[OffsetKey]Committed, int, map[int32]int32, error) {
	if err := c.cfg.Log.CreateInternalTopic(ctx, OffsetsTopic, c.cfg.OffsetsPartitions); err != nil {
		return nil, 0, nil, fmt.Errorf("create %s: %w", OffsetsTopic, err)
	}
	n, err := c.cfg.Log.Partitions(ctx, OffsetsTopic)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("partitions of %s: %w", OffsetsTopic, err)
	}
	out := map[OffsetKey]Committed{}
	epochs := make(map[int32]int32, n)
	for p := int32(0); p < n; p++ {
		if ld, err := c.cfg.Log.Leader(ctx, OffsetsTopic, p); err != nil || !ld.Local {
			continue
		}
		vals, epoch, err := c.loadPartition(ctx, p)
		if err != nil {
			return nil, 0, nil, err
		}
		maps.Copy(out, vals)
		epochs[p] = epoch
	}
	return out, int(n), epochs, nil
}

// loadPartition reads one partition of __consumer_offsets and returns its
// positions and the leader epoch seen before reading.
func (c *Coordinator) loadPartition(ctx context.Context, p int32) (map[OffsetKey]Committed, int32, error) {
	ld, err := c.cfg.Log.Leader(ctx, OffsetsTopic, p)
	if err != nil {
		return nil, 0, fmt.Errorf("leader of %s/%d: %w", OffsetsTopic, p, err)
	}
	start, end, err := c.committedBounds(ctx, p)
	if err != nil {
		return nil, 0, err
	}
	out := map[OffsetKey]Committed{}
	for off := start; off < end; {
		recs, _, err := c.cfg.Log.Read(ctx, OffsetsTopic, p, off, c.cfg.LoadBatchBytes)
		if err != nil {
			return nil, 0, fmt.Errorf("read %s/%d at %d: %w", OffsetsTopic, p, off, err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if r.Offset < off {
				continue // the batch began before the offset asked for
			}
			off = r.Offset + 1
			k, v, tombstone, err := decodeOffsetRecord(r.Key, r.Value)
			switch {
			case err != nil:
				c.cfg.Logger.Warn("skipping malformed offsets record", "partition", p, "offset", r.Offset, "err", err)
			case tombstone:
				delete(out, k)
			default:
				out[k] = v
			}
		}
	}
	return out, ld.Epoch, nil
}

// reloadPartition reads partition p of __consumer_offsets again and
// replaces the positions of its groups, unless it was loaded at epoch
// meanwhile.
func (c *Coordinator) reloadPartition(ctx context.Context, p, epoch int32) error {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	c.mu.Lock()
	cur, ok := c.loadedEpoch[p]
	c.mu.Unlock()
	if ok && cur == epoch {
		return nil
	}
	vals, read, err := c.loadPartition(ctx, p)
	if err != nil {
		return fmt.Errorf("reload %s/%d: %w", OffsetsTopic, p, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for g := range c.offsets {
		if offsetsPartition(g, c.offsetsParts) == p {
			delete(c.offsets, g)
		}
	}
	for k, v := range vals {
		c.offsets.set(k, v)
	}
	c.loadedEpoch[p] = read
	c.cfg.Logger.Info("committed offsets reloaded after a leader change", "partition", p, "leader_epoch", read, "positions", len(vals))
	return nil
}

// writeOffsets appends commits of one group to its offsets partition and,
// once durable, updates the in-memory view. The caller holds the group's
// commitMu (not c.mu).
func (c *Coordinator) writeOffsets(ctx context.Context, group string, vals map[OffsetKey]Committed) error {
	return c.appendOffsets(ctx, group, vals, nil)
}

func (c *Coordinator) deleteOffsets(ctx context.Context, group string, keys []OffsetKey) error {
	return c.appendOffsets(ctx, group, nil, keys)
}

func (c *Coordinator) appendOffsets(ctx context.Context, group string, vals map[OffsetKey]Committed, tombstones []OffsetKey) error {
	keys := slices.SortedFunc(maps.Keys(vals), compareKeys)
	recs := make([]record.Record, 0, len(keys)+len(tombstones))
	for _, k := range keys {
		v := vals[k]
		key, val := encodeOffsetRecord(k, &v)
		recs = append(recs, record.Record{Key: key, Value: val})
	}
	for _, k := range tombstones {
		key, val := encodeOffsetRecord(k, nil)
		recs = append(recs, record.Record{Key: key, Value: val})
	}
	if len(recs) == 0 {
		return nil
	}
	c.mu.Lock()
	p := offsetsPartition(group, c.offsetsParts)
	c.mu.Unlock()
	if err := c.cfg.Log.Append(ctx, OffsetsTopic, p, recs); err != nil {
		return fmt.Errorf("commit offsets of group %s to %s/%d: %w", group, OffsetsTopic, p, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range vals {
		c.offsets.set(k, v)
	}
	for _, k := range tombstones {
		c.offsets.del(k)
	}
	return nil
}

func compareKeys(a, b OffsetKey) int {
	if a.Group != b.Group {
		if a.Group < b.Group {
			return -1
		}
		return 1
	}
	if a.Topic != b.Topic {
		if a.Topic < b.Topic {
			return -1
		}
		return 1
	}
	return int(a.Partition) - int(b.Partition)
}

// logEnder is what a Log offers when it can tell the log end offset of a
// partition this node leads (brokerLog does).
type logEnder interface {
	LogEnd(ctx context.Context, topic string, partition int32) (int64, error)
}

// committedWaitPoll is how often committedBounds checks the high watermark.
const committedWaitPoll = 20 * time.Millisecond

// committedBounds returns the bounds of offsets partition p to read, once
// everything in the leader's log is committed. A leader that was just
// elected may have a high watermark below its log end (the last
// acknowledged commits are in its log, but its followers have not yet
// told it so); reading only up to that mark would load older offsets and
// make a group's committed offsets go backwards. So when the Log can tell
// the log end, this waits (bounded by ctx and Close) until the high
// watermark reaches it, which it does as soon as the ISR has caught up.
func (c *Coordinator) committedBounds(ctx context.Context, p int32) (int64, int64, error) {
	var leo int64 = -1
	if le, ok := c.cfg.Log.(logEnder); ok {
		end, err := le.LogEnd(ctx, OffsetsTopic, p)
		if err != nil {
			return 0, 0, fmt.Errorf("log end of %s/%d: %w", OffsetsTopic, p, err)
		}
		leo = end
	}
	for {
		start, hw, err := c.cfg.Log.Bounds(ctx, OffsetsTopic, p)
		if err != nil {
			return 0, 0, fmt.Errorf("bounds of %s/%d: %w", OffsetsTopic, p, err)
		}
		if hw >= leo {
			return start, hw, nil
		}
		select {
		case <-ctx.Done():
			return 0, 0, fmt.Errorf("wait for %s/%d to commit up to %d (high watermark %d): %w", OffsetsTopic, p, leo, hw, ctx.Err())
		case <-c.stop:
			return 0, 0, fmt.Errorf("wait for %s/%d to commit: %w", OffsetsTopic, p, ErrClosed)
		case <-c.cfg.Clock.After(committedWaitPoll):
		}
	}
}
