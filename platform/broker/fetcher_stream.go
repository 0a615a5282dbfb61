package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/storage"
)

// The follower side of the replication stream (docs/replication.md). A
// fetch session keeps one stream open to its leader. Rounds are built as
// on the request path (round), with one change in steady state: as soon
// as an answer arrives whose partitions all just append, the next fetch
// is sent before the answer is appended, asking from where the received
// batches end (pipelining); the follower then appends and reports the
// offsets it reached in a TypePositions frame, which the leader records
// as the follower's LEO at once. A pipelined answer is only used for a
// partition whose log end is where the fetch predicted; otherwise it is
// dropped and the next round starts from the log as it is.

// streamRounds counts a broker's stream fetches: built from the logs, or
// pipelined (for tests: steady state must pipeline).
type streamRounds struct{ built, pipelined atomic.Int64 }

// errStreamMismatch: a stream answer does not match its fetch.
var errStreamMismatch = errors.New("replication stream answer does not match the fetch")

// ErrStreamUnsupported is wrapped by a ReplicaStreamer's open error when
// the leader serves no replication stream (a node of an older version):
// the follower then fetches over requests (ReplicaClient) for
// streamRetryAfter before it tries a stream again.
var ErrStreamUnsupported = errors.New("the leader serves no replication stream")

// streamRetryAfter is how long a follower whose leader serves no stream
// uses requests before it tries again.
const streamRetryAfter = time.Minute

// runStreams runs the session over streams until ctx ends, opening a new
// stream after a pause whenever one fails.
func (f *fetcher) runStreams(ctx context.Context, log *slog.Logger, s ReplicaStreamer) {
	for ctx.Err() == nil {
		err := f.stream(ctx, s)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrStreamUnsupported) {
			log.Info("leader serves no replication stream; fetching over requests", "retry_in", streamRetryAfter, "err", err)
			f.runRequests(ctx, log, time.Now().Add(streamRetryAfter))
			continue
		}
		log.Debug("replication stream ended", "err", err)
		f.pause(ctx)
	}
}

// stream runs one replication stream until it fails or ctx ends.
func (f *fetcher) stream(ctx context.Context, s ReplicaStreamer) error {
	br, ok := f.b.Cluster().Broker(meta.NodeID(f.leader))
	if !ok {
		return fmt.Errorf("leader %d is not in the metadata", f.leader)
	}
	st, err := s.OpenReplicaStream(ctx, br)
	if err != nil {
		return err
	}
	defer st.Close()
	stop := context.AfterFunc(ctx, func() { st.Close() })
	defer stop()
	log := f.b.log.With("leader", f.leader)
	wait := f.b.cfg.ReplicaFetchWait + replicaFetchSlack
	var pending []fetchItem
	for ctx.Err() == nil {
		if pending == nil {
			// This round takes every partition the session has now: a
			// signal of an added one is consumed (a later one stays, and
			// keeps the next answer from being pipelined past it).
			select {
			case <-f.wake:
			default:
			}
			req, items, backingOff := f.round()
			if len(items) == 0 {
				if backingOff {
					f.pause(ctx)
				} else {
					select {
					case <-ctx.Done():
					case <-f.wake:
					}
				}
				continue
			}
			if !f.throttleRound(ctx, req) {
				continue
			}
			if err := st.Fetch(req); err != nil {
				return err
			}
			f.b.streamRounds.built.Add(1)
			pending = items
		}
		resp, err := st.Recv(wait)
		f.throttleSettle(resp)
		if err != nil {
			return err
		}
		if len(resp.Partitions) != len(pending) {
			return fmt.Errorf("%w: asked %d partitions, answered %d", errStreamMismatch, len(pending), len(resp.Partitions))
		}
		next, nreq := f.pipelined(pending, resp)
		if nreq != nil {
			if err := st.Fetch(nreq); err != nil {
				return err
			}
			f.b.streamRounds.pipelined.Add(1)
		}
		done := f.applyAll(ctx, log, pending, resp)
		progressed := false
		var pos []ReplicaPosition
		for i, it := range pending {
			if !done[i] {
				continue
			}
			progressed = true
			if nreq != nil && len(resp.Partitions[i].Batches) > 0 {
				if _, leo, _, _, err := it.p.followerPosition(); err == nil {
					pos = append(pos, ReplicaPosition{Topic: it.p.topic, Partition: it.p.index, LeaderEpoch: it.st.epoch, Offset: leo})
				}
			}
		}
		if len(pos) > 0 {
			if err := st.Positions(pos); err != nil {
				return err
			}
		}
		if !progressed && nreq == nil {
			f.pause(ctx)
		}
		pending = next
	}
	return ctx.Err()
}

