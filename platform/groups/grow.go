package groups

import (
	"context"
	"maps"
	"slices"
	"time"
)

// SetPartitions tells the group that topic now has n partitions. When n
// exceeds the count the group knew and members consume the topic, the
// group rebalances so the new partitions are assigned, and remembers them
// as added (see Added). A smaller or equal count changes nothing (Sluice
// topics only grow).
func (g *Group) SetPartitions(now time.Time, topic string, n int32) []Notice {
	old, known := g.partitions[topic]
	if !known || n <= old {
		return nil
	}
	if g.added == nil {
		g.added = map[TopicPartition]bool{}
	}
	for p := old; p < n; p++ {
		g.added[TopicPartition{topic, p}] = true
	}
	g.partitions[topic] = n
	for _, m := range g.members {
		if m.topic == topic {
			return g.rebalance(now)
		}
	}
	return nil
}

// Added reports whether tp was created while the group consumed its topic
// (the group learnt of it through SetPartitions). A member with no
// committed offset for such a partition starts at its log start, whatever
// its reset position: every record written to it since its creation is
// newer than the member's join.
func (g *Group) Added(tp TopicPartition) bool { return g.added[tp] }

// topicsConsumed returns the topics the group's members consume. Caller
// holds c.mu.
func (g *Group) topicsConsumed() []string {
	set := map[string]bool{}
	for _, m := range g.members {
		set[m.topic] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// PartitionAdded reports whether a partition of topic was created while
// the group consumed the topic (Group.Added).
func (c *Coordinator) PartitionAdded(group, topic string, p int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.groups[group]
	return ok && e.group.Added(TopicPartition{topic, p})
}

// metadataLoop checks, every Config.MetadataRefresh, the partition count
// of every topic that members consume and rebalances groups whose topic
// grew.
func (c *Coordinator) metadataLoop() {
	defer c.stopped.Done()
	for {
		select {
		case <-c.stop:
			return
		case <-c.cfg.Clock.After(c.cfg.MetadataRefresh):
		}
		c.refreshPartitions()
	}
}

func (c *Coordinator) refreshPartitions() {
	c.mu.Lock()
	byTopic := map[string][]string{}
	for name, e := range c.groups {
		for _, t := range e.group.topicsConsumed() {
			byTopic[t] = append(byTopic[t], name)
		}
	}
	c.mu.Unlock()
	for _, topic := range slices.Sorted(maps.Keys(byTopic)) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		n, err := c.cfg.Log.Partitions(ctx, topic)
		cancel()
		if err != nil {
			continue // deleted or unreachable: members learn of it by their fetches
		}
		for _, name := range byTopic[topic] {
			e := c.lockGroup(name)
			if !c.closed {
				before := e.group.Generation()
				ns := e.group.SetPartitions(c.cfg.Clock.Now(), topic, n)
				c.deliver(e, ns)
				if e.group.Generation() != before {
					c.cfg.Logger.Info("group rebalanced: topic gained partitions",
						"group", name, "topic", topic, "partitions", n, "generation", e.group.Generation())
					c.poke()
				}
			}
			c.mu.Unlock()
			e.commitMu.Unlock()
		}
	}
}
