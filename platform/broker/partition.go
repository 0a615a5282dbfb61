package broker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
)

// partition is this broker's replica of one partition: its log, its role
// and, while it leads, the replication state that yields the HW.
//
// Locking: life is held shared by every operation that touches the log
// and exclusively by close and reopen, so a log is never closed under an
// append or a read. mu guards the role and the Replication value; it is
// never held across log I/O except the HW checkpoint.
type partition struct {
	topic  string
	index  int32
	path   string
	nodeID int32

	life   sync.RWMutex
	log    Log // nil once closed
	opts   LogOptions
	opener LogOpener
	ret    retainer

	// follow serialises the follower's log changes (replica appends,
	// truncation) with role changes, so a replica becoming leader never
	// has a fetch landing in its log afterwards.
	follow sync.Mutex

	mu       sync.Mutex
	leader   bool
	leaderID int32 // the leader of the current assignment (-1: none)
	epoch    int32 // leader epoch of the current assignment
	pepoch   int32 // partition epoch of the current assignment
	repl     Replication
	// isrPending is the partition epoch an ISR change was proposed at;
	// no other is proposed until the metadata moves past it. -1: none.
	isrPending int32
	isrAt      time.Time // when isrPending was set
	isrRetryAt time.Time // no proposal before (after a refused one)
	// lost says why this replica's data was lost (identity.go), until the
	// metadata shows it (meta.Partition.Lost); "" otherwise.
	lost string

	hw      atomic.Int64 // published high watermark, read without mu
	changed *broadcast   // closed when the HW moves or the replica closes
	// wake is this replica's readiness for follower fetches: notified
	// when the led log grows or its HW moves, it wakes only the fetch
	// sessions waiting on this partition (readiness.go).
	wake *readiness

	idem idemState // idempotent producers, while this replica leads

	copied copyMeter // catch-up rate while a reassignment adds it (copyrate.go)
}

// newPartition wraps an open log.
func newPartition(topic string, index, nodeID int32, path string, l Log, opener LogOpener, opts LogOptions, ret retainer) *partition {
	p := &partition{
		topic: topic, index: index, path: path, nodeID: nodeID,
		log: l, opts: opts, opener: opener, ret: ret,
		changed: newBroadcast(), wake: new(readiness),
		leaderID: -1, isrPending: -1,
	}
	p.hw.Store(l.HighWatermark())
	ret.track(l, opts)
	return p
}

// lostReason is why the replica's data was lost, "" when it was not or
// the metadata shows it.
func (p *partition) lostReason() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lost
}

func (p *partition) String() string { return fmt.Sprintf("%s-%d", p.topic, p.index) }

// assign applies the partition's committed assignment: leader (with a new
// Replication when the leader epoch changed), ISR, or follower. Without
// registered (the metadata does not carry this broker's directory id), or
// while the replica's loss is not in the metadata and it still counts as
// in sync, it takes no role (identity.go).
func (p *partition) assign(a *meta.Partition, registered bool) error {
	p.life.RLock()
	defer p.life.RUnlock()
	if p.log == nil {
		return nil
	}
	p.follow.Lock()
	defer p.follow.Unlock()
	p.mu.Lock()
	self := meta.NodeID(p.nodeID)
	if p.lost != "" && a.IsLost(self) {
		p.lost = ""
	}
	if !registered || (p.lost != "" && (a.InISR(self) || a.Leader == self)) {
		a = maskedAssignment(a)
	}
	lead := int32(a.Leader) == p.nodeID
	lost := p.leader && !lead // acks=all waiters must learn it now
	var advanced bool
	switch {
	case lead && (!p.leader || p.epoch != a.LeaderEpoch):
		p.repl = NewReplication(p.nodeID, a.LeaderEpoch, ids(a.Replicas), ids(a.ISR), p.log.EndOffset(), p.log.HighWatermark())
		p.repl.BeganAt(time.Now())
		advanced = true
	case lead && a.PartitionEpoch != p.pepoch:
		// A new partition epoch: the committed ISR (an unrelated
		// metadata change keeps the pending proposal's state).
		p.repl.SetReplicas(ids(a.Replicas)) // a reassignment may have changed them
		advanced = p.repl.SetISR(ids(a.ISR))
	}
	if a.PartitionEpoch != p.pepoch || a.LeaderEpoch != p.epoch {
		p.isrPending = -1
	}
	p.leader, p.leaderID, p.epoch, p.pepoch = lead, int32(a.Leader), a.LeaderEpoch, a.PartitionEpoch
	var err error
	if lead && advanced {
		err = p.publishHW()
	}
	p.mu.Unlock()
	if advanced || lost {
		p.changed.Notify()
		p.wake.Notify()
	}
	return err
}

