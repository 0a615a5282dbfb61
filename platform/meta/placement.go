package meta

import (
	"fmt"
	"slices"
)

// GenerateReassignments proposes a balanced placement of the named topics
// (every topic when topics is empty) on exactly the given
// brokers, as topic creation places replicas: racks first (when every
// broker has one), then brokers, with first replicas (preferred leaders)
// spread evenly. Each topic keeps its replication factor (the length of
// its partitions' target replica sets) unless rf > 0 sets a new one for
// all of them (reassignment is how a replication factor changes). Only partitions whose replicas
// would change are returned, topics in name order; internal topics count
// as any other (their replicas must leave a broker that goes too). It fails with
// ErrUnknownBroker for a broker that is not registered and
// ErrNotEnoughBrokers when a topic has more replicas than brokers given.
func GenerateReassignments(c *Cluster, topics []string, brokers []NodeID, rf int) ([]Reassignment, error) {
	if len(brokers) == 0 {
		return nil, fmt.Errorf("generate a plan: no brokers given: %w", ErrInvalidRequest)
	}
	ids := slices.Clone(brokers)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	bs := make([]*Broker, 0, len(ids))
	for _, id := range ids {
		b, ok := c.Brokers[id]
		if !ok || !b.HasRole(RoleBroker) {
			return nil, fmt.Errorf("generate a plan: broker %d does not exist: %w", id, ErrUnknownBroker)
		}
		bs = append(bs, b)
	}
	if len(topics) == 0 {
		topics = c.TopicNames()
	}
	var out []Reassignment
	start := 0
	for _, name := range topics {
		t, ok := c.Topics[name]
		if !ok {
			return nil, fmt.Errorf("generate a plan: topic %q: %w", name, ErrUnknownTopic)
		}
		rf := rf
		if rf <= 0 {
			rf = t.ReplicationFactor
			if len(t.Partitions) > 0 {
				rf = len(t.Partitions[0].TargetReplicas())
			}
		}
		if rf > len(bs) {
			return nil, fmt.Errorf("generate a plan: topic %q has %d replicas per partition, %d brokers given: %w", name, rf, len(bs), ErrNotEnoughBrokers)
		}
		assignment := assignReplicas(bs, len(t.Partitions), rf, start)
		start += len(t.Partitions)
		for i, replicas := range assignment {
			p := &t.Partitions[i]
			if slices.Equal(p.TargetReplicas(), replicas) {
				continue
			}
			out = append(out, Reassignment{Topic: name, Partition: p.Index, Replicas: replicas})
		}
	}
	return out, nil
}

// DrainPlan moves every replica off broker id with as little movement as
// possible (decommissioning): in each partition whose target replicas
// hold id, id is replaced, at its place in the order, by an alive broker
// that holds no replica of the partition, preferring a rack the other
// replicas do not use, then the broker with the fewest replicas (counting
// the moves planned so far), then the lowest id. Topics come in name
// order. It fails with ErrUnknownBroker for an unregistered id and with
// ErrNotEnoughBrokers when a partition has no broker left to move to
// (decommissioning would go below its replication factor).
func DrainPlan(c *Cluster, id NodeID) ([]Reassignment, error) {
	if _, ok := c.Brokers[id]; !ok {
		return nil, fmt.Errorf("drain broker %d: %w", id, ErrUnknownBroker)
	}
	load := map[NodeID]int{}
	for _, t := range c.Topics {
		for i := range t.Partitions {
			for _, r := range t.Partitions[i].TargetReplicas() {
				load[r]++
			}
		}
	}
	var candidates []*Broker
	for _, b := range c.AliveBrokers() {
		if b.ID != id {
			candidates = append(candidates, b)
		}
	}
	var out []Reassignment
	for _, name := range c.TopicNames() {
		t := c.Topics[name]
		for i := range t.Partitions {
			p := &t.Partitions[i]
			target := p.TargetReplicas()
			at := slices.Index(target, id)
			if at < 0 {
				continue
			}
			racks := map[string]bool{}
			for _, r := range target {
				if b, ok := c.Brokers[r]; ok && r != id && b.Rack != "" {
					racks[b.Rack] = true
				}
			}
			var best *Broker
			better := func(b *Broker) bool {
				if best == nil {
					return true
				}
				if nb, bb := b.Rack != "" && !racks[b.Rack], best.Rack != "" && !racks[best.Rack]; nb != bb {
					return nb
				}
				if load[b.ID] != load[best.ID] {
					return load[b.ID] < load[best.ID]
				}
				return b.ID < best.ID
			}
			for _, b := range candidates {
				if !slices.Contains(p.Replicas, b.ID) && better(b) {
					best = b
				}
			}
			if best == nil {
				return nil, fmt.Errorf("drain broker %d: %s-%d has replicas %v and no other alive broker can take one (that would go below its replication factor %d): %w",
					id, name, p.Index, target, len(target), ErrNotEnoughBrokers)
			}
			next := slices.Clone(target)
			next[at] = best.ID
			load[best.ID]++
			load[id]--
			out = append(out, Reassignment{Topic: name, Partition: p.Index, Replicas: next})
		}
	}
	return out, nil
}
