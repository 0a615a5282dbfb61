package platform

import (
	"testing"

	"github.com/sluicehq/sluice/platform/meta"
)

// TestCountClusterLeaderImbalance: a partition led by a replica other than
// its first counts as not_preferred_leader; an offline partition does not.
func TestCountClusterLeaderImbalance(t *testing.T) {
	c := &meta.Cluster{Topics: map[string]*meta.Topic{"a": {Name: "a", Config: meta.TopicConfig{MinInsyncReplicas: 2},
		Partitions: []meta.Partition{
			{Index: 0, Replicas: []meta.NodeID{1, 2, 3}, Leader: 1, ISR: []meta.NodeID{1, 2, 3}},
			{Index: 1, Replicas: []meta.NodeID{2, 3, 1}, Leader: 3, ISR: []meta.NodeID{3, 1}},
			{Index: 2, Replicas: []meta.NodeID{3, 1, 2}, Leader: meta.NoLeader, ISR: []meta.NodeID{}},
		}}}}
	got := countCluster(c)
	want := clusterCounts{total: 3, offline: 1, underReplicated: 2, underMinISR: 1, notPreferred: 1}
	if got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
}
