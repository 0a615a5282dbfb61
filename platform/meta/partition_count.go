package meta

import (
	"fmt"
	"slices"
)

// CreatePartitions raises a topic's partition count (Kafka's
// CreatePartitions). A count can only grow: existing partitions keep
// their data and assignment, and records with a key may hash to another
// partition afterwards (murmur2 mod the new count).
type CreatePartitions struct {
	Topic string `json:"topic"`
	// Count is the new total number of partitions.
	Count int `json:"count"`
}

// createPartitions appends partitions Count-len..Count-1, placed as topic
// creation places them (racks first, then brokers, first replicas
// spread), with the topic's replication factor.
func (a *applier) createPartitions(cp *CreatePartitions) error {
	cur := a.cur()
	t, ok := cur.Topics[cp.Topic]
	if !ok {
		return fmt.Errorf("topic %q: %w", cp.Topic, ErrUnknownTopic)
	}
	if t.Internal {
		return fmt.Errorf("topic %q is internal: its readers depend on its partition count: %w", cp.Topic, ErrInvalidRequest)
	}
	have := len(t.Partitions)
	switch {
	case cp.Count == have:
		a.res.Topic = t
		return nil
	case cp.Count < have:
		return fmt.Errorf("topic %q has %d partitions, refusing %d: the count can only grow (a partition's records cannot be taken away): %w",
			cp.Topic, have, cp.Count, ErrInvalidRequest)
	case cp.Count > MaxPartitions:
		return fmt.Errorf("topic %q: %d partitions, want at most %d: %w", cp.Topic, cp.Count, MaxPartitions, ErrInvalidRequest)
	}
	brokers := cur.AliveBrokers()
	if t.ReplicationFactor > len(brokers) {
		return fmt.Errorf("topic %q: replication factor %d, %d alive brokers: %w", cp.Topic, t.ReplicationFactor, len(brokers), ErrNotEnoughBrokers)
	}
	start := 0
	for _, o := range cur.Topics {
		start += len(o.Partitions)
	}
	assignment := assignReplicas(brokers, cp.Count-have, t.ReplicationFactor, start)
	nt := *t
	nt.Partitions = slices.Grow(slices.Clone(t.Partitions), len(assignment))
	for i, replicas := range assignment {
		nt.Partitions = append(nt.Partitions, Partition{
			Topic:    t.Name,
			Index:    int32(have + i),
			Replicas: replicas,
			Leader:   replicas[0],
			ISR:      slices.Clone(replicas),
		})
	}
	a.putTopic(&nt)
	a.res.Topic = &nt
	return nil
}
