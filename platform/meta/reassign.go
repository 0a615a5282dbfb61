package meta

import (
	"fmt"
	"slices"
)

// Reassignment moves a partition's replicas as Kafka's KIP-455 does: the
// replicas to add join as followers while the old ones stay, so the
// partition never has fewer in-sync copies than before; once every added
// replica has caught up and joined the ISR (an AlterPartition from the
// leader), the same command completes the move: the replica set becomes
// the target, replicas being removed leave the ISR, and if the leader was
// one of them leadership passes to the first in-sync target replica (a
// new leader epoch). Brokers drop the replicas that are no longer theirs
// when they apply that metadata.
//
// While a reassignment runs, Partition.Replicas is the target set in its
// order followed by the replicas being removed; AddingReplicas and
// RemovingReplicas say which are which.

// ReassignPartitions starts, replaces or cancels reassignments. It is
// applied all or nothing: one bad entry refuses the whole command.
type ReassignPartitions struct {
	Reassignments []Reassignment `json:"reassignments"`
}

// Reassignment is one partition's move.
type Reassignment struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Replicas is the target replica set in preference order
	// (Replicas[0] becomes the preferred leader). A new target for a
	// partition already moving replaces the old one, measured from the
	// replicas the partition had before the first.
	Replicas []NodeID `json:"replicas,omitempty"`
	// Cancel reverts the partition's reassignment in progress (Replicas
	// must then be empty): the replicas being added are dropped, those
	// being removed stay. Cancelling where none runs changes nothing.
	Cancel bool `json:"cancel,omitempty"`
	// Throttle, when > 0, limits the catch-up traffic of the replicas
	// this move adds to that many bytes per second (throttle.go). With
	// Replicas it is the new move's throttle; without Replicas and
	// Cancel it changes the throttle of the move in progress (a partition
	// not moving is left alone). RemoveThrottle lifts it instead. A new
	// target given with neither keeps the throttle of the move it
	// replaces.
	Throttle       int64 `json:"throttle,omitempty"`
	RemoveThrottle bool  `json:"remove_throttle,omitempty"`
}

// Reassigning reports whether a reassignment of p is in progress.
func (p *Partition) Reassigning() bool {
	return len(p.AddingReplicas) > 0 || len(p.RemovingReplicas) > 0
}

// TargetReplicas is the replica set p will have once its reassignment
// completes (its replicas when none runs).
func (p *Partition) TargetReplicas() []NodeID {
	return without(p.Replicas, p.RemovingReplicas)
}

// OriginalReplicas is the replica set p had before its reassignment began
// (its replicas when none runs).
func (p *Partition) OriginalReplicas() []NodeID {
	return without(p.Replicas, p.AddingReplicas)
}

func without(set, drop []NodeID) []NodeID {
	out := make([]NodeID, 0, len(set))
	for _, r := range set {
		if !slices.Contains(drop, r) {
			out = append(out, r)
		}
	}
	return out
}

func (a *applier) reassignPartitions(rp *ReassignPartitions) error {
	if len(rp.Reassignments) == 0 {
		return fmt.Errorf("no reassignments given: %w", ErrInvalidRequest)
	}
	seen := map[PartitionRef]bool{}
	for _, r := range rp.Reassignments {
		ref := PartitionRef{Topic: r.Topic, Partition: r.Partition}
		if seen[ref] {
			return fmt.Errorf("%s-%d is listed twice: %w", r.Topic, r.Partition, ErrInvalidRequest)
		}
		seen[ref] = true
		if err := a.checkReassignment(r); err != nil {
			return fmt.Errorf("%s-%d: %w", r.Topic, r.Partition, err)
		}
	}
	for _, r := range rp.Reassignments {
		t := a.cur().Topics[r.Topic]
		p := t.Partitions[r.Partition]
		var n Partition
		var changed bool
		switch {
		case r.Cancel:
			n, changed = a.cancelReassignment(t, p)
		case len(r.Replicas) == 0:
			n, changed = setThrottle(p, r)
		default:
			n, changed = a.startReassignment(t, p, r)
		}
		if !changed {
			continue
		}
		nt := *t
		nt.Partitions = slices.Clone(t.Partitions)
		nt.Partitions[r.Partition] = n
		nt.ReplicationFactor = replicationFactor(&nt)
		a.putTopic(&nt)
		a.res.Partitions = append(a.res.Partitions, n)
	}
	return nil
}

