package broker

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrRawUnsupported is FetchRaw's answer for a replica whose log cannot
// hand out its stored batches (a test's fault-injecting log): the caller
// falls back to Fetch.
var ErrRawUnsupported = errors.New("log does not read raw batches")

// RawFetchResult is a fetch answered with stored batches as they are in
// the file (the storage batch format, docs/storage.md): Batches are whole
// batches, slices of Buf, the first one holding the requested offset.
// The first batch may begin before the requested offset and the last may
// reach past NextOffset (a batch straddling the high watermark); the
// reader drops records outside [offset, NextOffset).
type RawFetchResult struct {
	Buf     []byte
	Batches [][]byte
	// NextOffset is the offset after the last record the answer delivers:
	// the end of the last batch, bounded by the high watermark; the
	// requested offset when there are no batches.
	NextOffset int64
	ReadInfo
	// Waited is how long the fetch waited for records (the long-poll).
	Waited time.Duration
}

// rawFetchLog is a Log that reads stored batches into a caller's buffer
// and knows where a stored batch ends: the storage log.
type rawFetchLog interface {
	rawBatchReader
	BatchEnd(raw []byte) (int64, error)
}

// FetchRaw is Fetch answered with the stored bytes of whole batches,
// appended to dst (which it may reuse): one copy out of the file, no
// decoding of records (each batch's framing and CRC are checked). It
// waits as Fetch does. A log that cannot read raw batches fails with
// ErrRawUnsupported before anything is read.
func (b *Broker) FetchRaw(ctx context.Context, req FetchRequest, dst []byte) (RawFetchResult, error) {
	if req.MaxBytes <= 0 {
		req.MaxBytes = DefaultFetchMaxBytes
	}
	lp := newLongPoll(req.MaxWait)
	defer lp.close()
	for {
		t, p, err := b.partitionOf(req.Topic, req.Partition)
		if err != nil {
			return RawFetchResult{Buf: dst, Waited: lp.waited}, err
		}
		changed := p.changed.Wait()
		res, err := p.readRaw(dst[:0], req.Offset, req.MaxBytes)
		res.Waited = lp.waited
		if err != nil {
			return res, b.enrich(t, req.Partition, err)
		}
		if len(res.Batches) > 0 {
			return res, nil
		}
		dst = res.Buf
		again, err := lp.wait(ctx, changed, req)
		if !again {
			res.Waited = lp.waited
			return res, err
		}
	}
}

// readRaw is read answering with stored batches below the HW.
func (p *partition) readRaw(dst []byte, from int64, maxBytes int) (RawFetchResult, error) {
	p.life.RLock()
	defer p.life.RUnlock()
	res := RawFetchResult{Buf: dst, NextOffset: from}
	if p.log == nil || !p.isLeaderLocked() {
		return res, fmt.Errorf("%s: %w", p, ErrNotLeader)
	}
	rl, ok := p.log.(rawFetchLog)
	if !ok {
		return res, fmt.Errorf("%s: %w", p, ErrRawUnsupported)
	}
	res.ReadInfo = ReadInfo{LogStart: p.log.StartOffset(), LogEnd: p.log.EndOffset(), HighWatermark: p.hw.Load()}
	info := res.ReadInfo
	if from < info.LogStart || from > info.LogEnd {
		return res, &OffsetRangeError{Topic: p.topic, Partition: p.index, Offset: from, LogStart: info.LogStart, LogEnd: info.LogEnd}
	}
	if from >= info.HighWatermark {
		return res, nil
	}
	buf, batches, err := rl.ReadRaw(dst, from, maxBytes, info.HighWatermark)
	res.Buf = buf
	if err != nil {
		return res, fmt.Errorf("read %s from %d: %w", p, from, err)
	}
	res.Batches = batches
	if n := len(batches); n > 0 {
		end, err := rl.BatchEnd(batches[n-1])
		if err != nil {
			return res, fmt.Errorf("read %s from %d: %w", p, from, err)
		}
		res.NextOffset = min(end, info.HighWatermark)
	}
	return res, nil
}
