package meta

import (
	"maps"
	"time"
)

// DeletedTopic is the tombstone DeleteTopic leaves for a topic ID. Brokers
// delete a topic's partition files only when the metadata holds a
// tombstone for that exact topic ID: a topic that is merely absent from a
// snapshot (a metadata bug, a damaged entry, a snapshot older than the
// files) keeps its data on disk. Tombstones are never removed; each costs
// a few dozen bytes of metadata per deleted topic.
type DeletedTopic struct {
	Name string `json:"name"`
	// Version is the raft index of the DeleteTopic command.
	Version   uint64    `json:"version"`
	DeletedAt time.Time `json:"deleted_at"`
}

// TopicDeleted reports whether a DeleteTopic deleted the topic with this ID.
func (c *Cluster) TopicDeleted(id string) bool {
	_, ok := c.DeletedTopics[id]
	return ok && id != ""
}

// tombstone records that t was deleted by the command being applied.
func (a *applier) tombstone(t *Topic) {
	m := a.mut()
	m.DeletedTopics = maps.Clone(m.DeletedTopics)
	if m.DeletedTopics == nil {
		m.DeletedTopics = map[string]DeletedTopic{}
	}
	m.DeletedTopics[t.ID] = DeletedTopic{Name: t.Name, Version: a.index, DeletedAt: a.now}
}