// publishHW checkpoints and publishes the HW; p.mu is held.
func (p *partition) publishHW() error {
	hw := p.repl.HighWatermark()
	if hw == p.hw.Load() {
		return nil
	}
	p.hw.Store(hw)
	if err := p.log.SetHighWatermark(hw); err != nil {
		return fmt.Errorf("checkpoint high watermark of %s: %w", p, err)
	}
	return nil
}

// appendAs is append for an idempotent producer's batch (q nil: none). A
// batch written before is not written again: the answer is its original
// base offset, once acks is satisfied for it.
func (p *partition) appendAs(ctx context.Context, recs []record.Record, acks Acks, minISR int, q *produced) (int64, error) {
	p.life.RLock()
	if p.log == nil {
		p.life.RUnlock()
		return 0, fmt.Errorf("%s: %w", p, ErrNotLeader)
	}
	p.mu.Lock()
	if !p.leader {
		p.mu.Unlock()
		p.life.RUnlock()
		return 0, fmt.Errorf("%s: %w", p, ErrNotLeader)
	}
	epoch := p.epoch
	err := p.repl.CheckProduce(acks, minISR)
	p.mu.Unlock()
	if err != nil {
		p.life.RUnlock()
		return 0, fmt.Errorf("%s: %w", p, err)
	}
	base, dup, err := p.write(ctx, recs, epoch, q)
	if dup {
		p.life.RUnlock()
		if acks == AcksAll {
			return base, p.awaitHW(ctx, base+int64(len(recs)), minISR)
		}
		return base, nil
	}
	// The LEO comes from the log, whatever this call's outcome: a request
	// whose context ended inside a group commit may have been written
	// all the same, and the HW must be able to pass it.
	leo := p.log.EndOffset()
	p.mu.Lock()
	var advanced bool
	var hwErr error
	if p.leader && p.epoch == epoch {
		advanced, hwErr = p.repl.UpdateLEO(p.nodeID, leo)
		if hwErr == nil && advanced {
			hwErr = p.publishHW()
		}
	}
	p.mu.Unlock()
	p.life.RUnlock()
	p.wake.Notify()
	if advanced {
		p.changed.Notify()
	}
	if err != nil {
		return 0, fmt.Errorf("append to %s: %w", p, err)
	}
	if hwErr != nil {
		return base, hwErr
	}
	end := base + int64(len(recs))
	if acks == AcksAll {
		return base, p.awaitHW(ctx, end, minISR)
	}
	return base, nil
}

// awaitHW blocks until the HW reaches end, ctx ends (ErrTimeout) or the
// replica closes or loses leadership (ErrNotLeader). The HW may have got
// there because the ISR shrank: then the ISR must still satisfy minISR,
// else ErrNotEnoughReplicasAfterAppend.
func (p *partition) awaitHW(ctx context.Context, end int64, minISR int) error {
	for {
		ch := p.changed.Wait()
		if p.hw.Load() >= end {
			p.mu.Lock()
			err := p.repl.CheckProduce(AcksAll, minISR)
			p.mu.Unlock()
			if err != nil {
				return fmt.Errorf("%s: offsets up to %d: %w: %w", p, end-1, ErrNotEnoughReplicasAfterAppend, err)
			}
			return nil
		}
		if !p.isLeader() {
			return fmt.Errorf("%s: leadership lost before offset %d was committed: %w", p, end-1, ErrNotLeader)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%s: offset %d not committed: %w (%w)", p, end-1, ErrTimeout, ctx.Err())
		}
	}
}

