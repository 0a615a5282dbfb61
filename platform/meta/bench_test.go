package meta

import (
	"fmt"
	"testing"
	"time"
)

// benchCluster returns a cluster with 3 brokers and topics×parts partitions.
func benchCluster(b *testing.B, topics, parts int) (*Cluster, uint64) {
	c := NewCluster()
	var idx uint64
	apply := func(cmd Command) {
		idx++
		var err error
		if c, _, err = Apply(c, idx, cmd, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	for id := NodeID(1); id <= 3; id++ {
		apply(register(id, ""))
	}
	for i := range topics {
		apply(create(fmt.Sprintf("t%d", i), parts, 3, nil))
	}
	return c, idx
}

// BenchmarkApplyAlterPartition: an ISR change in a cluster of 1,000 topics
// × 10 partitions (copies one topic's partition slice and the topic map).
func BenchmarkApplyAlterPartition(b *testing.B) {
	c, idx := benchCluster(b, 1000, 10)
	p := c.Topics["t500"].Partitions[3]
	isrs := [][]NodeID{p.Replicas[:2], p.Replicas}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		idx++
		cmd := Command{Op: OpAlterPartition, AlterPartition: &AlterPartition{Topic: "t500", Partition: 3,
			Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: int32(i), ISR: isrs[i%2]}}
		var err error
		if c, _, err = Apply(c, idx, cmd, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyCreateTopic: creating a 10-partition RF-3 topic next to
// 1,000 others.
func BenchmarkApplyCreateTopic(b *testing.B) {
	c, idx := benchCluster(b, 1000, 10)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, _, err := Apply(c, idx+1, create(fmt.Sprintf("new%d", i), 10, 3, nil), time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyFenceBroker: fencing a broker that leads a third of 10,000
// partitions.
func BenchmarkApplyFenceBroker(b *testing.B) {
	c, idx := benchCluster(b, 1000, 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Apply(c, idx+1, fence(2), time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}