// pipelined builds the fetch that follows resp before resp is appended:
// only in steady state, when every partition of the session was asked
// (none added, none backing off) and each answer is plain batches or
// nothing. Each partition asks from where its received batches end and
// acknowledges the log end it has now (the new end follows as a
// position). nil when the next round must be built from the logs.
func (f *fetcher) pipelined(items []fetchItem, resp *ReplicaFetchResponse) ([]fetchItem, *ReplicaFetchRequest) {
	if len(f.wake) > 0 || f.throttled {
		return nil, nil
	}
	f.mu.Lock()
	all := len(f.parts) == len(items)
	f.mu.Unlock()
	if !all {
		return nil, nil
	}
	req := &ReplicaFetchRequest{
		ReplicaID:  f.b.cfg.NodeID,
		MaxWaitMs:  f.b.cfg.ReplicaFetchWait.Milliseconds(),
		MaxBytes:   DefaultFetchMaxBytes,
		Partitions: make([]ReplicaFetchPartition, len(items)),
	}
	next := make([]fetchItem, len(items))
	for i, it := range items {
		res := &resp.Partitions[i]
		if res.Error != "" || it.pos.Asked >= 0 || res.EpochEnd != nil || !f.current(it.p, it.st) {
			return nil, nil
		}
		// The acknowledged offset is the log's real end: a previous
		// pipelined append that failed is never claimed.
		if _, leo, _, _, err := it.p.followerPosition(); err != nil || leo != it.pos.LEO {
			return nil, nil
		}
		end := it.pos.LEO
		for _, raw := range res.Batches {
			e, err := storage.BatchEnd(raw)
			if err != nil || e <= end {
				return nil, nil
			}
			end = e
		}
		hw := FollowerHighWatermark(it.p.hw.Load(), res.HighWatermark, end)
		req.Partitions[i] = ReplicaFetchPartition{Topic: it.p.topic, Partition: it.p.index, LeaderEpoch: it.st.epoch,
			FetchOffset: end, AckedOffset: it.pos.LEO, HighWatermark: hw, EpochQuery: -1}
		next[i] = fetchItem{p: it.p, st: it.st, pos: FollowerPosition{LogStart: it.pos.LogStart, LEO: end, Asked: -1}}
	}
	return next, req
}

// leoIs reports whether the replica's log ends at leo.
func (p *partition) leoIs(leo int64) bool {
	_, end, _, _, err := p.followerPosition()
	return err == nil && end == leo
}

// applyAll carries out the follower's step for every partition of an
// answer and reports which progressed. Partitions that append batches do
// so in parallel (each is its own log file), so one slow append does not
// hold the others' positions back; every other step runs in order.
func (f *fetcher) applyAll(ctx context.Context, log *slog.Logger, items []fetchItem, resp *ReplicaFetchResponse) []bool {
	done := make([]bool, len(items))
	var appends []int
	for i, it := range items {
		res := &resp.Partitions[i]
		if !f.current(it.p, it.st) || !it.p.leoIs(it.pos.LEO) {
			continue // dropped, moved on, or a pipelined guess that missed
		}
		if len(res.Batches) > 0 && res.Error == "" && it.pos.Asked < 0 {
			appends = append(appends, i)
			continue
		}
		done[i] = f.apply(ctx, log, it, res)
	}
	if len(appends) == 1 {
		i := appends[0]
		done[i] = f.apply(ctx, log, items[i], &resp.Partitions[i])
		return done
	}
	var wg sync.WaitGroup
	for _, i := range appends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done[i] = f.apply(ctx, log, items[i], &resp.Partitions[i])
		}()
	}
	wg.Wait()
	return done
}
