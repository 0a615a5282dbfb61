package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ReadRaw appends to dst the stored bytes of whole batches from the one
// holding offset from on, below maxOffset, up to about maxBytes (at least
// one batch when there is one), and returns dst and the batches as slices
// of it: one copy out of the file into a buffer the caller reuses, for a
// leader that sends batches to its followers as they are. Offsets are
// checked as Read checks them; each batch's framing and CRC are checked,
// its records are not decoded (a follower's AppendReplica checks the same
// again). The batches stay valid until dst is reused.
func (l *Log) ReadRaw(dst []byte, from int64, maxBytes int, maxOffset int64) ([]byte, [][]byte, error) {
	start := len(dst)
	var ends []int
	err := l.view(func(tx *bolt.Tx) error {
		s, err := readState(tx)
		if err != nil {
			return err
		}
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
			if len(ends) > 0 && used+len(raw) > maxBytes {
				break
			}
			h, err := parseHeader(raw)
			if err == nil {
				err = checkCRC(raw)
			}
			if err != nil {
				return fmt.Errorf("batch %d: %w", int64(binary.BigEndian.Uint64(k)), err)
			}
			if !bytes.Equal(k, u64key(h.base)) {
				return fmt.Errorf("%w: batch under key %x has base offset %d", ErrCorrupt, k, h.base)
			}
			if len(ends) == 0 && h.end() <= from {
				return fmt.Errorf("%w: batch %d..%d does not reach offset %d below log end %d", ErrCorrupt, h.base, h.end()-1, from, s.end)
			}
			dst = append(dst, raw...)
			ends = append(ends, len(dst))
			used += len(raw)
		}
		return nil
	})
	if err != nil {
		return dst[:start], nil, fmt.Errorf("read %s from %d: %w", l.path, from, err)
	}
	batches := make([][]byte, len(ends))
	at := start
	for i, e := range ends {
		batches[i] = dst[at:e:e]
		at = e
	}
	return dst, batches, nil
}