// checkReassignment refuses a target that names a broker that does not
// exist (or holds no broker role), names one twice, adds a fenced broker
// (it could never catch up) or has fewer replicas than the topic's
// min.insync.replicas (acks=all could never succeed), and a bad throttle
// (checkThrottle); a throttle change alone needs only the partition.
func (a *applier) checkReassignment(r Reassignment) error {
	cur := a.cur()
	p, err := cur.PartitionOf(r.Topic, r.Partition)
	if err != nil {
		return err
	}
	if err := checkThrottle(r); err != nil {
		return err
	}
	if !r.Cancel && len(r.Replicas) == 0 && (r.Throttle > 0 || r.RemoveThrottle) {
		return nil // a throttle change: checkThrottle said all
	}
	if r.Cancel {
		if len(r.Replicas) > 0 {
			return fmt.Errorf("cancel takes no replicas: %w", ErrInvalidRequest)
		}
		if p.Reassigning() && len(without(p.ISR, p.AddingReplicas)) == 0 {
			return fmt.Errorf("only replicas being added %v are in sync (ISR %v): cancelling would leave no in-sync replica: %w",
				p.AddingReplicas, p.ISR, ErrInvalidRequest)
		}
		return nil
	}
	if len(r.Replicas) == 0 {
		return fmt.Errorf("empty replica set: %w", ErrInvalidRequest)
	}
	t := cur.Topics[r.Topic]
	if min := t.Config.MinInsyncReplicas; len(r.Replicas) < min {
		return fmt.Errorf("%d replicas %v is fewer than the topic's %s=%d (acks=all could never succeed): %w",
			len(r.Replicas), r.Replicas, KeyMinInsyncReplicas, min, ErrInvalidRequest)
	}
	orig, target := p.OriginalReplicas(), r.Replicas
	if !slices.ContainsFunc(p.ISR, func(id NodeID) bool { return slices.Contains(orig, id) || slices.Contains(target, id) }) {
		return fmt.Errorf("only replicas being added %v are in sync (ISR %v) and the new target drops them: no in-sync replica would be left: %w",
			p.AddingReplicas, p.ISR, ErrInvalidRequest)
	}
	dup := map[NodeID]bool{}
	for _, id := range r.Replicas {
		if dup[id] {
			return fmt.Errorf("replicas %v list broker %d twice: %w", r.Replicas, id, ErrInvalidRequest)
		}
		dup[id] = true
		b, ok := cur.Brokers[id]
		if !ok || !b.HasRole(RoleBroker) {
			return fmt.Errorf("broker %d does not exist: %w", id, ErrUnknownBroker)
		}
		if !slices.Contains(orig, id) && !b.Alive() {
			return fmt.Errorf("broker %d is fenced and could never catch up: %w", id, ErrInvalidRequest)
		}
	}
	return nil
}

// startReassignment moves p towards target (see Reassignment).
func (a *applier) startReassignment(t *Topic, p Partition, r Reassignment) (Partition, bool) {
	target := r.Replicas
	orig := p.OriginalReplicas()
	n := p.clone()
	n.ReassignThrottle = throttleAfter(p.ReassignThrottle, r)
	n.AddingReplicas = without(target, orig)
	n.RemovingReplicas = without(orig, target)
	n.Replicas = append(slices.Clone(target), n.RemovingReplicas...)
	n.ISR = inReplicaOrder(&n, p.ISR)
	if n.Leader != NoLeader && !n.IsReplica(n.Leader) {
		// The leader was a replica being added by the move this one
		// replaces (possible only while that move waited to complete).
		n.Leader = a.pickLeader(t, &n)
		n.LeaderEpoch++
	}
	if len(n.AddingReplicas) == 0 {
		n.AddingReplicas = nil
	}
	if len(n.RemovingReplicas) == 0 {
		n.RemovingReplicas = nil
	}
	a.completeReassignment(t, &n)
	if samePartitionState(&n, &p) {
		return p, false
	}
	n.PartitionEpoch = p.PartitionEpoch + 1
	return n, true
}

// cancelReassignment reverts p to its original replicas.
func (a *applier) cancelReassignment(t *Topic, p Partition) (Partition, bool) {
	if !p.Reassigning() {
		return p, false
	}
	n := p.clone()
	n.Replicas = p.OriginalReplicas()
	n.ISR = inReplicaOrder(&n, p.ISR)
	n.AddingReplicas, n.RemovingReplicas = nil, nil
	n.ReassignThrottle = 0
	if !n.IsReplica(n.Leader) && n.Leader != NoLeader {
		n.Leader = a.pickLeader(t, &n)
		n.LeaderEpoch++
	}
	n.PartitionEpoch++
	return n, true
}

// completeReassignment finishes n's reassignment in place when every
// replica being added is in the ISR and a target replica can lead; it
// changes nothing otherwise. The caller bumps the partition epoch.
func (a *applier) completeReassignment(t *Topic, n *Partition) {
	if !n.Reassigning() {
		n.ReassignThrottle = 0 // never left without a move to throttle
		return
	}
	for _, r := range n.AddingReplicas {
		if !n.InISR(r) {
			return
		}
	}
	target := n.TargetReplicas()
	next := *n
	next.Replicas = target
	next.ISR = inReplicaOrder(&next, n.ISR)
	if len(next.ISR) == 0 {
		return // no target replica in sync yet (removal only)
	}
	if next.Leader != NoLeader && !slices.Contains(target, next.Leader) {
		leader := NoLeader
		for _, r := range target {
			if next.InISR(r) && a.alive(r) {
				leader = r
				break
			}
		}
		if leader == NoLeader {
			return // wait until a target replica can take over
		}
		next.Leader = leader
		next.LeaderEpoch++
	}
	next.AddingReplicas, next.RemovingReplicas = nil, nil
	next.ReassignThrottle = 0
	*n = next
}

func samePartitionState(a, b *Partition) bool {
	return a.Leader == b.Leader && a.LeaderEpoch == b.LeaderEpoch &&
		slices.Equal(a.Replicas, b.Replicas) && slices.Equal(a.ISR, b.ISR) &&
		slices.Equal(a.AddingReplicas, b.AddingReplicas) && slices.Equal(a.RemovingReplicas, b.RemovingReplicas) &&
		a.ReassignThrottle == b.ReassignThrottle
}

// replicationFactor is the topic's replication factor after a
// reassignment: the target replica count when every partition has the
// same one (a plan changed them all), else the one it had.
func replicationFactor(t *Topic) int {
	rf := -1
	for i := range t.Partitions {
		n := len(t.Partitions[i].TargetReplicas())
		if rf >= 0 && n != rf {
			return t.ReplicationFactor
		}
		rf = n
	}
	if rf < 1 {
		return t.ReplicationFactor
	}
	return rf
}
