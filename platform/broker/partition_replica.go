package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
)

// errRoleChanged: the replica's role or leader epoch changed under a
// follower operation, which is dropped (the fetcher sees the new
// assignment next).
var errRoleChanged = errors.New("replica role changed")

// replicaLog returns the log as a ReplicaLog; p.life is held.
func (p *partition) replicaLog() (ReplicaLog, error) {
	if p.log == nil {
		return nil, fmt.Errorf("%s: %w", p, ErrNotLeader)
	}
	rl, ok := p.log.(ReplicaLog)
	if !ok {
		return nil, fmt.Errorf("%s: log %T cannot replicate: %w", p, p.log, ErrReplicaUnavailable)
	}
	return rl, nil
}

// followerPosition is a follower's log start and end and latest epoch.
func (p *partition) followerPosition() (start, leo, hw int64, latest int32, err error) {
	p.life.RLock()
	defer p.life.RUnlock()
	rl, err := p.replicaLog()
	if err != nil {
		return 0, 0, 0, 0, err
	}
	return rl.StartOffset(), rl.EndOffset(), p.hw.Load(), rl.LatestEpoch(), nil
}

// followOp runs f on the log while this replica follows in leader epoch
// epoch; errRoleChanged if it no longer does.
func (p *partition) followOp(epoch int32, f func(rl ReplicaLog) error) error {
	p.life.RLock()
	defer p.life.RUnlock()
	rl, err := p.replicaLog()
	if err != nil {
		return err
	}
	p.follow.Lock()
	defer p.follow.Unlock()
	p.mu.Lock()
	ok := !p.leader && p.epoch == epoch
	p.mu.Unlock()
	if !ok {
		return errRoleChanged
	}
	return f(rl)
}

// appendReplica appends the leader's batches and takes the HW it
// answered, capped by the local log end.
func (p *partition) appendReplica(ctx context.Context, epoch int32, batches [][]byte, leaderHW int64) error {
	return p.followOp(epoch, func(rl ReplicaLog) error {
		if err := rl.AppendReplica(ctx, batches); err != nil {
			return fmt.Errorf("replicate %s: %w", p, err)
		}
		p.copied.add(batches)
		hw := FollowerHighWatermark(p.hw.Load(), leaderHW, rl.EndOffset())
		if hw > p.hw.Load() {
			if err := rl.SetHighWatermark(hw); err != nil {
				return fmt.Errorf("follower high watermark of %s: %w", p, err)
			}
			p.hw.Store(hw)
			p.changed.Notify()
		}
		return nil
	})
}

// truncateTo cuts the follower's log at off (KIP-101).
func (p *partition) truncateTo(epoch int32, off int64) error {
	return p.followOp(epoch, func(rl ReplicaLog) error {
		if err := rl.TruncateTo(off); err != nil {
			return fmt.Errorf("truncate %s: %w", p, err)
		}
		p.hw.Store(rl.HighWatermark())
		return nil
	})
}

// restartAt empties the follower's log and restarts it at off.
func (p *partition) restartAt(epoch int32, off int64) error {
	return p.followOp(epoch, func(rl ReplicaLog) error {
		if err := rl.TruncateFullyAndStartAt(off); err != nil {
			return fmt.Errorf("restart %s: %w", p, err)
		}
		p.hw.Store(rl.HighWatermark())
		return nil
	})
}

// localEndForEpoch is this replica's end offset of epoch (-1 if unknown).
func (p *partition) localEndForEpoch(epoch int32) int64 {
	p.life.RLock()
	defer p.life.RUnlock()
	rl, err := p.replicaLog()
	if err != nil {
		return -1
	}
	_, end, err := rl.EndOffsetForEpoch(epoch)
	if err != nil {
		return -1
	}
	return end
}

