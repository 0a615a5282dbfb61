package meta

import (
	"errors"
	"slices"
	"testing"
)

func TestInternalReplication(t *testing.T) {
	for _, tc := range []struct{ alive, rf, min int }{
		{0, 1, 1}, {1, 1, 1}, {2, 2, 1}, {3, 3, 2}, {7, 3, 2},
	} {
		if rf, m := InternalReplication(tc.alive); rf != tc.rf || m != tc.min {
			t.Errorf("InternalReplication(%d) = %d, %d; want %d, %d", tc.alive, rf, m, tc.rf, tc.min)
		}
	}
}

func createInternal(name string, parts, rf int) Command {
	return Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: name, Partitions: parts, ReplicationFactor: rf, Internal: true}}
}

// applyChanges applies what InternalTopicChanges asks for, as the
// controller's reconcile pass does, and returns how many commands it got.
func applyChanges(s *seq) int {
	cmds := InternalTopicChanges(s.c)
	for _, c := range cmds {
		s.must(c)
	}
	return len(cmds)
}

// TestInternalTopicGrowsWithTheCluster: an offsets topic created on one
// broker is raised to RF 3 when three are alive, new replicas outside the
// ISR, leaders kept, epochs bumped; min.insync.replicas becomes 2 only
// once every partition's ISR holds two replicas; nothing is ever lowered.
func TestInternalTopicGrowsWithTheCluster(t *testing.T) {
	s := withBrokers(t, 1)
	s.must(createInternal("__consumer_offsets", 4, 1))
	s.must(create("user", 2, 1, nil))
	if n := applyChanges(s); n != 0 {
		t.Fatalf("one broker: %d changes, want none", n)
	}
	s.must(register(2, ""))
	s.must(register(3, ""))
	before := s.c.Topics["__consumer_offsets"]
	if n := applyChanges(s); n != 1 {
		t.Fatalf("three brokers: %d changes, want 1", n)
	}
	after := s.c.Topics["__consumer_offsets"]
	if after.ReplicationFactor != 3 || after.Config.MinInsyncReplicas != 1 {
		t.Fatalf("after the raise: RF %d, min.insync %d; want 3, 1 (ISR still 1)", after.ReplicationFactor, after.Config.MinInsyncReplicas)
	}
	for i, p := range after.Partitions {
		old := before.Partitions[i]
		if len(p.Replicas) != 3 || p.Replicas[0] != old.Replicas[0] || p.Leader != old.Leader ||
			!slices.Equal(p.ISR, old.ISR) || p.PartitionEpoch != old.PartitionEpoch+1 || p.LeaderEpoch != old.LeaderEpoch+1 {
			t.Fatalf("partition %d raised to %+v from %+v", i, p, old)
		}
		if len(slices.Compact(slices.Sorted(slices.Values(p.Replicas)))) != 3 {
			t.Fatalf("partition %d: replicas %v not distinct", i, p.Replicas)
		}
	}
	if s.c.Topics["user"].ReplicationFactor != 1 {
		t.Fatal("a user topic was raised")
	}
	if n := applyChanges(s); n != 0 {
		t.Fatalf("ISR still 1: %d changes, want none (min.insync would block commits)", n)
	}
	// The new replicas catch up and join the ISR (the leader's AlterPartition).
	for i, p := range s.c.Topics["__consumer_offsets"].Partitions {
		s.must(Command{Op: OpAlterPartition, AlterPartition: &AlterPartition{Topic: "__consumer_offsets", Partition: int32(i),
			Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: p.Replicas[:2]}})
	}
	if n := applyChanges(s); n != 1 || s.c.Topics["__consumer_offsets"].Config.MinInsyncReplicas != 2 {
		t.Fatalf("ISR 2 everywhere: %d changes, min.insync %d; want 1 change to 2", n, s.c.Topics["__consumer_offsets"].Config.MinInsyncReplicas)
	}
	if n := applyChanges(s); n != 0 {
		t.Fatalf("converged, yet %d changes", n)
	}
	// A broker lost: nothing is lowered.
	s.must(fence(3))
	if n := applyChanges(s); n != 0 {
		t.Fatalf("two alive brokers: %d changes, want none (never lowered)", n)
	}
}

func TestRaiseReplicationRefusals(t *testing.T) {
	s := withBrokers(t, 2)
	s.must(createInternal("__consumer_offsets", 1, 2))
	s.must(create("user", 1, 1, nil))
	raise := func(topic string, rf, m int) error {
		_, err := s.try(Command{Op: OpRaiseReplication, RaiseReplication: &RaiseReplication{Topic: topic, ReplicationFactor: rf, MinInsyncReplicas: m}})
		return err
	}
	if err := raise("user", 2, 1); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("user topic: %v", err)
	}
	if err := raise("nope", 2, 1); !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("unknown topic: %v", err)
	}
	if err := raise("__consumer_offsets", 1, 1); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("lower RF: %v", err)
	}
	if err := raise("__consumer_offsets", 3, 1); !errors.Is(err, ErrNotEnoughBrokers) {
		t.Fatalf("RF above alive brokers: %v", err)
	}
	if err := raise("__consumer_offsets", 2, 3); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("min.insync above RF: %v", err)
	}
	// ISR is [1 2] (created with RF 2): min.insync 2 is allowed, then never lowered.
	if err := raise("__consumer_offsets", 2, 2); err != nil {
		t.Fatalf("min.insync 2 with an ISR of 2: %v", err)
	}
	if err := raise("__consumer_offsets", 2, 1); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("lower min.insync: %v", err)
	}
}

// TestDeleteTopicLeavesTombstone: DeleteTopic records the topic's ID;
// re-creating the name gets a new ID that is not deleted.
func TestDeleteTopicLeavesTombstone(t *testing.T) {
	s := withBrokers(t, 1)
	s.must(create("t", 1, 1, nil))
	id := s.c.Topics["t"].ID
	if s.c.TopicDeleted(id) {
		t.Fatal("live topic reported deleted")
	}
	s.must(Command{Op: OpDeleteTopic, DeleteTopic: &DeleteTopic{Name: "t"}})
	if !s.c.TopicDeleted(id) || s.c.DeletedTopics[id].Name != "t" || s.c.DeletedTopics[id].Version != s.idx {
		t.Fatalf("tombstone %+v", s.c.DeletedTopics)
	}
	s.must(create("t", 1, 1, nil))
	if nid := s.c.Topics["t"].ID; nid == id || s.c.TopicDeleted(nid) {
		t.Fatalf("re-created topic ID %s (old %s) deleted=%v", nid, id, s.c.TopicDeleted(nid))
	}
	if s.c.TopicDeleted("") {
		t.Fatal("empty ID reported deleted")
	}
}
