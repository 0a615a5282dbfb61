package meta

import (
	"fmt"
	"slices"
)

// Internal topics (such as __consumer_offsets) hold the cluster's own
// data. They are replicated like any topic: replication factor min(3,
// alive brokers) and min.insync.replicas 2 once that factor is 3, so a
// commit acknowledged with acks=all survives the loss of any one node.
// A cluster that starts with fewer brokers than that creates the topic
// smaller; the active controller raises it as brokers join
// (InternalTopicChanges, RaiseReplication).

// ConsumerOffsetsTopic holds the consumer groups' committed offsets.
const ConsumerOffsetsTopic = "__consumer_offsets"

// KnownInternalTopic reports whether name is one of the internal topics
// Sluice itself creates; no other internal topic may be created or raised.
func KnownInternalTopic(name string) bool { return name == ConsumerOffsetsTopic }

// MaxInternalReplication is the replication factor internal topics grow to.
const MaxInternalReplication = 3

// InternalReplication is the replication factor and min.insync.replicas an
// internal topic should have with alive brokers available: RF min(3,
// alive) (at least 1), min.insync.replicas 2 when RF is 3, else 1.
func InternalReplication(alive int) (rf, minInsync int) {
	rf = max(1, min(MaxInternalReplication, alive))
	minInsync = 1
	if rf == MaxInternalReplication {
		minInsync = 2
	}
	return rf, minInsync
}

// RaiseReplication raises an internal topic's replication factor and/or
// min.insync.replicas; neither is ever lowered. New replicas are chosen
// among alive brokers that hold none of the partition's replicas (fewest
// replicas of the cluster first, then lowest id, rotated by partition) and
// join as followers outside the ISR: they catch up from the leader and
// enter the ISR through the leader's normal AlterPartition. The
// partition epoch and the leader epoch of every changed partition are
// bumped (the leader stays): the leader starts a new leadership that knows
// the new replica set, as Kafka bumps the leader epoch on a reassignment. min.insync.replicas is refused above the smallest ISR of the
// topic's partitions, so raising it never blocks acks=all writes at once.
type RaiseReplication struct {
	Topic             string `json:"topic"`
	ReplicationFactor int    `json:"replication_factor"`
	MinInsyncReplicas int    `json:"min_insync_replicas"`
}

func (a *applier) raiseReplication(rr *RaiseReplication) error {
	cur := a.cur()
	t, ok := cur.Topics[rr.Topic]
	if !ok {
		return fmt.Errorf("topic %q: %w", rr.Topic, ErrUnknownTopic)
	}
	if !t.Internal {
		return fmt.Errorf("topic %q is not internal; raise_replication applies to internal topics only: %w", rr.Topic, ErrInvalidRequest)
	}
	rf, minISR := rr.ReplicationFactor, rr.MinInsyncReplicas
	if rf < t.ReplicationFactor || minISR < t.Config.MinInsyncReplicas {
		return fmt.Errorf("topic %q: replication %d/min.insync %d below the current %d/%d (never lowered): %w",
			rr.Topic, rf, minISR, t.ReplicationFactor, t.Config.MinInsyncReplicas, ErrInvalidRequest)
	}
	if err := checkConfigFits(TopicConfig{MinInsyncReplicas: minISR}, rf); err != nil {
		return fmt.Errorf("topic %q: %w", rr.Topic, err)
	}
	if rf == t.ReplicationFactor && minISR == t.Config.MinInsyncReplicas {
		a.res.Topic = t
		return nil
	}
	alive := cur.AliveBrokers()
	if rf > len(alive) {
		return fmt.Errorf("topic %q: replication factor %d, %d alive brokers: %w", rr.Topic, rf, len(alive), ErrNotEnoughBrokers)
	}
	n := t.Clone()
	n.ReplicationFactor = rf
	n.Config.MinInsyncReplicas = minISR
	load := replicaLoad(cur)
	for i := range n.Partitions {
		p := &n.Partitions[i]
		if len(p.Replicas) >= rf {
			continue
		}
		for _, b := range pickReplicas(alive, p.Replicas, load, i, rf-len(p.Replicas)) {
			p.Replicas = append(p.Replicas, b)
			load[b]++
		}
		p.PartitionEpoch++
		if p.Leader != NoLeader {
			// As Kafka on a reassignment: the leader starts a new
			// leadership that knows the new replica set.
			p.LeaderEpoch++
		}
	}
	for i := range n.Partitions {
		if isr := len(n.Partitions[i].ISR); minISR > isr {
			return fmt.Errorf("topic %q partition %d: min.insync.replicas %d above its ISR of %d (acks=all would fail at once): %w",
				rr.Topic, i, minISR, isr, ErrInvalidRequest)
		}
	}
	a.putTopic(n)
	a.res.Topic = n
	return nil
}

// replicaLoad counts the replicas each broker holds.
func replicaLoad(c *Cluster) map[NodeID]int {
	load := map[NodeID]int{}
	for _, t := range c.Topics {
		for _, p := range t.Partitions {
			for _, r := range p.Replicas {
				load[r]++
			}
		}
	}
	return load
}

// pickReplicas chooses n alive brokers not in have: least loaded first,
// ties broken by id rotated by the partition index.
func pickReplicas(alive []*Broker, have []NodeID, load map[NodeID]int, index, n int) []NodeID {
	var cands []NodeID
	for _, b := range alive {
		if !slices.Contains(have, b.ID) {
			cands = append(cands, b.ID)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	rot := index % len(cands)
	cands = append(cands[rot:], cands[:rot]...)
	slices.SortStableFunc(cands, func(x, y NodeID) int { return load[x] - load[y] })
	return cands[:min(n, len(cands))]
}

// InternalTopicChanges returns the commands that bring c's internal topics
// to the replication its alive brokers allow (InternalReplication): first
// the replication factor (new replicas outside the ISR), then, once every
// partition's ISR has grown to it, min.insync.replicas. The active
// controller proposes them from its reconcile loop; they are idempotent.
func InternalTopicChanges(c *Cluster) []Command {
	wantRF, wantMin := InternalReplication(len(c.AliveBrokers()))
	var out []Command
	for _, name := range c.TopicNames() {
		t := c.Topics[name]
		if !t.Internal {
			continue
		}
		rf, minISR := t.ReplicationFactor, t.Config.MinInsyncReplicas
		switch {
		case rf < wantRF:
			rf = wantRF
		case rf >= MaxInternalReplication && minISR < wantMin && smallestISR(t) >= wantMin:
			minISR = wantMin
		default:
			continue
		}
		out = append(out, Command{Op: OpRaiseReplication, RaiseReplication: &RaiseReplication{
			Topic: name, ReplicationFactor: rf, MinInsyncReplicas: minISR}})
	}
	return out
}

func smallestISR(t *Topic) int {
	m := -1
	for _, p := range t.Partitions {
		if m < 0 || len(p.ISR) < m {
			m = len(p.ISR)
		}
	}
	return max(m, 0)
}
