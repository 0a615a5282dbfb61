package broker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
)

// Follower fetch defaults (Config.ReplicaFetchWait, Config.ReplicaBackoff).
const (
	DefaultReplicaFetchWait = 500 * time.Millisecond
	DefaultReplicaBackoff   = 100 * time.Millisecond
	// replicaFetchSlack is added to the long-poll wait for a fetch round's
	// whole deadline (a leader that stops answering is left after it).
	replicaFetchSlack = 5 * time.Second
)

// followState is a follower's progress on one partition under one
// leadership: whether it has checked its log against the leader's
// (truncation by leader epoch) yet.
type followState struct {
	epoch   int32
	checked bool
	// retryAt keeps a partition the leader refused out of the rounds for
	// ReplicaBackoff, so its error does not cut the others' long-poll
	// short round after round.
	retryAt time.Time
}

// fetcher is one fetch session: this broker following one leader broker,
// for every partition that leader leads here. Its goroutine is owned by
// the fetchers set, which stops and waits for it.
type fetcher struct {
	b      *Broker
	leader int32
	// throttled: the session fetches replicas under a reassignment
	// throttle, reserving f.reserved bytes per round (throttle.go).
	throttled bool
	reserved  int

	mu    sync.Mutex
	parts map[*partition]*followState
	wake  chan struct{} // a partition was added

	cancel context.CancelFunc
	done   chan struct{}
}

// fetchers is the broker's set of fetch sessions, one per leader.
type fetchers struct {
	mu       sync.Mutex
	byLeader map[int32]*fetcher
	// throttled holds the sessions of throttled replicas (throttle.go).
	throttled map[int32]*fetcher
	closed    bool
}

// updateFetchers makes the fetch sessions match the applied assignment:
// every replica this broker follows is fetched from its leader; one whose
// leader or leader epoch changed starts over with a truncation check.
func (b *Broker) updateFetchers() {
	if b.cfg.Replicas == nil {
		return
	}
	b.mu.RLock()
	topics := b.topics
	b.mu.RUnlock()
	want := map[int32]map[*partition]int32{}
	slow := map[int32]map[*partition]int32{} // throttled (throttle.go)
	var rate int64
	for _, t := range topics {
		for i, p := range t.parts {
			if p == nil {
				continue
			}
			if leader, epoch, ok := p.followedLeader(); ok {
				w := want
				if r := b.copyRole(p, &t.meta.Partitions[i]); r > 0 {
					w, rate = slow, minRate(rate, r)
				}
				if w[leader] == nil {
					w[leader] = map[*partition]int32{}
				}
				w[leader][p] = epoch
			}
		}
	}
	b.throttle.setRate(rate)
	fs := &b.fetchers
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.closed {
		return
	}
	// Throttled first: a replica that caught up leaves its throttled
	// session (stopped when empty) before the normal one takes it.
	b.syncSessions(fs.throttled, slow, true)
	b.syncSessions(fs.byLeader, want, false)
}

// closeFetchers stops every fetch session and waits for them.
func (b *Broker) closeFetchers() {
	fs := &b.fetchers
	fs.mu.Lock()
	fs.closed = true
	all, slow := fs.byLeader, fs.throttled
	fs.byLeader, fs.throttled = nil, nil
	fs.mu.Unlock()
	for _, f := range all {
		f.stop()
	}
	for _, f := range slow {
		f.stop()
	}
}

