package meta

import (
	"fmt"
	"slices"
)

// GenerateReassignments proposes a balanced placement of the named topics
// (every non-internal topic when topics is empty) on exactly the given
// brokers, as topic creation places replicas: racks first (when every
// broker has one), then brokers, with first replicas (preferred leaders)
// spread evenly. Each topic keeps its replication factor (the length of
// its partitions' target replica sets). Only partitions whose replicas
// would change are returned, topics in name order. It fails with
// ErrUnknownBroker for a broker that is not registered and
// ErrNotEnoughBrokers when a topic has more replicas than brokers given.
func GenerateReassignments(c *Cluster, topics []string, brokers []NodeID) ([]Reassignment, error) {
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
		for _, name := range c.TopicNames() {
			if !c.Topics[name].Internal {
				topics = append(topics, name)
			}
		}
	}
	var out []Reassignment
	start := 0
	for _, name := range topics {
		t, ok := c.Topics[name]
		if !ok {
			return nil, fmt.Errorf("generate a plan: topic %q: %w", name, ErrUnknownTopic)
		}
		rf := t.ReplicationFactor
		if len(t.Partitions) > 0 {
			rf = len(t.Partitions[0].TargetReplicas())
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
