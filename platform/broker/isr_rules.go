package broker

import (
	"fmt"
	"slices"
	"time"
)

// fetchProgress is what a leader knows of one follower's fetches, for the
// ISR rules (Kafka's lastCaughtUpTime).
type fetchProgress struct {
	caughtUp     time.Time // last time the follower was known to have the leader's whole log
	lastFetch    time.Time
	lastFetchLEO int64 // the leader's LEO at lastFetch; -1 before the first fetch
}

// BeganAt starts the lag clocks of this leadership: every follower counts
// as caught up at now, so an in-sync follower is not dropped before it has
// had replica.lag.time.max.ms to fetch from the new leader (Kafka does the
// same).
func (r *Replication) BeganAt(now time.Time) {
	for _, id := range r.replicas {
		if id != r.nodeID {
			r.fetches[id] = &fetchProgress{caughtUp: now, lastFetchLEO: -1}
		}
	}
}

// FollowerFetched records that replica fetched at offset off at time now:
// it has every record below off, so its LEO is off (exactly: a follower
// that restarted with less is believed). A follower is caught up at now if
// off reaches the leader's LEO, or at its previous fetch if off reaches
// the leader's LEO of that time. It reports whether the HW moved.
func (r *Replication) FollowerFetched(replica int32, off int64, now time.Time) (advanced bool, err error) {
	if _, ok := r.leo[replica]; !ok || replica == r.nodeID {
		return false, errNotAReplica(replica)
	}
	r.leo[replica] = off
	leaderLEO := r.leo[r.nodeID]
	fp := r.fetches[replica]
	if fp == nil {
		fp = &fetchProgress{lastFetchLEO: -1}
		r.fetches[replica] = fp
	}
	switch {
	case off >= leaderLEO:
		fp.caughtUp = now
	case fp.lastFetchLEO >= 0 && off >= fp.lastFetchLEO && fp.lastFetch.After(fp.caughtUp):
		fp.caughtUp = fp.lastFetch
	}
	fp.lastFetch, fp.lastFetchLEO = now, leaderLEO
	return r.advance(), nil
}

// ProposedISR is the ISR the leader should ask the controller for at now,
// in replica order, and whether it differs from the current one:
//   - an ISR follower not caught up for longer than lagMax leaves;
//   - a follower outside the ISR joins once its LEO has reached both the
//     HW and the offset this leadership began at (Kafka's rule);
//   - the leader always stays.
func (r *Replication) ProposedISR(now time.Time, lagMax time.Duration) ([]int32, bool) {
	return r.appendProposedISR(make([]int32, 0, len(r.replicas)), now, lagMax)
}

// appendProposedISR is ProposedISR appending to out.
func (r *Replication) appendProposedISR(out []int32, now time.Time, lagMax time.Duration) ([]int32, bool) {
	changed := false
	for _, id := range r.replicas {
		in := slices.Contains(r.isr, id)
		switch {
		case id == r.nodeID:
			out = append(out, id)
			changed = changed || !in
		case in:
			if fp := r.fetches[id]; fp != nil && now.Sub(fp.caughtUp) > lagMax {
				changed = true
				continue
			}
			out = append(out, id)
		default:
			if leo, ok := r.LEO(id); ok && leo >= r.hw && leo >= r.epochStart {
				out = append(out, id)
				changed = true
			}
		}
	}
	return out, changed
}

func errNotAReplica(replica int32) error {
	return fmt.Errorf("%w: replica %d is not assigned here", ErrInvalidRequest, replica)
}

// Proposing records that isr is being proposed: its members not in the
// ISR count for the HW from now on (see Replication.joining), until SetISR
// installs a committed ISR or ProposalFailed drops them.
func (r *Replication) Proposing(isr []int32) {
	r.joining = r.joining[:0]
	for _, id := range isr {
		if !slices.Contains(r.isr, id) {
			r.joining = append(r.joining, id)
		}
	}
}

// ProposalFailed drops the replicas of a refused proposal from the HW
// computation and reports whether the HW moved.
func (r *Replication) ProposalFailed() bool {
	r.joining = nil
	return r.advance()
}

// IsFollower reports whether replica is one of the partition's replicas
// other than the leader.
func (r *Replication) IsFollower(replica int32) bool {
	_, ok := r.leo[replica]
	return ok && replica != r.nodeID
}
