package broker

import (
	"fmt"
	"slices"
)

// unknownLEO marks a replica whose log end offset the leader has not yet
// learnt (a follower that has not fetched since this leader took over).
const unknownLEO = -1

// Replication is a partition leader's view of its replicas: the leader
// epoch, the in-sync replica set, the log end offset (LEO) of every
// replica and the high watermark (HW). It is a plain value: no locks, no
// I/O, no clock. The broker keeps one per led partition behind the
// partition's mutex and writes the HW it yields to the log.
//
// The rules it keeps (DESIGN.md, "Replication"):
//   - HW = the smallest LEO over the ISR; a replica whose LEO is unknown
//     holds the HW where it is.
//   - The HW never moves backwards on a leader, whatever the ISR does: an
//     offset once visible to consumers stays visible.
//   - acks=all fails up front when len(ISR) < min.insync.replicas.
type Replication struct {
	nodeID      int32 // this broker (the leader)
	leaderEpoch int32
	replicas    []int32
	isr         []int32
	leo         map[int32]int64
	hw          int64

	// epochStart is the leader's LEO when this leadership began: a
	// follower rejoins the ISR only once it has reached it (and the HW).
	epochStart int64
	// Follower progress for ISR decisions (isr_rules.go), per replica.
	fetches map[int32]*fetchProgress
	// joining are replicas proposed to join the ISR and not yet
	// committed: the HW waits for them too (KIP-497's maximal ISR), so
	// once the controller has them in the ISR, any of them elected leader
	// holds everything below the HW.
	joining []int32
}

// NewReplication is the state of a replica that has just become leader:
// leaderLEO is its own log end offset, hw the high watermark it had
// checkpointed. Followers' LEOs start unknown, so the HW does not move
// until each in-sync follower has fetched (Kafka does the same), except
// that a leader alone in its ISR commits everything it has at once.
func NewReplication(nodeID, leaderEpoch int32, replicas, isr []int32, leaderLEO, hw int64) Replication {
	r := Replication{
		nodeID:      nodeID,
		leaderEpoch: leaderEpoch,
		replicas:    slices.Clone(replicas),
		isr:         slices.Clone(isr),
		leo:         make(map[int32]int64, len(replicas)),
		hw:          min(hw, leaderLEO),
		epochStart:  leaderLEO,
		fetches:     make(map[int32]*fetchProgress, len(replicas)),
	}
	for _, id := range replicas {
		r.leo[id] = unknownLEO
	}
	r.leo[nodeID] = leaderLEO
	r.advance()
	return r
}

// LeaderEpoch is the epoch this leadership began in; appends are stamped
// with it.
func (r *Replication) LeaderEpoch() int32 { return r.leaderEpoch }

// HighWatermark is the offset below which records are committed.
func (r *Replication) HighWatermark() int64 { return r.hw }

// LEO returns the log end offset last reported for replica, and false if
// it is unknown.
func (r *Replication) LEO(replica int32) (int64, bool) {
	leo, ok := r.leo[replica]
	return leo, ok && leo != unknownLEO
}

// ISR returns a copy of the in-sync replica set.
func (r *Replication) ISR() []int32 { return slices.Clone(r.isr) }

// UpdateLEO records that replica's log ends at leo (the leader after an
// append, a follower when it fetches) and reports whether the HW moved.
// LEOs only grow while a leadership lasts, so a stale report (concurrent
// appends finishing out of order) is ignored.
func (r *Replication) UpdateLEO(replica int32, leo int64) (advanced bool, err error) {
	cur, ok := r.leo[replica]
	if !ok {
		return false, fmt.Errorf("%w: replica %d is not assigned", ErrInvalidRequest, replica)
	}
	if leo > cur {
		r.leo[replica] = leo
	}
	return r.advance(), nil
}

// SetISR installs the ISR the controller committed and reports whether
// the HW moved (a lagging replica leaving the ISR can release it). The
// leader is always kept in its own ISR. A replica that leaves it has its
// LEO forgotten until its next fetch.
func (r *Replication) SetISR(isr []int32) (advanced bool) {
	for _, id := range r.isr {
		if _, assigned := r.leo[id]; assigned && id != r.nodeID && !slices.Contains(isr, id) {
			// Out of the ISR, a replica is considered for it again only
			// after it fetches again (a stopped one never is).
			r.leo[id] = unknownLEO
		}
	}
	r.isr = slices.Clone(isr)
	r.joining = nil
	if !slices.Contains(r.isr, r.nodeID) {
		r.isr = append(r.isr, r.nodeID)
	}
	return r.advance()
}

// CheckProduce says whether a produce with acks may be appended: acks=all
// needs at least minISR in-sync replicas. Kafka checks this before the
// append, so a rejected request writes nothing.
func (r *Replication) CheckProduce(acks Acks, minISR int) error {
	if acks == AcksAll && len(r.isr) < minISR {
		return fmt.Errorf("%w: isr %v has %d replicas, min.insync.replicas is %d",
			ErrNotEnoughReplicas, r.isr, len(r.isr), minISR)
	}
	return nil
}

// Committed reports whether every record below end is committed.
func (r *Replication) Committed(end int64) bool { return r.hw >= end }

// advance recomputes the HW from the LEOs of the ISR and the replicas
// joining it, never moving it back.
func (r *Replication) advance() bool {
	low := int64(-1)
	for _, id := range slices.Concat(r.isr, r.joining) {
		leo, ok := r.leo[id]
		if !ok || leo == unknownLEO {
			return false
		}
		if low < 0 || leo < low {
			low = leo
		}
	}
	if low > r.hw {
		r.hw = low
		return true
	}
	return false
}

// EpochEnd is the answer a leader gives a follower that asks where its
// epoch ends (KIP-101/KIP-279): the largest epoch the leader has that is
// not above the one asked for, and the offset where that epoch ends on the
// leader.
type EpochEnd struct {
	Epoch     int32
	EndOffset int64
}

// TruncationOffset is where a follower must cut its log before it fetches
// from a new leader: the leader's end of the follower's last epoch, or the
// follower's own end of the epoch the leader answered with when the
// leader's is the older one (the follower then asks again with that epoch
// until the two agree), and never past the follower's own log end.
//
// localEndForEpoch returns the follower's end offset for an epoch (its
// storage.Log.EndOffsetForEpoch).
func TruncationOffset(followerLEO int64, askedEpoch int32, leader EpochEnd, localEndForEpoch func(epoch int32) int64) int64 {
	if leader.EndOffset < 0 {
		// The leader knows nothing of any epoch up to the one asked:
		// its log has nothing the follower can keep.
		return 0
	}
	end := leader.EndOffset
	if leader.Epoch < askedEpoch {
		// The follower has epochs the leader never had; keep only what
		// both have for the leader's epoch.
		end = min(end, localEndForEpoch(leader.Epoch))
	}
	return min(end, followerLEO)
}
