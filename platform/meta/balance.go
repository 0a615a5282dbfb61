package meta

import "slices"

// Leader balance, as Kafka keeps it: a partition's preferred leader is its
// first replica, and topic creation spreads first replicas evenly, so
// leadership is balanced when every partition is led by its preferred
// replica. Failovers move leadership away (after a rolling restart one
// broker may lead nothing); a preferred-leader election moves it back.

// BrokerImbalance is one broker's share of the partitions it should lead
// but does not (Kafka's leader imbalance ratio per broker).
type BrokerImbalance struct {
	Broker NodeID `json:"broker"`
	// Preferred counts the partitions whose first replica is Broker.
	Preferred int `json:"preferred"`
	// NotLeading counts those of them another broker (or none) leads.
	NotLeading int `json:"not_leading"`
	// Leading counts every partition Broker leads now.
	Leading int `json:"leading"`
}

// Percent is NotLeading as a percentage of Preferred (0 without any).
func (b BrokerImbalance) Percent() float64 {
	if b.Preferred == 0 {
		return 0
	}
	return 100 * float64(b.NotLeading) / float64(b.Preferred)
}

// LeaderImbalance returns, for every broker that is the preferred leader
// of at least one partition or leads one, how many it should and does
// lead, sorted by broker id.
func LeaderImbalance(c *Cluster) []BrokerImbalance {
	by := map[NodeID]*BrokerImbalance{}
	get := func(id NodeID) *BrokerImbalance {
		b := by[id]
		if b == nil {
			b = &BrokerImbalance{Broker: id}
			by[id] = b
		}
		return b
	}
	for _, t := range c.Topics {
		for i := range t.Partitions {
			p := &t.Partitions[i]
			if len(p.Replicas) == 0 {
				continue
			}
			pref := get(p.Replicas[0])
			pref.Preferred++
			if p.Leader != p.Replicas[0] {
				pref.NotLeading++
			}
			if p.Leader != NoLeader {
				get(p.Leader).Leading++
			}
		}
	}
	out := make([]BrokerImbalance, 0, len(by))
	for _, b := range by {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b BrokerImbalance) int { return int(a.Broker) - int(b.Broker) })
	return out
}

// NotPreferred counts the partitions not led by their preferred replica.
func NotPreferred(c *Cluster) int {
	n := 0
	for _, b := range LeaderImbalance(c) {
		n += b.NotLeading
	}
	return n
}

// CanElectPreferred reports whether a preferred election would move p's
// leadership: the first replica does not lead, is alive and in the ISR.
func CanElectPreferred(c *Cluster, p *Partition) bool {
	if len(p.Replicas) == 0 {
		return false
	}
	pref := p.Replicas[0]
	b, ok := c.Brokers[pref]
	return p.Leader != pref && p.InISR(pref) && ok && b.Alive()
}

// PreferredElections is the automatic leader rebalance (Kafka's
// auto.leader.rebalance.enable): for every broker whose imbalance exceeds
// thresholdPercent, the partitions it prefers, does not lead and could
// lead now (CanElectPreferred). The commands come one per topic, topics
// in name order, partitions ascending; nil when nothing is due.
func PreferredElections(c *Cluster, thresholdPercent int) []ElectLeader {
	over := map[NodeID]bool{}
	for _, b := range LeaderImbalance(c) {
		if b.NotLeading > 0 && b.Percent() > float64(thresholdPercent) {
			over[b.Broker] = true
		}
	}
	if len(over) == 0 {
		return nil
	}
	var out []ElectLeader
	for _, name := range c.TopicNames() {
		t := c.Topics[name]
		var parts []int32
		for i := range t.Partitions {
			p := &t.Partitions[i]
			if len(p.Replicas) > 0 && over[p.Replicas[0]] && CanElectPreferred(c, p) {
				parts = append(parts, p.Index)
			}
		}
		if len(parts) > 0 {
			out = append(out, ElectLeader{Topic: name, Partitions: parts, Preferred: true})
		}
	}
	return out
}