// serveReplica answers one partition of a follower's fetch on the leader:
// it records the follower's fetch offset as its LEO (which may move the
// HW), then reads batches from there. news says whether the follower
// learns anything (batches, a higher HW, an epoch answer or an error).
func (p *partition) serveReplica(req *ReplicaFetchPartition, replica int32, maxBytes int, now time.Time, arena *[]byte) (res ReplicaFetchResult, news bool) {
	res = ReplicaFetchResult{Topic: req.Topic, Partition: req.Partition}
	fail := func(code string, err error) (ReplicaFetchResult, bool) {
		res.Error, res.Message = code, err.Error()
		return res, true
	}
	p.life.RLock()
	defer p.life.RUnlock()
	rl, err := p.replicaLog()
	if err != nil {
		return fail(ErrCodeNotLeader, err)
	}
	p.mu.Lock()
	switch {
	case !p.leader:
		p.mu.Unlock()
		return fail(ErrCodeNotLeader, fmt.Errorf("%s: node %d leads nothing here", p, p.nodeID))
	case req.LeaderEpoch < p.epoch:
		epoch := p.epoch
		p.mu.Unlock()
		return fail(ErrCodeFencedEpoch, fmt.Errorf("%s: follower epoch %d, leader epoch %d", p, req.LeaderEpoch, epoch))
	case req.LeaderEpoch > p.epoch:
		epoch := p.epoch
		p.mu.Unlock()
		return fail(ErrCodeUnknownEpoch, fmt.Errorf("%s: follower epoch %d, leader still at %d", p, req.LeaderEpoch, epoch))
	}
	start, end := rl.StartOffset(), rl.EndOffset()
	res.LogStart, res.LogEnd = start, end
	if req.EpochQuery >= 0 {
		p.mu.Unlock()
		e, off, err := rl.EndOffsetForEpoch(req.EpochQuery)
		if err != nil {
			return fail(ErrCodeUnknown, fmt.Errorf("%s: end of epoch %d: %w", p, req.EpochQuery, err))
		}
		res.EpochEnd = &EpochEnd{Epoch: e, EndOffset: off}
		res.HighWatermark = p.hw.Load()
		return res, true
	}
	if req.FetchOffset < start || req.FetchOffset > end {
		p.mu.Unlock()
		res.HighWatermark = p.hw.Load()
		return fail(ErrCodeOutOfRange, &OffsetRangeError{Topic: p.topic, Partition: p.index, Offset: req.FetchOffset, LogStart: start, LogEnd: end})
	}
	var advanced bool
	if req.AckedOffset >= 0 {
		if req.AckedOffset < start || req.AckedOffset > req.FetchOffset {
			p.mu.Unlock()
			res.HighWatermark = p.hw.Load()
			return fail(ErrCodeOutOfRange, &OffsetRangeError{Topic: p.topic, Partition: p.index, Offset: req.AckedOffset, LogStart: start, LogEnd: req.FetchOffset})
		}
		advanced, err = p.repl.FollowerFetched(replica, req.AckedOffset, now)
		if err == nil && advanced {
			err = p.publishHW()
		}
	} else if !p.repl.IsFollower(replica) {
		err = errNotAReplica(replica) // only replicas read the log's tail
	}
	p.mu.Unlock()
	if err != nil {
		return fail(ErrCodeUnknown, fmt.Errorf("%s: follower %d at %d: %w", p, replica, req.AckedOffset, err))
	}
	if advanced {
		p.changed.Notify()
		p.wake.Notify()
	}
	res.HighWatermark = p.hw.Load()
	if req.FetchOffset < end {
		if rr, ok := rl.(rawBatchReader); ok && arena != nil {
			*arena, res.Batches, err = rr.ReadRaw(*arena, req.FetchOffset, maxBytes, end)
		} else {
			res.Batches, err = rl.ReadBatches(req.FetchOffset, maxBytes, end)
		}
		if err != nil {
			return fail(ErrCodeUnknown, fmt.Errorf("%s: read for follower %d at %d: %w", p, replica, req.FetchOffset, err))
		}
	}
	return res, len(res.Batches) > 0 || res.HighWatermark > req.HighWatermark
}

