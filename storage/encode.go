package storage

import (
	"encoding/binary"
	"math"
	"sync"

	"github.com/sluicehq/sluice/record"
)

// timestamps returns the stamped timestamp of every record (now where the
// caller left 0), the first and the max.
func timestamps(recs []record.Record, nowMs int64) (ts []int64, first, maxTS int64) {
	ts = make([]int64, len(recs))
	maxTS = math.MinInt64
	for i := range recs {
		t := recs[i].Timestamp
		if t == 0 {
			t = nowMs
		}
		ts[i] = t
		maxTS = max(maxTS, t)
	}
	return ts, ts[0], maxTS
}

func varintLen(v int64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutVarint(b[:], v)
}

func uvarintLen(v uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], v)
}

func nullableLen(b []byte) int {
	if b == nil {
		return varintLen(-1)
	}
	return varintLen(int64(len(b))) + len(b)
}

// recordBodyLen is the encoded size of one record without its length prefix.
func recordBodyLen(r *record.Record, delta int64) int {
	n := varintLen(delta) + nullableLen(r.Key) + nullableLen(r.Value) + uvarintLen(uint64(len(r.Headers)))
	for _, h := range r.Headers {
		n += varintLen(int64(len(h.Key))) + len(h.Key) + nullableLen(h.Value)
	}
	return n
}

// encodedSize is the size of the batch that encodeBatch would produce
// without a producer; a producer's batch has batchHeaderSizeV2 -
// batchHeaderSize bytes more (see encodedSizeFor).
func encodedSize(recs []record.Record, ts []int64, first int64) int {
	n := batchHeaderSize
	for i := range recs {
		body := recordBodyLen(&recs[i], ts[i]-first)
		n += uvarintLen(uint64(body)) + body
	}
	return n
}

func putNullable(dst []byte, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

// encodedSizeFor is encodedSize for a batch written by prod (ID
// NoProducer: none).
func encodedSizeFor(recs []record.Record, ts []int64, first int64, prod Producer) int {
	n := encodedSize(recs, ts, first)
	if prod.ID != NoProducer {
		n += batchHeaderSizeV2 - batchHeaderSize
	}
	return n
}

// encodeBatchInto is encodeBatch reusing buf's capacity (>= size), for a
// batch written by prod: magic 2 with its fields, or magic 1 when prod.ID
// is NoProducer. size must be encodedSizeFor(recs, ts, first, prod).
func encodeBatchInto(buf []byte, recs []record.Record, ts []int64, first, maxTS int64, epoch int32, size int, prod Producer) []byte {
	hs := batchHeaderSize
	if prod.ID != NoProducer {
		hs = batchHeaderSizeV2
	}
	buf = buf[:hs]
	clear(buf)
	buf[offMagic] = batchMagic
	if prod.ID != NoProducer {
		buf[offMagic] = batchMagicV2
		binary.BigEndian.PutUint64(buf[offPID:], uint64(prod.ID))
		binary.BigEndian.PutUint16(buf[offPEpoch:], uint16(prod.Epoch))
		binary.BigEndian.PutUint64(buf[offBaseSeq:], uint64(prod.BaseSequence))
		binary.BigEndian.PutUint64(buf[offLastSeq:], uint64(prod.LastSequence))
	}
	binary.BigEndian.PutUint32(buf[offLength:], uint32(size))
	binary.BigEndian.PutUint32(buf[offEpoch:], uint32(epoch))
	binary.BigEndian.PutUint32(buf[offCount:], uint32(len(recs)))
	binary.BigEndian.PutUint64(buf[offFirstTS:], uint64(first))
	binary.BigEndian.PutUint64(buf[offMaxTS:], uint64(maxTS))
	for i := range recs {
		r := &recs[i]
		delta := ts[i] - first
		buf = binary.AppendUvarint(buf, uint64(recordBodyLen(r, delta)))
		buf = binary.AppendVarint(buf, delta)
		buf = putNullable(buf, r.Key)
		buf = putNullable(buf, r.Value)
		buf = binary.AppendUvarint(buf, uint64(len(r.Headers)))
		for _, h := range r.Headers {
			buf = binary.AppendVarint(buf, int64(len(h.Key)))
			buf = append(buf, h.Key...)
			buf = putNullable(buf, h.Value)
		}
	}
	return buf
}

// encodePool recycles Append's encode buffers: a batch's bytes are only
// needed until its transaction commits.
var encodePool sync.Pool // of *[]byte

func getEncodeBuf(size int) *[]byte {
	if p, ok := encodePool.Get().(*[]byte); ok && cap(*p) >= size {
		return p
	}
	b := make([]byte, 0, size)
	return &b
}

// putEncodeBuf returns a buffer; very large ones are left to the GC so the
// pool does not pin memory after a burst of big batches.
func putEncodeBuf(p *[]byte) {
	if cap(*p) <= 1<<20 {
		encodePool.Put(p)
	}
}
