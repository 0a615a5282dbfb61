package broker

import (
	"context"
	"errors"
	"maps"
	"os"
	"testing"

	"github.com/sluicehq/sluice/platform/meta"
)

// dropWithoutDelete publishes a newer snapshot that lacks the topic, as a
// damaged or buggy metadata could, without a DeleteTopic (no tombstone).
func (s *memSource) dropWithoutDelete(t *testing.T, name string) uint64 {
	t.Helper()
	s.mu.Lock()
	n := *s.cluster
	n.Topics = maps.Clone(n.Topics)
	delete(n.Topics, name)
	s.index++
	n.Version = s.index
	s.cluster = &n
	s.mu.Unlock()
	s.changed.Notify()
	return n.Version
}

// TestTopicMissingFromMetadataKeepsItsFiles: a topic that disappears from
// the metadata without a DeleteTopic (live, and on a restart's sweep) is
// closed but its files stay; when the metadata has it again, its records
// are all there. Only a DeleteTopic's tombstone deletes files.
func TestTopicMissingFromMetadataKeepsItsFiles(t *testing.T) {
	src := newMemSource(t, 1)
	dir := t.TempDir()
	b := startBroker(t, src, dir)
	waitVersion(t, b, src.createTopic(t, "orders", 2, nil))
	produce(t, b, "orders", keyed(40, "o"), AcksAll)
	tdir := b.lookupDir(t, "orders")
	full := src.Metadata()

	// Live: the topic vanishes from a newer snapshot.
	waitVersion(t, b, src.dropWithoutDelete(t, "orders"))
	if _, err := os.Stat(tdir); err != nil {
		t.Fatalf("files of a topic missing from metadata (not deleted): %v", err)
	}
	if _, err := b.Produce(context.Background(), ProduceRequest{Topic: "orders", Records: keyed(1, "x"), Acks: AcksLeader}, nil); !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("produce to a topic the metadata lacks: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart: the start-up sweep of orphan directories keeps it too.
	b = startBroker(t, src, dir)
	if _, err := os.Stat(tdir); err != nil {
		t.Fatalf("files swept at start although no DeleteTopic deleted the topic: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	// The metadata has the topic again (same ID): every record is there.
	src.mu.Lock()
	n := *full
	src.index++
	n.Version = src.index
	src.cluster = &n
	src.mu.Unlock()
	b = startBroker(t, src, dir)
	waitVersion(t, b, n.Version)
	got := len(fetchAll(t, b, "orders", 0)) + len(fetchAll(t, b, "orders", 1))
	if got != 40 {
		t.Fatalf("%d records after the topic came back, want 40", got)
	}

	// A DeleteTopic (tombstone for this ID) deletes the files.
	waitVersion(t, b, src.propose(t, meta.Command{Op: meta.OpDeleteTopic, DeleteTopic: &meta.DeleteTopic{Name: "orders"}}))
	if !src.Metadata().TopicDeleted(full.Topics["orders"].ID) {
		t.Fatal("DeleteTopic left no tombstone")
	}
	if _, err := os.Stat(tdir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("deleted topic's files: %v, want them gone", err)
	}
}
