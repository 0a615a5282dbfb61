package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ReadResult is the answer to Read: whole batches and the log's bounds as
// of the read.
type ReadResult struct {
	Batches       []Batch
	LogStart      int64
	LogEnd        int64
	HighWatermark int64
}

// Read returns whole batches starting with the one that contains from, in
// offset order, while their total size stays within maxBytes and their base
// offset is below maxOffset (an exclusive bound: pass the high watermark to
// stop a consumer there; a batch straddling it is returned whole, so the
// caller drops records at or past it). The first batch is returned even if
// it is larger than maxBytes, as Kafka does, so a consumer always makes
// progress.
//
// from below StartOffset or above EndOffset fails with an error wrapping
// ErrOffsetOutOfRange; from == EndOffset (or from >= maxOffset) gives no
// batches and no error. Every batch is CRC-checked and fully decoded; a
// damaged one fails the read with ErrCorrupt. The returned bytes are copies
// owned by the caller.
func (l *Log) Read(from int64, maxBytes int, maxOffset int64) (ReadResult, error) {
	var res ReadResult
	err := l.view(func(tx *bolt.Tx) error {
		s, err := readState(tx)
		if err != nil {
			return err
		}
		res.LogStart, res.LogEnd = s.start, s.end
		res.HighWatermark = min(l.hw.Load(), s.end)
		if from < s.start || from > s.end {
			return fmt.Errorf("offset %d outside log %d..%d: %w", from, s.start, s.end, ErrOffsetOutOfRange)
		}
		if from == s.end || from >= maxOffset {
			return nil
		}
		bb := tx.Bucket(bucketBatches)
		c := bb.Cursor()
		k, _ := seekContaining(c, from)
		if k == nil {
			return fmt.Errorf("%w: no batch holds offset %d in log %d..%d", ErrCorrupt, from, s.start, s.end)
		}
		used := 0
		for ; k != nil; k, _ = c.Next() {
			if int64(binary.BigEndian.Uint64(k)) >= maxOffset {
				break
			}
			raw, err := getBatch(bb, k)
			if err != nil {
				return err
			}
			if raw == nil {
				return fmt.Errorf("%w: key %x in batches is not a batch", ErrCorrupt, k)
			}
			if len(res.Batches) > 0 && used+len(raw) > maxBytes {
				break
			}
			b, err := DecodeBatch(bytes.Clone(raw))
			if err != nil {
				return fmt.Errorf("batch %d: %w", int64(binary.BigEndian.Uint64(k)), err)
			}
			if !bytes.Equal(k, u64key(b.BaseOffset)) {
				return fmt.Errorf("%w: batch under key %x has base offset %d", ErrCorrupt, k, b.BaseOffset)
			}
			if len(res.Batches) == 0 && b.LastOffset < from {
				return fmt.Errorf("%w: batch %d..%d does not reach offset %d below log end %d", ErrCorrupt, b.BaseOffset, b.LastOffset, from, s.end)
			}
			res.Batches = append(res.Batches, b)
			used += len(raw)
		}
		return nil
	})
	if err != nil {
		return ReadResult{}, fmt.Errorf("read %s from %d: %w", l.path, from, err)
	}
	return res, nil
}

// seekContaining positions c on the batch whose base offset is the largest
// one <= off (the batch that contains off, if off is in the log).
func seekContaining(c *bolt.Cursor, off int64) ([]byte, []byte) {
	k, v := c.Seek(u64key(off))
	if k != nil && bytes.Equal(k, u64key(off)) {
		return k, v
	}
	if k == nil {
		return c.Last()
	}
	return c.Prev()
}

// OffsetForTimestamp returns the first offset whose record timestamp is >=
// ts, or EndOffset if there is none (Kafka's ListOffsets by timestamp). It
// seeks the time index, which records where the running maximum timestamp
// rose, then scans forward from there.
func (l *Log) OffsetForTimestamp(ts int64) (int64, error) {
	var off int64
	err := l.view(func(tx *bolt.Tx) error {
		s, err := readState(tx)
		if err != nil {
			return err
		}
		off = s.end
		k, v := tx.Bucket(bucketTindex).Cursor().Seek(tsKey(ts))
		if k == nil {
			return nil // every timestamp in the log is < ts
		}
		from, err := decodeSealed("time index entry", k, v)
		if err != nil {
			return err
		}
		from = max(from, s.start)
		bb := tx.Bucket(bucketBatches)
		c := bb.Cursor()
		for k, _ := seekContaining(c, from); k != nil; k, _ = c.Next() {
			raw, err := getBatch(bb, k)
			if err != nil {
				return err
			}
			if raw == nil {
				return fmt.Errorf("%w: key %x in batches is not a batch", ErrCorrupt, k)
			}
			h, err := parseHeader(raw)
			if err != nil {
				return err
			}
			if h.maxTS < ts || h.end() <= from {
				continue
			}
			b, err := DecodeBatch(raw)
			if err != nil {
				return fmt.Errorf("batch %d: %w", h.base, err)
			}
			for _, r := range b.Records {
				if r.Offset >= from && r.Timestamp >= ts {
					off = r.Offset
					return nil
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("offset for timestamp %d in %s: %w", ts, l.path, err)
	}
	return off, nil
}
