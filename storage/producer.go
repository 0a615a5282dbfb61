package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/sluicehq/sluice/record"
)

// NoProducer is the Producer.ID of a batch written without an idempotent
// producer.
const NoProducer int64 = -1

// Producer names the idempotent producer request a batch belongs to. It
// is stored in the batch header (magic 2, see batch.go and
// docs/storage.md), so it travels with the batch to every follower and
// survives restarts: a new leader rebuilds its producer state from the
// log. Storage only keeps it; the rules that use it (duplicates, order)
// live in the broker.
type Producer struct {
	// ID is the producer's id (>= 0), NoProducer for none.
	ID int64
	// Epoch is the producer's epoch (>= 0).
	Epoch int16
	// BaseSequence and LastSequence are the sequences of the first and
	// last record of the producer's request (its records spread over
	// the topic's partitions, so this batch may hold only some of them).
	BaseSequence int64
	LastSequence int64
}

func (p Producer) check() error {
	switch {
	case p.ID < 0:
		return fmt.Errorf("producer id %d: want >= 0", p.ID)
	case p.Epoch < 0:
		return fmt.Errorf("producer %d: epoch %d: want >= 0", p.ID, p.Epoch)
	case p.BaseSequence < 0 || p.LastSequence < p.BaseSequence:
		return fmt.Errorf("producer %d: sequences %d..%d: want 0 <= base <= last", p.ID, p.BaseSequence, p.LastSequence)
	}
	return nil
}

// errBadProducer marks an AppendAs call with invalid producer fields.
var errBadProducer = errors.New("invalid producer")

// AppendAs is Append for a batch written by an idempotent producer: the
// producer's id, epoch and sequences are stored in the batch header
// (magic 2). prod.ID NoProducer makes it exactly Append.
func (l *Log) AppendAs(ctx context.Context, recs []record.Record, leaderEpoch int32, prod Producer) (int64, error) {
	if prod.ID != NoProducer {
		if err := prod.check(); err != nil {
			return 0, fmt.Errorf("append to %s: %w: %w", l.path, errBadProducer, err)
		}
	}
	return l.appendAs(ctx, recs, leaderEpoch, prod)
}

// BatchProducer reads the producer of a stored batch from its header
// (framing checked, CRC not: the caller read it through Read, which
// verified it).
func BatchProducer(raw []byte) (Producer, error) {
	h, err := parseHeader(raw)
	if err != nil {
		return Producer{}, err
	}
	return h.prod, nil
}

// ScanProducers calls fn, in offset order, for every batch written by an
// idempotent producer (magic 2) among the batches from the one containing
// from up to the first at or past to: its base offset, record count and
// producer. Only headers are read (framing and CRC checked, records not
// decoded), so a new leader rebuilds its producer state quickly. A from
// outside the log is ErrOffsetOutOfRange; fn's error stops the scan and
// is returned.
func (l *Log) ScanProducers(from, to int64, fn func(base int64, count int32, p Producer) error) error {
	err := l.view(func(tx *bolt.Tx) error {
		s, err := readState(tx)
		if err != nil {
			return err
		}
		if from < s.start || from > s.end {
			return fmt.Errorf("offset %d outside log %d..%d: %w", from, s.start, s.end, ErrOffsetOutOfRange)
		}
		if from == s.end || from >= to {
			return nil
		}
		bb := tx.Bucket(bucketBatches)
		c := bb.Cursor()
		for k, _ := seekContaining(c, from); k != nil; k, _ = c.Next() {
			if int64(binary.BigEndian.Uint64(k)) >= to {
				break
			}
			raw, err := getBatch(bb, k)
			if err != nil {
				return err
			}
			if raw == nil {
				return fmt.Errorf("%w: key %x in batches is not a batch", ErrCorrupt, k)
			}
			h, err := parseHeader(raw)
			if err != nil {
				return fmt.Errorf("batch %d: %w", int64(binary.BigEndian.Uint64(k)), err)
			}
			if h.prod.ID == NoProducer {
				continue
			}
			if err := checkCRC(raw); err != nil {
				return fmt.Errorf("batch %d: %w", h.base, err)
			}
			if err := fn(h.base, h.count, h.prod); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan producers of %s from %d: %w", l.path, from, err)
	}
	return nil
}
