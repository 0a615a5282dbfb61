package broker

import (
	"fmt"

	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/storage"
)

// MaxShareBytes bounds the records of one produce request that go to one
// partition: the storage log appends a request's share of a partition as
// one batch, and refuses a batch over storage.DefaultMaxBatchBytes. The
// broker checks an upper bound of the encoded size (shareBound) before
// anything is written, so such a request is refused as a whole
// (ErrRecordTooLarge, 413) rather than answered with every record of that
// partition failed.
const MaxShareBytes = storage.DefaultMaxBatchBytes

// Bounds of the encoding's overhead above Record.Size: per record (offset
// and timestamp deltas, lengths, header count: varints of at most 10
// bytes), per header (two lengths), per batch (the header of the newest
// batch format).
const (
	recordOverheadBound = 64
	headerOverheadBound = 20
	batchOverheadBound  = 128
)

// validateRecords is the one check of produced records every entry point
// runs (HTTP produce, forwarded produce, WebSocket produce): each record's
// timestamp is >= 0 (0: stamped on append) and its size within the topic's
// max.message.bytes. The first bad record fails the request, named by its
// index.
func validateRecords(topic string, recs []record.Record, maxMessageBytes int) error {
	for i := range recs {
		if ts := recs[i].Timestamp; ts < 0 {
			return &RecordError{Index: i, Err: fmt.Errorf("timestamp %d: want milliseconds >= 0 (0 or absent: the append time): %w", ts, ErrInvalidRequest)}
		}
		if n := recs[i].Size(); n > maxMessageBytes {
			return &RecordError{Index: i, Err: fmt.Errorf("%d bytes, topic %s allows %d (max.message.bytes): %w",
				n, topic, maxMessageBytes, ErrRecordTooLarge)}
		}
	}
	return nil
}

// recordBound is an upper bound of r's encoded size in a batch.
func recordBound(r *record.Record) int {
	return r.Size() + recordOverheadBound + headerOverheadBound*len(r.Headers)
}

// checkShares refuses a request whose share of some partition could not
// be appended as one batch; parts[i] is record i's partition.
func checkShares(topic string, recs []record.Record, parts []int32) error {
	total := batchOverheadBound
	for i := range recs {
		total += recordBound(&recs[i])
	}
	if total <= MaxShareBytes {
		return nil // no share can be larger than the whole (the usual case: no allocation)
	}
	sizes := make(map[int32]int, 4)
	for i := range recs {
		sizes[parts[i]] += recordBound(&recs[i])
	}
	for p, n := range sizes {
		if n+batchOverheadBound > MaxShareBytes {
			return fmt.Errorf("topic %s partition %d: the request's records for it need up to %d bytes, more than the %d a partition takes per request; send them in smaller requests: %w",
				topic, p, n+batchOverheadBound, MaxShareBytes, ErrRecordTooLarge)
		}
	}
	return nil
}

// checkShare is checkShares for a request to one partition.
func checkShare(topic string, p int32, recs []record.Record) error {
	n := batchOverheadBound
	for i := range recs {
		n += recordBound(&recs[i])
	}
	if n > MaxShareBytes {
		return fmt.Errorf("topic %s partition %d: the request's records need up to %d bytes, more than the %d a partition takes per request; send them in smaller requests: %w",
			topic, p, n, MaxShareBytes, ErrRecordTooLarge)
	}
	return nil
}
