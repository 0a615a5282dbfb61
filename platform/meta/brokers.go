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
	if known && !old.Alive() {
		a.restoreLeaders(b.ID)
	}
	return nil
}

func sameRegistration(a, b *Broker) bool {
	return a.HTTPAddr == b.HTTPAddr && a.RaftAddr == b.RaftAddr &&
		a.SerfAddr == b.SerfAddr && a.Rack == b.Rack && slices.Equal(a.Roles, b.Roles) &&
		a.MaxReplicas == b.MaxReplicas
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
// unclean election enabled and no such member, it returns the first alive
// replica and shrinks p.ISR to it. Otherwise NoLeader.
func (a *applier) pickLeader(t *Topic, p *Partition) NodeID {
	for _, r := range p.Replicas {
		if p.InISR(r) && a.alive(r) {
			return r
		}
	}
	if t.Config.UncleanLeaderElection {
		for _, r := range p.Replicas {
			if a.alive(r) {
				p.ISR = []NodeID{r}
				return r
			}
		}
	}
	return NoLeader
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
