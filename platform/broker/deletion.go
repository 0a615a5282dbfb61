package broker

import (
	"strings"

	"github.com/sluicehq/sluice/platform/meta"
)

// Partition data is deleted only because a verified command said so. The
// metadata the broker follows is checksummed end to end (raft entries and
// snapshots, see platform/controller), and a DeleteTopic leaves a tombstone
// for the topic's ID (meta.Cluster.DeletedTopics). A topic directory is
// removed only when the metadata holds the tombstone of that exact topic ID;
// a topic that is absent from the metadata without one (a name that no
// longer matches, a snapshot that lacks it) is closed and its files stay,
// with a warning in the log.

// dropTopic closes a topic that is gone from c and deletes its files if c
// says a DeleteTopic deleted its ID.
func (b *Broker) dropTopic(t *topic, c *meta.Cluster) error {
	if c.TopicDeleted(t.meta.ID) {
		return b.removeTopic(t)
	}
	var parts []*partition
	for _, p := range t.parts {
		if p != nil {
			parts = append(parts, p)
		}
	}
	b.log.Warn("topic absent from the metadata without a DeleteTopic: replicas closed, files kept",
		"topic", t.meta.Name, "id", t.meta.ID, "dir", t.dir, "version", c.Version)
	return closeParallel(parts, b.cfg.OpenConcurrency)
}

// deletedDir reports whether the topic directory name (topicDir: name, a
// dash, the topic ID) belongs to a topic ID that c says was deleted.
func deletedDir(name string, c *meta.Cluster) bool {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return false
	}
	return c.TopicDeleted(name[i+1:])
}
