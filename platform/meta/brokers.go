package meta

import (
	"fmt"
	"slices"
)

func (a *applier) registerBroker(r *RegisterBroker) error {
	in := r.Broker
	if in.ID < 0 {
		return fmt.Errorf("broker id %d: %w", in.ID, ErrInvalidRequest)
	}
	if in.MaxReplicas < 0 {
		return fmt.Errorf("broker %d: max replicas %d: %w", in.ID, in.MaxReplicas, ErrInvalidRequest)
	}
	old, known := a.cur().Brokers[in.ID]
	if known && in.DirID == "" {
		in.DirID = old.DirID // a registration without a directory id keeps the known one
	}
	if known && old.Alive() && sameRegistration(old, &in) {
		a.res.Broker = old
		return nil
	}
	b := in
	b.Roles = slices.Clone(in.Roles)
	b.State = BrokerAlive
	b.Epoch = int64(a.index)
	a.putBroker(&b)
	a.res.Broker = &b
	if known && old.DirID != "" && b.DirID != old.DirID {
		// A new data directory under a known node id: the disk was lost.
		// Every replica it holds is a new, empty replica (KIP-858).
		a.eachPartition(func(t *Topic, p Partition) (Partition, bool) {
			if !p.IsReplica(b.ID) {
				return p, false
			}
			return a.loseReplica(t, p, b.ID)
		})
	}
	if known && !old.Alive() {
		a.restoreLeaders(b.ID)
	}
	return nil
}

func sameRegistration(a, b *Broker) bool {
	return a.HTTPAddr == b.HTTPAddr && a.RaftAddr == b.RaftAddr && a.ClusterAddr == b.ClusterAddr &&
		a.SerfAddr == b.SerfAddr && a.Rack == b.Rack && slices.Equal(a.Roles, b.Roles) &&
		a.DirID == b.DirID && a.MaxReplicas == b.MaxReplicas
}

// loseReplica records that id's replica of p lost its data: id leaves the
// ISR even as its last member (an empty ISR means no replica is known to
// hold the committed records: PartitionDataLost), joins Lost, and, if it
// led, leadership moves to another ISR member (with unclean election, to
// any alive replica).
func (a *applier) loseReplica(t *Topic, p Partition, id NodeID) (Partition, bool) {
	if !p.InISR(id) && p.IsLost(id) && p.Leader != id {
		return p, false
	}
	n := p.clone()
	n.ISR = slices.DeleteFunc(n.ISR, func(r NodeID) bool { return r == id })
	if !n.IsLost(id) {
		n.Lost = inReplicaOrder(&n, append(n.Lost, id))
	}
	if n.Leader == id || n.Leader == NoLeader {
		prev := n.Leader
		n.Leader = a.pickLeader(t, &n)
		if n.Leader != prev || prev == id {
			n.LeaderEpoch++
		}
	}
	n.PartitionEpoch++
	return n, true
}

// fenceBroker marks id fenced. Every partition it led gets a new leader: the
// first alive ISR member in replica order (with unclean election, any alive
// replica), else NoLeader; the leader epoch and partition epoch grow. It
// leaves every ISR where it is not the last member, so the ISR is never empty
// and a leaderless partition remembers who had the data.
func (a *applier) fenceBroker(id NodeID) error {
	old, ok := a.cur().Brokers[id]
	if !ok {
		return fmt.Errorf("broker %d: %w", id, ErrUnknownBroker)
	}
	if !old.Alive() {
		a.res.Broker = old
		return nil
	}
	b := *old
	b.State = BrokerFenced
	a.putBroker(&b)
	a.res.Broker = &b
	a.eachPartition(func(t *Topic, p Partition) (Partition, bool) {
		if p.Leader != id && !p.InISR(id) {
			return p, false
		}
		return a.withoutBroker(t, p, id)
	})
	return nil
}

