package storage

import (
	"encoding/binary"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// UndefinedEpoch and UndefinedOffset are returned by EndOffsetForEpoch when
// the log knows no answer (Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET).
const (
	UndefinedEpoch  int32 = -1
	UndefinedOffset int64 = -1
)

// epochEntry says that batches of leader epoch Epoch start at StartOffset.
type epochEntry struct {
	Epoch       int32
	StartOffset int64
}

// epochCache is the in-memory copy of the "epochs" bucket: entries sorted by
// epoch, with non-decreasing start offsets. A log holds few entries (one per
// leadership change it saw), so a slice is enough.
type epochCache struct {
	mu      sync.RWMutex
	entries []epochEntry
}

func (c *epochCache) latest() int32 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.entries) == 0 {
		return UndefinedEpoch
	}
	return c.entries[len(c.entries)-1].Epoch
}

func (c *epochCache) snapshot() []epochEntry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]epochEntry(nil), c.entries...)
}

// set publishes entries (never modified afterwards) together with the
// log end offset, so EndOffsetForEpoch reads a matching pair.
func (c *epochCache) set(entries []epochEntry, end *atomic.Int64, endOff int64) {
	c.mu.Lock()
	c.entries = entries
	end.Store(endOff)
	c.mu.Unlock()
}

// withEnd returns the entries and the log end offset published with them.
func (c *epochCache) withEnd(end *atomic.Int64) ([]epochEntry, int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.entries, end.Load()
}

// assign returns entries after a batch of epoch e starting at off is
// appended, or ErrStaleEpoch if e is older than the latest epoch.
func assignEpoch(entries []epochEntry, e int32, off int64) ([]epochEntry, bool, error) {
	if n := len(entries); n > 0 {
		last := entries[n-1]
		if e < last.Epoch {
			return nil, false, fmt.Errorf("batch at offset %d has epoch %d, log is at epoch %d: %w", off, e, last.Epoch, ErrStaleEpoch)
		}
		if e == last.Epoch {
			return entries, false, nil
		}
	}
	return append(entries, epochEntry{Epoch: e, StartOffset: off}), true, nil
}

// truncateEpochsTo drops entries that start at or after end.
func truncateEpochsTo(entries []epochEntry, end int64) []epochEntry {
	i := sort.Search(len(entries), func(i int) bool { return entries[i].StartOffset >= end })
	return entries[:i:i]
}

// truncateEpochsFromStart drops entries wholly before start; the entry that
// covers start is moved to start (Kafka's truncateFromStart).
func truncateEpochsFromStart(entries []epochEntry, start int64) []epochEntry {
	i := sort.Search(len(entries), func(i int) bool { return entries[i].StartOffset > start })
	if i == 0 {
		return entries
	}
	out := append([]epochEntry{{Epoch: entries[i-1].Epoch, StartOffset: start}}, entries[i:]...)
	return out
}

// EndOffsetForEpoch answers a follower's OffsetsForLeaderEpoch request
// (KIP-101, KIP-279): it returns the largest epoch in the cache that is <=
// epoch and the end offset of that epoch, i.e. the start offset of the next
// epoch, or EndOffset if it is the latest. If epoch is older than every
// cached epoch, it returns epoch and the start offset of the oldest entry
// (as Kafka does: nothing before it is known to match). An empty cache or a
// negative epoch yields UndefinedEpoch, UndefinedOffset.
func (l *Log) EndOffsetForEpoch(epoch int32) (int32, int64, error) {
	if l.isClosed.Load() {
		return UndefinedEpoch, UndefinedOffset, ErrClosed
	}
	entries, end := l.epochs.withEnd(&l.end)
	if epoch < 0 || len(entries) == 0 {
		return UndefinedEpoch, UndefinedOffset, nil
	}
	// First entry with Epoch > epoch.
	i := sort.Search(len(entries), func(i int) bool { return entries[i].Epoch > epoch })
	switch {
	case i == 0:
		return epoch, entries[0].StartOffset, nil
	case i == len(entries):
		return entries[i-1].Epoch, end, nil
	default:
		return entries[i-1].Epoch, entries[i].StartOffset, nil
	}
}

// EpochEntries returns a copy of the leader-epoch cache as (epoch, start
// offset) pairs in epoch order, for diagnostics and tests.
func (l *Log) EpochEntries() [][2]int64 {
	entries := l.epochs.snapshot()
	out := make([][2]int64, len(entries))
	for i, e := range entries {
		out[i] = [2]int64{int64(e.Epoch), e.StartOffset}
	}
	return out
}

// writeEpochs replaces the "epochs" bucket contents with entries, touching
// only keys that changed.
func writeEpochs(tx *bolt.Tx, old, entries []epochEntry) error {
	b := tx.Bucket(bucketEpochs)
	keep := make(map[int32]int64, len(entries))
	for _, e := range entries {
		keep[e.Epoch] = e.StartOffset
	}
	for _, e := range old {
		if _, ok := keep[e.Epoch]; !ok {
			if err := b.Delete(epochKey(e.Epoch)); err != nil {
				return err
			}
		}
	}
	oldAt := make(map[int32]int64, len(old))
	for _, e := range old {
		oldAt[e.Epoch] = e.StartOffset
	}
	for _, e := range entries {
		if s, ok := oldAt[e.Epoch]; ok && s == e.StartOffset {
			continue
		}
		if err := b.Put(epochKey(e.Epoch), sealed(epochKey(e.Epoch), e.StartOffset)); err != nil {
			return err
		}
	}
	return nil
}

// loadEpochs reads and checks the "epochs" bucket.
func loadEpochs(tx *bolt.Tx) ([]epochEntry, error) {
	var entries []epochEntry
	err := tx.Bucket(bucketEpochs).ForEach(func(k, v []byte) error {
		if len(k) != 4 {
			return fmt.Errorf("%w: epoch cache key of %d bytes", ErrCorrupt, len(k))
		}
		start, err := decodeSealed(fmt.Sprintf("epoch cache entry %x", k), k, v)
		if err != nil {
			return err
		}
		e := epochEntry{Epoch: int32(binary.BigEndian.Uint32(k)), StartOffset: start}
		if e.Epoch < 0 {
			return fmt.Errorf("%w: negative epoch %d in epoch cache", ErrCorrupt, e.Epoch)
		}
		if n := len(entries); n > 0 && entries[n-1].StartOffset > e.StartOffset {
			return fmt.Errorf("%w: epoch %d starts at %d, before epoch %d at %d", ErrCorrupt, e.Epoch, e.StartOffset, entries[n-1].Epoch, entries[n-1].StartOffset)
		}
		entries = append(entries, e)
		return nil
	})
	return entries, err
}
