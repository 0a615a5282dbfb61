package meta

import (
	"fmt"
	"slices"
)

// Reassignment throttle (KIP-73's leader/follower.replication.throttled.rate
// with its throttled-replica lists, carried by the move itself).
//
// A reassignment may carry a throttle in bytes per second
// (Partition.ReassignThrottle). It limits the traffic the move adds: the
// fetches of replicas being added that are not in the ISR yet. In-sync
// followers are never throttled, so acks=all of the partitions that are
// not moving is not slowed down, and neither is a replica being added
// once it joined the ISR. Each broker enforces the rate over all the
// throttled replicas it is adding together (one budget per broker, as
// Kafka's follower throttle); where moves in progress carry different
// rates the smallest applies.
//
// The throttle lives in the partition record, so every node sees the same
// value and it survives a controller failover; the commands that end a
// move (its completion in an AlterPartition, a cancel) clear it with the
// move, so a throttle never outlives its reassignment.

// MaxReassignThrottle bounds Reassignment.Throttle (1 TiB/s): any larger
// value is a typo, not a limit.
const MaxReassignThrottle int64 = 1 << 40

// checkThrottle refuses a throttle that is negative, too large, given
// together with its removal, or with a cancel.
func checkThrottle(r Reassignment) error {
	switch {
	case r.Throttle < 0:
		return fmt.Errorf("throttle %d bytes/s: want a positive rate: %w", r.Throttle, ErrInvalidRequest)
	case r.Throttle > MaxReassignThrottle:
		return fmt.Errorf("throttle %d bytes/s is above the maximum %d: %w", r.Throttle, MaxReassignThrottle, ErrInvalidRequest)
	case r.Throttle > 0 && r.RemoveThrottle:
		return fmt.Errorf("a throttle and its removal at once: %w", ErrInvalidRequest)
	case r.Cancel && (r.Throttle > 0 || r.RemoveThrottle):
		return fmt.Errorf("cancel takes no throttle (a cancelled move has nothing to throttle): %w", ErrInvalidRequest)
	}
	return nil
}

// throttleAfter is a move's throttle after r: r's when it sets or removes
// one, cur otherwise.
func throttleAfter(cur int64, r Reassignment) int64 {
	switch {
	case r.RemoveThrottle:
		return 0
	case r.Throttle > 0:
		return r.Throttle
	}
	return cur
}

// setThrottle changes the throttle of p's move in progress; a partition
// not moving is left alone (the move may just have completed). The
// partition epoch stays: leader and ISR do not change.
func setThrottle(p Partition, r Reassignment) (Partition, bool) {
	next := throttleAfter(p.ReassignThrottle, r)
	if !p.Reassigning() || next == p.ReassignThrottle {
		return p, false
	}
	n := p.clone()
	n.ReassignThrottle = next
	return n, true
}

// CopyThrottle is the rate limiting broker id's fetches of p: p's
// throttle while id is a replica being added that is not in the ISR,
// else 0 (no limit).
func (p *Partition) CopyThrottle(id NodeID) int64 {
	if p.ReassignThrottle <= 0 || !slices.Contains(p.AddingReplicas, id) || p.InISR(id) {
		return 0
	}
	return p.ReassignThrottle
}
