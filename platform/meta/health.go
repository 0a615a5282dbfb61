package meta

// PartitionRef names one partition.
type PartitionRef struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

// PartitionHealth sorts the partitions an operator must look at: offline
// ones have no leader (nothing can be produced or consumed), under-replicated
// ones have fewer in-sync replicas than assigned replicas (fewer failures
// away from losing acknowledged writes), and those under min.insync.replicas
// refuse acks=all writes. Lists are in topic and partition order.
type PartitionHealth struct {
	Partitions      int            `json:"partitions"`
	Offline         []PartitionRef `json:"offline"`
	UnderReplicated []PartitionRef `json:"under_replicated"`
	UnderMinISR     []PartitionRef `json:"under_min_isr"`
	// NotPreferredLeader counts partitions led by another replica than
	// their first (see LeaderImbalance).
	NotPreferredLeader int `json:"not_preferred_leader"`
}

// Healthy reports whether no partition is offline or under-replicated.
func (h PartitionHealth) Healthy() bool {
	return len(h.Offline) == 0 && len(h.UnderReplicated) == 0
}

// Health computes the partition health of c. During a reassignment a
// partition counts as under-replicated only when its ISR is smaller than
// its target replica set (the replicas being added are not in the ISR
// until they have caught up).
func Health(c *Cluster) PartitionHealth {
	h := PartitionHealth{Offline: []PartitionRef{}, UnderReplicated: []PartitionRef{}, UnderMinISR: []PartitionRef{}}
	for _, name := range c.TopicNames() {
		t := c.Topics[name]
		for i := range t.Partitions {
			p := &t.Partitions[i]
			h.Partitions++
			ref := PartitionRef{Topic: name, Partition: p.Index}
			if p.Leader == NoLeader {
				h.Offline = append(h.Offline, ref)
			}
			if len(p.ISR) < len(p.Replicas)-len(p.AddingReplicas) {
				h.UnderReplicated = append(h.UnderReplicated, ref)
			}
			if p.Leader != NoLeader && len(p.ISR) < t.Config.MinInsyncReplicas {
				h.UnderMinISR = append(h.UnderMinISR, ref)
			}
			if len(p.Replicas) > 0 && p.Leader != p.Replicas[0] {
				h.NotPreferredLeader++
			}
		}
	}
	return h
}