// withoutBroker removes id from p's leadership and ISR (see fenceBroker).
func (a *applier) withoutBroker(t *Topic, p Partition, id NodeID) (Partition, bool) {
	n := p.clone()
	if len(n.ISR) > 1 {
		n.ISR = slices.DeleteFunc(n.ISR, func(r NodeID) bool { return r == id })
	}
	if n.Leader == id {
		n.Leader = a.pickLeader(t, &n)
		n.LeaderEpoch++
	}
	if n.Leader == p.Leader && slices.Equal(n.ISR, p.ISR) {
		return p, false
	}
	n.PartitionEpoch++
	return n, true
}

// pickLeader returns the first alive ISR member of p in replica order. With
// unclean election enabled and no such member, it returns what
// uncleanLeader finds. Otherwise NoLeader.
func (a *applier) pickLeader(t *Topic, p *Partition) NodeID {
	for _, r := range p.Replicas {
		if p.InISR(r) && a.alive(r) && !p.IsLost(r) {
			return r
		}
	}
	if t.Config.UncleanLeaderElection {
		return a.uncleanLeader(p)
	}
	return NoLeader
}

// uncleanLeader makes the first alive replica that did not lose its data
// (else the first alive one that did) the leader and sole ISR member of p,
// and returns it; NoLeader if no replica is alive. Records only other
// replicas held are lost: this is the operator's choice (unclean election).
func (a *applier) uncleanLeader(p *Partition) NodeID {
	pick := NoLeader
	for _, r := range p.Replicas {
		if a.alive(r) && !p.IsLost(r) {
			pick = r
			break
		}
	}
	if pick == NoLeader {
		for _, r := range p.Replicas {
			if a.alive(r) {
				pick = r
				break
			}
		}
	}
	if pick != NoLeader {
		p.ISR = []NodeID{pick}
		p.Lost = slices.DeleteFunc(p.Lost, func(r NodeID) bool { return r == pick })
		if len(p.Lost) == 0 {
			p.Lost = nil
		}
	}
	return pick
}

func (a *applier) alive(id NodeID) bool {
	b, ok := a.cur().Brokers[id]
	return ok && b.Alive()
}

func (a *applier) unfenceBroker(id NodeID) error {
	old, ok := a.cur().Brokers[id]
	if !ok {
		return fmt.Errorf("broker %d: %w", id, ErrUnknownBroker)
	}
	if old.Alive() {
		a.res.Broker = old
		return nil
	}
	b := *old
	b.State = BrokerAlive
	b.Epoch = int64(a.index)
	a.putBroker(&b)
	a.res.Broker = &b
	a.restoreLeaders(id)
	return nil
}

// restoreLeaders gives leaderless partitions that id replicates a leader
// again now that id is alive: id itself if it is in the ISR (it was the last
// member standing), or, with unclean election, whichever alive replica
// pickLeader finds.
func (a *applier) restoreLeaders(id NodeID) {
	a.eachPartition(func(t *Topic, p Partition) (Partition, bool) {
		if p.Leader != NoLeader || !p.IsReplica(id) {
			return p, false
		}
		n := p.clone()
		n.Leader = a.pickLeader(t, &n)
		if n.Leader == NoLeader {
			return p, false
		}
		n.LeaderEpoch++
		n.PartitionEpoch++
		return n, true
	})
}

// eachPartition calls f for every partition, topics in name order, and
// stores the partitions f reports changed (copying their topic once). The
// changed partitions are appended to the result.
func (a *applier) eachPartition(f func(t *Topic, p Partition) (Partition, bool)) {
	cur := a.cur()
	for _, name := range cur.TopicNames() {
		t := cur.Topics[name]
		var nt *Topic
		for i := range t.Partitions {
			np, changed := f(t, t.Partitions[i])
			if !changed {
				continue
			}
			if nt == nil {
				c := *t
				c.Partitions = slices.Clone(t.Partitions)
				nt = &c
			}
			nt.Partitions[i] = np
			a.res.Partitions = append(a.res.Partitions, np)
		}
		if nt != nil {
			a.putTopic(nt)
		}
	}
}
