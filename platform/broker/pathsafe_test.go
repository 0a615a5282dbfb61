package broker

import (
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/platform/meta"
)

// TestTopicIDsNeverBecomePaths: metadata naming a topic whose id would
// make its directory a path outside the partitions directory (which Apply
// refuses, but the broker does not rely on that) opens nothing there;
// the other topics keep working.
func TestTopicIDsNeverBecomePaths(t *testing.T) {
	dir := t.TempDir()
	src := newMemSource(t, 1)
	src.propose(t, meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{Name: "good"}})
	b := startBroker(t, src, dir)

	src.mu.Lock()
	cur := src.cluster
	good := *cur.Topics["good"]
	evil := good
	evil.Name, evil.ID = "evil", "../../../escape"
	evil.Partitions = []meta.Partition{good.Partitions[0]}
	evil.Partitions[0].Topic = "evil"
	next := *cur
	next.Topics = maps.Clone(cur.Topics)
	next.Topics["evil"] = &evil
	src.index++
	next.Version = src.index
	src.cluster = &next
	src.mu.Unlock()
	src.changed.Notify()
	waitVersion(t, b, next.Version)

	for _, p := range []string{filepath.Join(dir, "escape"), filepath.Join(filepath.Dir(dir), "escape")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s exists (%v): a topic id became a path", p, err)
		}
	}
	if _, err := b.PartitionInfo("good", 0); err != nil {
		t.Fatalf("the good topic: %v", err)
	}
	if _, err := b.PartitionInfo("evil", 0); err == nil {
		t.Fatal("the topic with a path id was opened")
	}
}