func (p *partition) isLeader() bool {
	p.life.RLock()
	defer p.life.RUnlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log != nil && p.leader
}

// offsets returns the log start, the log end and the HW.
func (p *partition) offsets() (start, end, hw int64, err error) {
	p.life.RLock()
	defer p.life.RUnlock()
	if p.log == nil {
		return 0, 0, 0, fmt.Errorf("%s: %w", p, ErrNotLeader)
	}
	return p.log.StartOffset(), p.log.EndOffset(), p.hw.Load(), nil
}

// read appends committed records from offset on to dst. An offset in
// [HW, LEO] is valid and yields nothing (yet); outside [start, LEO] it is
// ErrOffsetOutOfRange.
func (p *partition) read(dst []record.Record, from int64, maxBytes int) ([]record.Record, ReadInfo, error) {
	p.life.RLock()
	defer p.life.RUnlock()
	if p.log == nil || !p.isLeaderLocked() {
		return dst, ReadInfo{}, fmt.Errorf("%s: %w", p, ErrNotLeader)
	}
	info := ReadInfo{LogStart: p.log.StartOffset(), LogEnd: p.log.EndOffset(), HighWatermark: p.hw.Load()}
	if from < info.LogStart || from > info.LogEnd {
		return dst, info, &OffsetRangeError{Topic: p.topic, Partition: p.index, Offset: from, LogStart: info.LogStart, LogEnd: info.LogEnd}
	}
	if from >= info.HighWatermark {
		return dst, info, nil
	}
	out, err := p.log.ReadRecords(dst, from, maxBytes, info.HighWatermark)
	if err != nil {
		return dst, info, fmt.Errorf("read %s from %d: %w", p, from, err)
	}
	return out, info, nil
}

func (p *partition) isLeaderLocked() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leader
}

// offsetForTimestamp is the first offset with a timestamp >= ts, bounded
// by the HW (a consumer never starts past what it may see).
func (p *partition) offsetForTimestamp(ts int64) (int64, error) {
	p.life.RLock()
	defer p.life.RUnlock()
	if p.log == nil {
		return 0, fmt.Errorf("%s: %w", p, ErrNotLeader)
	}
	off, err := p.log.OffsetForTimestamp(ts)
	if err != nil {
		return 0, fmt.Errorf("%s: offset for timestamp %d: %w", p, ts, err)
	}
	return min(off, p.hw.Load()), nil
}

// reconfigure reopens the log with new options (durability or record
// size changed); appends wait for it.
func (p *partition) reconfigure(opts LogOptions) error {
	p.life.Lock()
	defer p.life.Unlock()
	if p.log == nil || opts == p.opts {
		return nil
	}
	if opts.storageOpts() == p.opts.storageOpts() {
		p.ret.track(p.log, opts) // retention only: no reopen
		p.opts = opts
		return nil
	}
	p.ret.untrack(p.log)
	if err := p.log.Close(); err != nil {
		p.log = nil
		return fmt.Errorf("close %s to reconfigure: %w", p, err)
	}
	l, err := p.opener(p.path, opts.storageOpts())
	if err != nil {
		p.log = nil
		return fmt.Errorf("reopen %s: %w", p, err)
	}
	p.log, p.opts = l, opts
	p.ret.track(l, opts)
	return nil
}

// close closes the log once in-flight operations are done and wakes every
// waiter, which then sees the replica gone.
func (p *partition) close() error {
	p.life.Lock()
	var err error
	if p.log != nil {
		p.ret.untrack(p.log)
		err = p.log.Close()
		p.log = nil
	}
	p.life.Unlock()
	p.mu.Lock()
	p.leader = false
	p.mu.Unlock()
	p.changed.Notify()
	if err != nil {
		return fmt.Errorf("close %s: %w", p, err)
	}
	return nil
}

// ReadInfo is a partition's log state at the time of a read.
type ReadInfo struct {
	LogStart      int64
	LogEnd        int64
	HighWatermark int64
}

func ids(ns []meta.NodeID) []int32 {
	out := make([]int32, len(ns))
	for i, n := range ns {
		out[i] = int32(n)
	}
	return out
}
