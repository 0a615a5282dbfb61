package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// TruncateTo removes the tail of the log from offset off on, as a follower
// does after a leader change (KIP-101). Batches are never split: a batch
// that straddles off (base < off <= last) is removed whole, so afterwards
// EndOffset() is the largest batch boundary <= off and the follower fetches
// again from there. Epoch cache entries starting at or after the new end
// are dropped, and the high watermark is lowered to the new end if needed.
// off >= EndOffset is a no-op; off < StartOffset fails with
// ErrOffsetOutOfRange.
func (l *Log) TruncateTo(off int64) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.isClosed.Load() {
		return ErrClosed
	}
	start, end := l.start.Load(), l.end.Load()
	if off >= end {
		return nil
	}
	if off < start {
		return fmt.Errorf("truncate %s to %d (log %d..%d): %w", l.path, off, start, end, ErrOffsetOutOfRange)
	}
	newEnd, size := off, l.size.Load()
	epochs := l.epochs.snapshot()
	var newEpochs []epochEntry
	var maxTS int64
	var hasMaxTS bool
	err := l.update(func(tx *bolt.Tx) error {
		bb := tx.Bucket(bucketBatches)
		c := bb.Cursor()
		k, _ := seekContaining(c, off)
		if k == nil {
			return fmt.Errorf("%w: no batch holds offset %d", ErrCorrupt, off)
		}
		var doomed [][]byte
		for ; k != nil; k, _ = c.Next() {
			doomed = append(doomed, bytes.Clone(k))
		}
		newEnd = int64(binary.BigEndian.Uint64(doomed[0]))
		for _, k := range doomed {
			h, err := checkedBatch(bb, k)
			if err != nil {
				return err
			}
			size -= int64(h.length)
			if err := bb.DeleteBucket(k); err != nil {
				return fmt.Errorf("delete batch %x: %w", k, err)
			}
		}
		newEpochs = truncateEpochsTo(epochs, newEnd)
		if err := writeEpochs(tx, epochs, newEpochs); err != nil {
			return err
		}
		var err error
		if maxTS, hasMaxTS, err = truncateTindexTo(tx, newEnd); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if l.hw.Load() > newEnd {
			if err := meta.Put(keyHW, sealed(keyHW, newEnd)); err != nil {
				return err
			}
		}
		if err := meta.Put(keyEnd, sealed(keyEnd, newEnd)); err != nil {
			return err
		}
		return meta.Put(keySize, sealed(keySize, size))
	})
	if err != nil {
		return fmt.Errorf("truncate %s to %d: %w", l.path, off, l.wrapClosed(err))
	}
	l.hwMu.Lock()
	l.epochs.set(newEpochs, &l.end, newEnd)
	if l.hw.Load() > newEnd {
		l.hw.Store(newEnd)
	}
	l.hwMu.Unlock()
	l.size.Store(size)
	l.maxTS, l.hasMaxTS = maxTS, hasMaxTS
	l.log.Debug("truncated", "to", off, "end", newEnd)
	return nil
}

// truncateTindexTo deletes time index entries for batches at or after end
// and returns the remaining running maximum.
func truncateTindexTo(tx *bolt.Tx, end int64) (int64, bool, error) {
	ti := tx.Bucket(bucketTindex)
	c := ti.Cursor()
	var doomed [][]byte
	k, v := c.Last()
	for ; k != nil; k, v = c.Prev() {
		base, err := decodeSealed("time index entry", k, v)
		if err != nil {
			return 0, false, err
		}
		if base < end {
			break
		}
		doomed = append(doomed, bytes.Clone(k))
	}
	var maxTS int64
	has := k != nil
	if has {
		maxTS = tsFromKey(k)
	}
	for _, k := range doomed {
		if err := ti.Delete(k); err != nil {
			return 0, false, err
		}
	}
	return maxTS, has, nil
}

// TruncateFullyAndStartAt empties the log and restarts it at offset off:
// start, end and high watermark all become off, and the epoch cache and
// time index are cleared. A follower uses it when the leader's log starts
// past the follower's end (Kafka's truncateFullyAndStartAt).
func (l *Log) TruncateFullyAndStartAt(off int64) error {
	if off < 0 {
		return fmt.Errorf("restart %s at %d: negative offset: %w", l.path, off, ErrOffsetOutOfRange)
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.isClosed.Load() {
		return ErrClosed
	}
	err := l.update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketBatches, bucketEpochs, bucketTindex} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		for _, k := range [][]byte{keyStart, keyEnd, keyHW} {
			if err := meta.Put(k, sealed(k, off)); err != nil {
				return err
			}
		}
		return meta.Put(keySize, sealed(keySize, 0))
	})
	if err != nil {
		return fmt.Errorf("restart %s at %d: %w", l.path, off, l.wrapClosed(err))
	}
	l.hwMu.Lock()
	l.start.Store(off)
	l.epochs.set(nil, &l.end, off)
	l.hw.Store(off)
	l.hwMu.Unlock()
	l.size.Store(0)
	l.maxTS, l.hasMaxTS = 0, false
	return nil
}
