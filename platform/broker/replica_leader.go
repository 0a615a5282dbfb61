package broker

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MaxReplicaFetchWait caps a follower's ReplicaFetchRequest.MaxWaitMs.
const MaxReplicaFetchWait = 5 * time.Second

// ReplicaFetch answers a follower's fetch round as the partitions' leader
// (the leader side of docs/replication.md): per partition an epoch answer,
// batches from the follower's fetch offset, or an error code; and it
// records every fetch offset as that follower's LEO, which moves the HW
// and the ISR. When no partition has news for the follower it waits up to
// req.MaxWaitMs for an append or an HW move on this broker.
func (b *Broker) ReplicaFetch(ctx context.Context, req *ReplicaFetchRequest) (*ReplicaFetchResponse, error) {
	resp, _, err := b.ReplicaFetchInto(ctx, req, nil)
	return resp, err
}

// ReplicaFetchInto is ReplicaFetch reading the batches into arena (from
// its length on, grown as needed) instead of a fresh copy per batch: the
// answer's batches are slices of the returned arena, valid until the
// caller reuses it. A replication stream keeps one arena for its life.
func (b *Broker) ReplicaFetchInto(ctx context.Context, req *ReplicaFetchRequest, arena []byte) (*ReplicaFetchResponse, []byte, error) {
	if req.MaxBytes <= 0 {
		req.MaxBytes = DefaultFetchMaxBytes
	}
	wait := min(time.Duration(max(req.MaxWaitMs, 0))*time.Millisecond, MaxReplicaFetchWait)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	// Per-partition readiness: this fetch is woken by an append or an HW
	// move on one of its own partitions only. It subscribes before the
	// first look, so a change between a look and the wait is not missed.
	woken := make(chan struct{}, 1)
	defer b.subscribeReplicaFetch(req, woken)()
	base := len(arena)
	for {
		arena = arena[:base] // an answer with no news read no batches
		resp, news, kick, err := b.replicaFetchOnce(req, &arena)
		if kick {
			b.kickISR()
		}
		if err != nil || news || wait == 0 {
			return resp, arena, err
		}
		select {
		case <-woken:
		case <-timer.C:
			wait = 0 // answer what there is now
		case <-ctx.Done():
			return nil, arena, fmt.Errorf("replica fetch from %d: %w", req.ReplicaID, ctx.Err())
		}
	}
}

// replicaFetchOnce serves every partition of req once. kick says whether
// a follower may now join an ISR.
func (b *Broker) replicaFetchOnce(req *ReplicaFetchRequest, arena *[]byte) (resp *ReplicaFetchResponse, news, kick bool, err error) {
	resp = &ReplicaFetchResponse{Partitions: make([]ReplicaFetchResult, len(req.Partitions))}
	budget := req.MaxBytes
	now := time.Now()
	for i := range req.Partitions {
		rp := &req.Partitions[i]
		t, p, perr := b.partitionOf(rp.Topic, rp.Partition)
		if perr != nil {
			if errors.Is(perr, ErrClosed) {
				return nil, false, false, perr
			}
			code := ErrCodeUnknown
			if errors.Is(perr, ErrNotLeader) {
				code = ErrCodeNotLeader
			}
			resp.Partitions[i] = ReplicaFetchResult{Topic: rp.Topic, Partition: rp.Partition, Error: code, Message: perr.Error()}
			news = true
			continue
		}
		res, n := p.serveReplica(rp, req.ReplicaID, max(budget, 1), now, arena)
		for _, raw := range res.Batches {
			budget -= len(raw)
		}
		resp.Partitions[i] = res
		news = news || n
		if res.Error == "" && rp.EpochQuery < 0 {
			if p.isrChangeDue(now, b.lagMax(t.meta.Config)) {
				kick = true
			}
		}
	}
	return resp, news, kick, nil
}

// LocalBatches returns the stored bytes of the local replica's batches
// from offset from on, up to its log end (not only the committed ones),
// whatever the replica's role: for checks that replicas hold the same
// log, byte for byte.
func (b *Broker) LocalBatches(topic string, partition int32, from int64, maxBytes int) ([][]byte, error) {
	_, p, err := b.partitionOf(topic, partition)
	if err != nil {
		return nil, err
	}
	p.life.RLock()
	defer p.life.RUnlock()
	rl, err := p.replicaLog()
	if err != nil {
		return nil, err
	}
	return rl.ReadBatches(from, maxBytes, rl.EndOffset())
}

// subscribeReplicaFetch subscribes ch to the readiness of every partition
// of req found here, and returns the unsubscribe.
func (b *Broker) subscribeReplicaFetch(req *ReplicaFetchRequest, ch chan struct{}) func() {
	subs := make([]*partition, 0, len(req.Partitions))
	for i := range req.Partitions {
		if _, p, err := b.partitionOf(req.Partitions[i].Topic, req.Partitions[i].Partition); err == nil {
			p.wake.subscribe(ch)
			subs = append(subs, p)
		}
	}
	return func() {
		for _, p := range subs {
			p.wake.unsubscribe(ch)
		}
	}
}

// ReplicaPositions records a replication stream's positions of follower
// replica (the stream's verified caller): each as that follower's LEO on
// the partition, as a fetch at that offset would (which may move the HW
// and let the follower join the ISR). Positions for partitions this
// broker does not lead under that epoch are ignored.
func (b *Broker) ReplicaPositions(replica int32, pos []ReplicaPosition) error {
	now := time.Now()
	kick := false
	var errs []error
	for i := range pos {
		rp := &pos[i]
		t, p, err := b.partitionOf(rp.Topic, rp.Partition)
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return err
			}
			continue
		}
		if err := p.recordFollower(replica, rp.LeaderEpoch, rp.Offset, now); err != nil {
			errs = append(errs, err)
			continue
		}
		if p.isrChangeDue(now, b.lagMax(t.meta.Config)) {
			kick = true
		}
	}
	if kick {
		b.kickISR()
	}
	return errors.Join(errs...)
}