func (b *Broker) startFetcher(leader int32, throttled bool) *fetcher {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fetcher{
		b: b, leader: leader, throttled: throttled,
		parts:  map[*partition]*followState{},
		wake:   make(chan struct{}, 1),
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go f.run(ctx)
	return f
}

func (f *fetcher) stop() {
	f.cancel()
	<-f.done
}

// set replaces the session's partitions, keeping the progress of those
// whose leader epoch is unchanged.
func (f *fetcher) set(parts map[*partition]int32) {
	f.mu.Lock()
	next := make(map[*partition]*followState, len(parts))
	added := false
	for p, epoch := range parts {
		if st := f.parts[p]; st != nil && st.epoch == epoch {
			next[p] = st
			continue
		}
		next[p] = &followState{epoch: epoch}
		added = true
	}
	f.parts = next
	f.mu.Unlock()
	if added {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

// current reports whether st is still p's state in this session.
func (f *fetcher) current(p *partition, st *followState) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.parts[p] == st
}

// fetchItem is one partition of a round as it was asked.
type fetchItem struct {
	p   *partition
	st  *followState
	pos FollowerPosition
}

// round builds the next fetch request; backingOff says partitions were
// left out of it for now.
func (f *fetcher) round() (req *ReplicaFetchRequest, items []fetchItem, backingOff bool) {
	f.mu.Lock()
	parts := make(map[*partition]*followState, len(f.parts))
	for p, st := range f.parts {
		parts[p] = st
	}
	f.mu.Unlock()
	req = &ReplicaFetchRequest{
		ReplicaID: f.b.cfg.NodeID,
		MaxWaitMs: f.b.cfg.ReplicaFetchWait.Milliseconds(),
		MaxBytes:  DefaultFetchMaxBytes,
	}
	items = make([]fetchItem, 0, len(parts))
	now := time.Now()
	for p, st := range parts {
		if now.Before(st.retryAt) {
			backingOff = true
			continue
		}
		start, leo, hw, latest, err := p.followerPosition()
		if err != nil {
			continue // closed or not replicable: the next apply drops it
		}
		rp := ReplicaFetchPartition{Topic: p.topic, Partition: p.index, LeaderEpoch: st.epoch, FetchOffset: leo, AckedOffset: leo, HighWatermark: hw, EpochQuery: -1}
		if !st.checked {
			if latest < 0 {
				st.checked = true // nothing of any epoch to compare
			} else {
				rp.EpochQuery = latest
			}
		}
		items = append(items, fetchItem{p: p, st: st, pos: FollowerPosition{LogStart: start, LEO: leo, Asked: rp.EpochQuery}})
		req.Partitions = append(req.Partitions, rp)
	}
	return req, items, backingOff
}

// run is the session's loop: fetch, apply the answer, repeat; pause after
// a failed round so an unreachable leader is not hammered.
func (f *fetcher) run(ctx context.Context) {
	defer close(f.done)
	log := f.b.log.With("leader", f.leader)
	if s, ok := f.b.cfg.Replicas.(ReplicaStreamer); ok && f.b.cfg.ReplicaStreaming {
		f.runStreams(ctx, log, s)
		return
	}
	f.runRequests(ctx, log, time.Time{})
}

// runRequests is the session over one request per round, until ctx ends
// or, when until is set, until then.
func (f *fetcher) runRequests(ctx context.Context, log *slog.Logger, until time.Time) {
	for ctx.Err() == nil && (until.IsZero() || time.Now().Before(until)) {
		req, items, backingOff := f.round()
		if len(items) == 0 {
			if backingOff {
				f.pause(ctx)
				continue
			}
			select {
			case <-ctx.Done():
			case <-f.wake:
			}
			continue
		}
		if !f.throttleRound(ctx, req) {
			continue
		}
		if !f.fetchOnce(ctx, log, req, items) {
			f.pause(ctx)
		}
	}
}

// fetchOnce runs one round and reports whether any partition progressed.
func (f *fetcher) fetchOnce(ctx context.Context, log *slog.Logger, req *ReplicaFetchRequest, items []fetchItem) bool {
	br, ok := f.b.Cluster().Broker(meta.NodeID(f.leader))
	if !ok {
		return false
	}
	rctx, cancel := context.WithTimeout(ctx, f.b.cfg.ReplicaFetchWait+replicaFetchSlack)
	resp, err := f.b.cfg.Replicas.FetchReplica(rctx, br, req)
	cancel()
	f.throttleSettle(resp)
	if err != nil {
		if ctx.Err() == nil {
			log.Debug("replica fetch failed", "err", err)
		}
		return false
	}
	if len(resp.Partitions) != len(items) {
		log.Warn("replica fetch answer does not match the request", "asked", len(items), "answered", len(resp.Partitions))
		return false
	}
	progressed := false
	for i, it := range items {
		if !f.current(it.p, it.st) {
			continue
		}
		if f.apply(ctx, log, it, &resp.Partitions[i]) {
			progressed = true
		}
	}
	return progressed
}

// apply carries out the follower's step for one partition's answer.
func (f *fetcher) apply(ctx context.Context, log *slog.Logger, it fetchItem, res *ReplicaFetchResult) bool {
	step := NextFollowerStep(it.pos, res, it.p.localEndForEpoch)
	var err error
	switch step.Kind {
	case StepRetry:
		if res.Error != "" {
			log.Debug("replica fetch refused", "partition", it.p.String(), "code", res.Error, "msg", res.Message)
		}
		it.st.retryAt = time.Now().Add(f.b.cfg.ReplicaBackoff)
		return false
	case StepRecheck:
		it.st.checked = false
		return true
	case StepTruncate:
		if err = it.p.truncateTo(it.st.epoch, step.Offset); err == nil {
			it.st.checked = true
			if step.Offset < it.pos.LEO {
				log.Info("follower truncated", "partition", it.p.String(), "to", step.Offset, "from", it.pos.LEO)
			}
		}
	case StepRestartAt:
		if err = it.p.restartAt(it.st.epoch, step.Offset); err == nil {
			it.st.checked = true
			log.Info("follower restarted its log", "partition", it.p.String(), "at", step.Offset)
		}
	case StepAppend:
		err = it.p.appendReplica(ctx, it.st.epoch, res.Batches, res.HighWatermark)
	}
	switch {
	case err == nil:
		return true
	case errors.Is(err, errRoleChanged) || ctx.Err() != nil:
		return false
	}
	log.Warn("follower step failed; checking the log against the leader again", "partition", it.p.String(), "err", err)
	it.st.checked = false
	it.st.retryAt = time.Now().Add(f.b.cfg.ReplicaBackoff)
	return false
}

// pause waits ReplicaBackoff, a new partition, or the end.
func (f *fetcher) pause(ctx context.Context) {
	t := time.NewTimer(f.b.cfg.ReplicaBackoff)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-f.wake:
	}
}
