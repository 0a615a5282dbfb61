package groups

// offsetTable holds the latest committed position per group, topic and
// partition, indexed by group so that per-group questions (describe, list,
// delete, "has offsets") cost the size of the group, not of the table.
type offsetTable map[string]map[TopicPartition]Committed

func newOffsetTable(from map[OffsetKey]Committed) offsetTable {
	t := offsetTable{}
	for k, v := range from {
		t.set(k, v)
	}
	return t
}

func (t offsetTable) get(k OffsetKey) (Committed, bool) {
	v, ok := t[k.Group][TopicPartition{k.Topic, k.Partition}]
	return v, ok
}

func (t offsetTable) set(k OffsetKey, v Committed) {
	g, ok := t[k.Group]
	if !ok {
		g = map[TopicPartition]Committed{}
		t[k.Group] = g
	}
	g[TopicPartition{k.Topic, k.Partition}] = v
}

func (t offsetTable) del(k OffsetKey) {
	g := t[k.Group]
	delete(g, TopicPartition{k.Topic, k.Partition})
	if len(g) == 0 {
		delete(t, k.Group)
	}
}

// has reports whether the group has any committed position.
func (t offsetTable) has(group string) bool { return len(t[group]) > 0 }

// keys returns the group's positions as keys.
func (t offsetTable) keys(group string) []OffsetKey {
	out := make([]OffsetKey, 0, len(t[group]))
	for tp := range t[group] {
		out = append(out, OffsetKey{group, tp.Topic, tp.Partition})
	}
	return out
}
