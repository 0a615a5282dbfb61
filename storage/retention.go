package storage

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Retention limits how much a log keeps. A limit <= 0 is disabled.
type Retention struct {
	// Ms: a batch whose newest record is older than Ms milliseconds is
	// removed (retention.ms).
	Ms int64
	// Bytes: head batches are removed while the log stays at or above Bytes
	// without them (retention.bytes, with Kafka's rounding to whole units).
	Bytes int64
}

// ApplyRetention removes whole batches from the head of the log that
// exceed r, and moves the log start offset past them. It stops at the
// first batch that is kept, and never removes a batch holding an offset at
// or past the high watermark. It returns the number of batches removed.
func (l *Log) ApplyRetention(now time.Time, r Retention) (int, error) {
	if r.Ms <= 0 && r.Bytes <= 0 {
		return 0, nil
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.isClosed.Load() {
		return 0, ErrClosed
	}
	hw, nowMs := l.hw.Load(), now.UnixMilli()
	start, size := l.start.Load(), l.size.Load()
	epochs := l.epochs.snapshot()
	var newEpochs []epochEntry
	removed := 0
	// Find the batches to remove in a read transaction first, so a sweep
	// that removes nothing writes (and syncs) nothing. Holding wmu keeps
	// the batches from changing in between.
	var doomed [][]byte
	err := l.view(func(tx *bolt.Tx) error {
		bb := tx.Bucket(bucketBatches)
		c := bb.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			// CRC-checked: a flipped bit in a header's timestamp or
			// length must not delete a batch retention would keep.
			h, err := checkedBatch(bb, k)
			if err != nil {
				return err
			}
			if h.end() > hw {
				break
			}
			old := r.Ms > 0 && nowMs-h.maxTS > r.Ms
			big := r.Bytes > 0 && size-int64(h.length) >= r.Bytes
			if !old && !big {
				break
			}
			doomed = append(doomed, bytes.Clone(k))
			size -= int64(h.length)
			start = h.end()
		}
		return nil
	})
	if err != nil || len(doomed) == 0 {
		if err != nil {
			err = fmt.Errorf("retention on %s: %w", l.path, err)
		}
		return 0, err
	}
	err = l.update(func(tx *bolt.Tx) error {
		bb := tx.Bucket(bucketBatches)
		for _, k := range doomed {
			if err := bb.DeleteBucket(k); err != nil {
				return fmt.Errorf("delete batch %x: %w", k, err)
			}
		}
		removed = len(doomed)
		newEpochs = truncateEpochsFromStart(epochs, start)
		if err := writeEpochs(tx, epochs, newEpochs); err != nil {
			return err
		}
		if err := trimTindexHead(tx, start); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(keyStart, sealed(keyStart, start)); err != nil {
			return err
		}
		return meta.Put(keySize, sealed(keySize, size))
	})
	if err != nil {
		return 0, fmt.Errorf("retention on %s: %w", l.path, l.wrapClosed(err))
	}
	if removed > 0 {
		l.start.Store(start)
		l.size.Store(size)
		l.epochs.set(newEpochs, &l.end, l.end.Load())
		l.log.Debug("retention removed batches", "batches", removed, "start", start)
	}
	return removed, nil
}

// trimTindexHead deletes time index entries for batches before start,
// keeping the newest of them: lookups clamp it to the log start, and it
// still bounds the timestamps of the batches that follow.
func trimTindexHead(tx *bolt.Tx, start int64) error {
	ti := tx.Bucket(bucketTindex)
	c := ti.Cursor()
	var below [][]byte
	for k, v := c.First(); k != nil; k, v = c.Next() {
		base, err := decodeSealed("time index entry", k, v)
		if err != nil {
			return err
		}
		if base >= start {
			break
		}
		below = append(below, bytes.Clone(k))
	}
	if len(below) < 2 {
		return nil
	}
	for _, k := range below[:len(below)-1] {
		if err := ti.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
