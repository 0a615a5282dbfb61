package meta

import (
	"fmt"
	"slices"
)

// alterPartition applies a leader's ISR change. The proposer must be the
// current leader and know the current leader and partition epochs; the new
// ISR must be a duplicate-free subset of the replicas that contains the
// leader, and may add only alive brokers.
func (a *applier) alterPartition(ap *AlterPartition) error {
	t, ok := a.cur().Topics[ap.Topic]
	if !ok {
		return fmt.Errorf("topic %q: %w", ap.Topic, ErrUnknownTopic)
	}
	if ap.Partition < 0 || int(ap.Partition) >= len(t.Partitions) {
		return fmt.Errorf("topic %q partition %d: %w", ap.Topic, ap.Partition, ErrUnknownPartition)
	}
	p := t.Partitions[ap.Partition]
	if ap.Leader != p.Leader || ap.LeaderEpoch != p.LeaderEpoch || ap.PartitionEpoch != p.PartitionEpoch {
		return fmt.Errorf("%s-%d: proposed by leader %d epochs %d/%d, current leader %d epochs %d/%d: %w",
			ap.Topic, ap.Partition, ap.Leader, ap.LeaderEpoch, ap.PartitionEpoch,
			p.Leader, p.LeaderEpoch, p.PartitionEpoch, ErrStaleEpoch)
	}
	isr, err := a.checkISR(&p, ap.ISR)
	if err != nil {
		return fmt.Errorf("%s-%d: %w", ap.Topic, ap.Partition, err)
	}
	if slices.Equal(isr, inReplicaOrder(&p, p.ISR)) {
		a.res.Partition = &t.Partitions[ap.Partition]
		return nil
	}
	n := p.clone()
	n.ISR = isr
	// A replica that lost its data is whole again once its leader lets it
	// rejoin the ISR (it has caught up).
	n.Lost = slices.DeleteFunc(n.Lost, n.InISR)
	if len(n.Lost) == 0 {
		n.Lost = nil
	}
	n.PartitionEpoch++
	a.completeReassignment(t, &n) // the last replica being added joined: finish the move
	nt := *t
	nt.Partitions = slices.Clone(t.Partitions)
	nt.Partitions[ap.Partition] = n
	a.putTopic(&nt)
	a.res.Partition = &nt.Partitions[ap.Partition]
	return nil
}

// checkISR validates a proposed ISR and returns it in replica order.
func (a *applier) checkISR(p *Partition, proposed []NodeID) ([]NodeID, error) {
	if len(proposed) == 0 {
		return nil, fmt.Errorf("empty ISR: %w", ErrInvalidRequest)
	}
	seen := map[NodeID]bool{}
	for _, r := range proposed {
		switch {
		case seen[r]:
			return nil, fmt.Errorf("ISR %v lists %d twice: %w", proposed, r, ErrInvalidRequest)
		case !p.IsReplica(r):
			return nil, fmt.Errorf("ISR %v: %d is not a replica %v: %w", proposed, r, p.Replicas, ErrInvalidRequest)
		case !p.InISR(r) && !a.alive(r):
			return nil, fmt.Errorf("ISR %v: %d is fenced and cannot join: %w", proposed, r, ErrInvalidRequest)
		}
		seen[r] = true
	}
	if !seen[p.Leader] {
		return nil, fmt.Errorf("ISR %v leaves out leader %d: %w", proposed, p.Leader, ErrInvalidRequest)
	}
	return inReplicaOrder(p, proposed), nil
}

func inReplicaOrder(p *Partition, set []NodeID) []NodeID {
	out := make([]NodeID, 0, len(set))
	for _, r := range p.Replicas {
		if slices.Contains(set, r) {
			out = append(out, r)
		}
	}
	return out
}

// electLeader runs a preferred or an ISR election on some partitions of a
// topic (see ElectLeader).
func (a *applier) electLeader(el *ElectLeader) error {
	t, ok := a.cur().Topics[el.Topic]
	if !ok {
		return fmt.Errorf("topic %q: %w", el.Topic, ErrUnknownTopic)
	}
	want := map[int32]bool{}
	for _, i := range el.Partitions {
		if i < 0 || int(i) >= len(t.Partitions) {
			return fmt.Errorf("topic %q partition %d: %w", el.Topic, i, ErrUnknownPartition)
		}
		want[i] = true
	}
	var nt *Topic
	for i, p := range t.Partitions {
		if len(want) > 0 && !want[int32(i)] {
			continue
		}
		n := p.clone()
		if el.Preferred {
			pref := p.Replicas[0]
			if p.Leader == pref || !p.InISR(pref) || !a.alive(pref) {
				continue
			}
			n.Leader = pref
		} else {
			if p.Leader != NoLeader && a.alive(p.Leader) {
				continue
			}
			n.Leader = a.pickLeader(t, &n)
			if n.Leader == p.Leader {
				continue
			}
		}
		n.LeaderEpoch++
		n.PartitionEpoch++
		if nt == nil {
			c := *t
			c.Partitions = slices.Clone(t.Partitions)
			nt = &c
		}
		nt.Partitions[i] = n
		a.res.Partitions = append(a.res.Partitions, n)
	}
	if nt != nil {
		a.putTopic(nt)
		a.res.Topic = nt
	} else {
		a.res.Topic = t
	}
	return nil
}