// isrChange returns the AlterPartition this leader should propose now,
// if any: followers lagging past lagMax leave the ISR, caught-up ones
// join. Only one proposal per partition epoch is in flight.
func (p *partition) isrChange(now time.Time, lagMax time.Duration) (*meta.AlterPartition, bool) {
	p.life.RLock()
	defer p.life.RUnlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.log == nil || !p.leader {
		return nil, false
	}
	if p.isrPending == p.pepoch && now.Sub(p.isrAt) < lagMax || now.Before(p.isrRetryAt) {
		return nil, false
	}
	isr, changed := p.repl.ProposedISR(now, lagMax)
	if !changed {
		return nil, false
	}
	p.isrPending, p.isrAt = p.pepoch, now
	p.repl.Proposing(isr)
	out := make([]meta.NodeID, len(isr))
	for i, id := range isr {
		out[i] = meta.NodeID(id)
	}
	return &meta.AlterPartition{
		Topic: p.topic, Partition: p.index,
		Leader: meta.NodeID(p.nodeID), LeaderEpoch: p.epoch, PartitionEpoch: p.pepoch,
		ISR: out,
	}, true
}

// isrProposalFailed lets a check after retryAt propose again.
func (p *partition) isrProposalFailed(pepoch int32, retryAt time.Time) error {
	p.life.RLock()
	defer p.life.RUnlock()
	p.mu.Lock()
	var advanced bool
	var err error
	if p.isrPending == pepoch {
		p.isrPending = -1
		if p.log != nil && p.leader && p.pepoch == pepoch {
			if advanced = p.repl.ProposalFailed(); advanced {
				err = p.publishHW()
			}
		}
	}
	p.isrRetryAt = retryAt
	p.mu.Unlock()
	if advanced {
		p.changed.Notify()
		p.wake.Notify()
	}
	return err
}

// followedLeader is the leader and epoch this replica follows, ok false
// when it leads, has no leader or is closed.
func (p *partition) followedLeader() (leader, epoch int32, ok bool) {
	p.life.RLock()
	defer p.life.RUnlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.log == nil || p.leader || p.leaderID < 0 {
		return 0, 0, false
	}
	return p.leaderID, p.epoch, true
}

// isrChangeDue reports whether the ISR rules ask for a change now,
// without proposing it (and without allocating: it runs on every fetch).
func (p *partition) isrChangeDue(now time.Time, lagMax time.Duration) bool {
	var buf [8]int32
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.leader {
		return false
	}
	_, changed := p.repl.appendProposedISR(buf[:0], now, lagMax)
	return changed
}

// rawBatchReader is a ReplicaLog that reads stored batches into a
// caller's buffer (storage.Log.ReadRaw): the leader's read for a
// replication stream, one copy out of the file into a reused buffer.
type rawBatchReader interface {
	ReadRaw(dst []byte, from int64, maxBytes int, maxOffset int64) ([]byte, [][]byte, error)
}

// recordFollower records a follower's reported log end offset off under
// leader epoch epoch (a replication stream's position): as a fetch at off
// would, without reading. A report for another epoch, or outside the
// leader's log, is ignored (the follower's next fetch learns why).
func (p *partition) recordFollower(replica, epoch int32, off int64, now time.Time) error {
	p.life.RLock()
	defer p.life.RUnlock()
	rl, err := p.replicaLog()
	if err != nil {
		return nil
	}
	p.mu.Lock()
	if !p.leader || p.epoch != epoch || off < rl.StartOffset() || off > rl.EndOffset() {
		p.mu.Unlock()
		return nil
	}
	advanced, err := p.repl.FollowerFetched(replica, off, now)
	if err == nil && advanced {
		err = p.publishHW()
	}
	p.mu.Unlock()
	if advanced {
		p.changed.Notify()
		p.wake.Notify()
	}
	if err != nil {
		return fmt.Errorf("%s: follower %d at %d: %w", p, replica, off, err)
	}
	return nil
}
