package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/record"
)

// FetchRequest asks for committed records of one partition.
type FetchRequest struct {
	Topic     string
	Partition int32
	// Offset is the first offset wanted.
	Offset int64
	// MaxBytes bounds the answer's payload (at least one record is
	// returned when one is there, however large). <= 0 means 1 MiB.
	MaxBytes int
	// MaxWait is how long to wait for records when none is committed at
	// Offset yet (long-poll); 0 answers at once.
	MaxWait time.Duration
}

// DefaultFetchMaxBytes is FetchRequest.MaxBytes when unset.
const DefaultFetchMaxBytes = 1 << 20

// FetchResult is a fetch answer: records in offset order, all below
// HighWatermark, and the offset to ask for next.
type FetchResult struct {
	Records    []record.Record
	NextOffset int64
	ReadInfo
	// Waited is how long the fetch waited for records (the long-poll):
	// its time to answer minus Waited is the time spent reading.
	Waited time.Duration
}

// Fetch returns records from req.Offset up to the high watermark,
// appending them to dst (which it may reuse). With MaxWait it waits until
// the HW passes req.Offset, MaxWait passes or ctx ends; the wake-up is a
// broadcast on the partition when its HW moves, never a poll.
func (b *Broker) Fetch(ctx context.Context, req FetchRequest, dst []record.Record) (FetchResult, error) {
	if req.MaxBytes <= 0 {
		req.MaxBytes = DefaultFetchMaxBytes
	}
	lp := newLongPoll(req.MaxWait)
	defer lp.close()
	for {
		t, p, err := b.partitionOf(req.Topic, req.Partition)
		if err != nil {
			return FetchResult{Waited: lp.waited}, err
		}
		changed := p.changed.Wait()
		recs, info, err := p.read(dst[:0], req.Offset, req.MaxBytes)
		if err != nil {
			return FetchResult{ReadInfo: info, Waited: lp.waited}, b.enrich(t, req.Partition, err)
		}
		res := FetchResult{Records: recs, NextOffset: req.Offset, ReadInfo: info, Waited: lp.waited}
		if len(recs) > 0 {
			res.NextOffset = recs[len(recs)-1].Offset + 1
			return res, nil
		}
		again, err := lp.wait(ctx, changed, req)
		if !again {
			res.Waited = lp.waited
			return res, err
		}
	}
}

// longPoll is the wait of one fetch: until its partition changes, MaxWait
// passes or ctx ends. It adds up the time waited (FetchResult.Waited).
type longPoll struct {
	timer  *time.Timer // nil: no wait (MaxWait 0)
	waited time.Duration
}

func newLongPoll(maxWait time.Duration) longPoll {
	if maxWait <= 0 {
		return longPoll{}
	}
	return longPoll{timer: time.NewTimer(maxWait)}
}

func (lp *longPoll) close() {
	if lp.timer != nil {
		lp.timer.Stop()
	}
}

// wait blocks until changed fires (again: read once more), the wait runs
// out (not again, no error) or ctx ends (not again, ctx's error). Without a
// wait it returns at once, not again.
func (lp *longPoll) wait(ctx context.Context, changed <-chan struct{}, req FetchRequest) (again bool, err error) {
	if lp.timer == nil {
		return false, nil
	}
	start := time.Now()
	defer func() { lp.waited += time.Since(start) }()
	select {
	case <-changed:
		return true, nil
	case <-lp.timer.C:
		return false, nil
	case <-ctx.Done():
		return false, fmt.Errorf("fetch %s-%d: %w", req.Topic, req.Partition, ctx.Err())
	}
}

// Offset positions for ListOffset.
const (
	// OffsetEarliest asks for the log start.
	OffsetEarliest int64 = -2
	// OffsetLatest asks for the high watermark (where a consumer that
	// wants only new records starts).
	OffsetLatest int64 = -1
)

// ListOffset returns the log start (at == OffsetEarliest), the high
// watermark (OffsetLatest) or the first committed offset whose timestamp
// is >= at (a time in ms; the high watermark when there is none).
func (b *Broker) ListOffset(ctx context.Context, topic string, partition int32, at int64) (int64, error) {
	t, p, err := b.partitionOf(topic, partition)
	if err != nil {
		return 0, err
	}
	if !p.isLeader() {
		return 0, b.notLeader(t, partition, nil)
	}
	switch {
	case at == OffsetEarliest:
		start, _, _, err := p.offsets()
		return start, err
	case at == OffsetLatest:
		_, _, hw, err := p.offsets()
		return hw, err
	case at < 0:
		return 0, fmt.Errorf("%w: offset position %d", ErrInvalidRequest, at)
	}
	return p.offsetForTimestamp(at)
}

// PartitionInfo is a local replica's state, for describe and metrics.
type PartitionInfo struct {
	Topic     string
	Partition int32
	Leader    bool
	ReadInfo
	// ReplicaLogEnds, on a leader, is each follower's log end offset as
	// its last fetch reported it (-1 before its first fetch).
	ReplicaLogEnds map[int32]int64 `json:",omitempty"`
	// LogBytes is the size of the replica's log on disk (storage.Log.Size).
	LogBytes int64
}

// PartitionInfo returns the state of the local replica of topic/partition.
func (b *Broker) PartitionInfo(topic string, partition int32) (PartitionInfo, error) {
	_, p, err := b.partitionOf(topic, partition)
	if err != nil {
		return PartitionInfo{}, err
	}
	start, end, hw, err := p.offsets()
	if err != nil {
		return PartitionInfo{}, err
	}
	return PartitionInfo{Topic: topic, Partition: partition, Leader: p.isLeader(),
		ReadInfo: ReadInfo{LogStart: start, LogEnd: end, HighWatermark: hw}, ReplicaLogEnds: p.followerLEOs(), LogBytes: p.logBytes()}, nil
}

// Partitions returns the state of every local replica, appended to dst.
func (b *Broker) Partitions(dst []PartitionInfo) []PartitionInfo {
	b.mu.RLock()
	topics := b.topics
	b.mu.RUnlock()
	for name, t := range topics {
		for i, p := range t.parts {
			if p == nil {
				continue
			}
			start, end, hw, err := p.offsets()
			if err != nil {
				continue
			}
			dst = append(dst, PartitionInfo{Topic: name, Partition: int32(i), Leader: p.isLeader(),
				ReadInfo: ReadInfo{LogStart: start, LogEnd: end, HighWatermark: hw}, ReplicaLogEnds: p.followerLEOs(), LogBytes: p.logBytes()})
		}
	}
	return dst
}
