package storage

import (
	"context"
	"fmt"
	"math"

	"github.com/sluicehq/sluice/record"
)

// appendReq is one Append or AppendReplica call waiting for the committer.
type appendReq struct {
	ctx     context.Context
	raws    [][]byte // encoded batches; an Append's single batch is stamped by the committer
	heads   []header // parsed headers of raws (base offsets unset for Append)
	replica bool
	bytes   int

	base int64 // result: base offset of the first batch
	err  error
	done chan struct{}
}

// Append appends recs as one batch with the given leader epoch and returns
// the offset of the first record; the others follow densely. Records with
// Timestamp 0 are stamped with the log's clock; the caller's slice is not
// modified. A record larger than MaxRecordBytes or an encoded batch larger
// than MaxBatchBytes is refused (ErrRecordTooLarge, ErrBatchTooLarge) and
// nothing is written. An epoch older than LatestEpoch fails with
// ErrStaleEpoch.
//
// Concurrent appends share one write transaction (group commit). Under
// DurabilityFsync the batch is on disk when Append returns nil. If ctx ends
// first, Append returns ctx.Err(): a request still queued is dropped, one
// already in a transaction may still be committed.
func (l *Log) Append(ctx context.Context, recs []record.Record, leaderEpoch int32) (int64, error) {
	return l.appendAs(ctx, recs, leaderEpoch, Producer{ID: NoProducer})
}

// appendAs is Append with the batch's producer (see AppendAs).
func (l *Log) appendAs(ctx context.Context, recs []record.Record, leaderEpoch int32, prod Producer) (int64, error) {
	if len(recs) == 0 {
		return 0, fmt.Errorf("append to %s: no records", l.path)
	}
	if leaderEpoch < 0 {
		return 0, fmt.Errorf("append to %s: negative leader epoch %d", l.path, leaderEpoch)
	}
	for i := range recs {
		if n := recs[i].Size(); n > l.opts.MaxRecordBytes {
			return 0, fmt.Errorf("append to %s: record %d has %d bytes, limit %d: %w", l.path, i, n, l.opts.MaxRecordBytes, ErrRecordTooLarge)
		}
	}
	if len(recs) > math.MaxInt32 {
		return 0, fmt.Errorf("append to %s: %d records in one batch: %w", l.path, len(recs), ErrBatchTooLarge)
	}
	ts, first, maxTS := timestamps(recs, l.opts.Now().UnixMilli())
	size := encodedSizeFor(recs, ts, first, prod)
	if size > l.opts.MaxBatchBytes || size > math.MaxUint32 {
		return 0, fmt.Errorf("append to %s: batch encodes to %d bytes, limit %d: %w", l.path, size, l.opts.MaxBatchBytes, ErrBatchTooLarge)
	}
	buf := getEncodeBuf(size)
	raw := encodeBatchInto(*buf, recs, ts, first, maxTS, leaderEpoch, size, prod)
	req := &appendReq{
		ctx:   ctx,
		raws:  [][]byte{raw},
		heads: []header{{length: size, epoch: leaderEpoch, count: int32(len(recs)), firstTS: first, maxTS: maxTS, prod: prod}},
		bytes: size,
		done:  make(chan struct{}),
	}
	err := l.submit(ctx, req)
	select {
	case <-req.done: // the committer is finished with raw
		*buf = raw[:0]
		putEncodeBuf(buf)
	default:
	}
	if err != nil {
		return 0, fmt.Errorf("append to %s: %w", l.path, err)
	}
	return req.base, nil
}

// AppendReplica appends batches copied byte for byte from a leader, keeping
// their offsets and epochs. Each batch's framing and CRC are checked
// (ErrCorrupt); the first must start at EndOffset and each following one
// where the previous ends (ErrNonContiguous). The call is atomic: all
// batches are appended or none. Size limits are not applied: the leader
// accepted these batches. The slices must not change until it returns.
func (l *Log) AppendReplica(ctx context.Context, batches [][]byte) error {
	if len(batches) == 0 {
		return nil
	}
	req := &appendReq{ctx: ctx, raws: batches, heads: make([]header, len(batches)), replica: true, done: make(chan struct{})}
	for i, raw := range batches {
		h, err := parseHeader(raw)
		if err == nil {
			err = checkCRC(raw)
		}
		if err != nil {
			return fmt.Errorf("append replica batch %d to %s: %w", i, l.path, err)
		}
		if i > 0 && h.base != req.heads[i-1].end() {
			return fmt.Errorf("append replica to %s: batch %d starts at %d, previous ends at %d: %w", l.path, i, h.base, req.heads[i-1].end(), ErrNonContiguous)
		}
		req.heads[i] = h
		req.bytes += len(raw)
	}
	if err := l.submit(ctx, req); err != nil {
		return fmt.Errorf("append replica to %s: %w", l.path, err)
	}
	return nil
}

// submit queues req for the committer and waits for its answer.
func (l *Log) submit(ctx context.Context, req *appendReq) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return ErrClosed
	}
	l.pending.Add(1)
	defer l.pending.Add(-1)
	select {
	case l.queue <- req:
	case <-l.quit:
		l.closeMu.RUnlock()
		return ErrClosed
	case <-ctx.Done():
		l.closeMu.RUnlock()
		return ctx.Err()
	}
	l.closeMu.RUnlock()
	select {
	case <-req.done:
		return req.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// failQueued answers every request still in the queue with err. Close calls
// it after the committer stopped and no one can enqueue any more.
func (l *Log) failQueued(err error) {
	for {
		select {
		case r := <-l.queue:
			r.err = err
			close(r.done)
		default:
			return
		}
	}
}
