package broker

import "slices"

// SetReplicas installs a new replica set on a leader whose leadership
// goes on (a reassignment added or removed followers without a leader
// change): added replicas start with an unknown LEO and no fetch
// history, outside the ISR until they catch up (ProposedISR); removed
// ones are forgotten. The ISR itself comes with SetISR.
func (r *Replication) SetReplicas(replicas []int32) {
	if slices.Equal(r.replicas, replicas) {
		return
	}
	for _, id := range r.replicas {
		if id != r.nodeID && !slices.Contains(replicas, id) {
			delete(r.leo, id)
			delete(r.fetches, id)
		}
	}
	for _, id := range replicas {
		if _, ok := r.leo[id]; !ok {
			r.leo[id] = unknownLEO
		}
	}
	r.replicas = slices.Clone(replicas)
	r.joining = slices.DeleteFunc(r.joining, func(id int32) bool { return !slices.Contains(replicas, id) })
}

// Replicas returns a copy of the replica set.
func (r *Replication) Replicas() []int32 { return slices.Clone(r.replicas) }

// followerLEOs is, on a leader, every follower's LEO as last reported
// (-1: not fetched yet under this leadership); nil on a follower.
func (p *partition) followerLEOs() map[int32]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.leader {
		return nil
	}
	out := make(map[int32]int64, len(p.repl.replicas))
	for _, id := range p.repl.replicas {
		if id == p.nodeID {
			continue
		}
		leo, ok := p.repl.LEO(id)
		if !ok {
			leo = -1
		}
		out[id] = leo
	}
	return out
}
