package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/sluicehq/sluice/record"
)

// Batch layout (all integers big-endian; see docs/storage.md):
//
//	0  uint32 CRC-32C (Castagnoli) of bytes [4:]
//	4  uint8  magic (format version, 1)
//	5  int64  base offset
//	13 uint32 batch length in bytes (the whole batch, header included)
//	17 int32  leader epoch
//	21 int32  record count (>= 1)
//	25 int64  first timestamp (ms)
//	33 int64  max timestamp (ms)
//	41 records                      (magic 1)
//
// Magic 2 (an idempotent producer's batch) adds, before the records:
//
//	41 int64  producer id (>= 0)
//	49 int16  producer epoch (>= 0)
//	51 int64  base sequence: the producer's sequence of its request's first record
//	59 int64  last sequence: the sequence of its request's last record (>= base)
//	67 records                      (magic 2)
//
// A batch without a producer is written with magic 1, byte for byte as
// before the extension, so files written by older versions read unchanged
// and a log written without idempotent producers is readable by them.
//
// The CRC covers the base offset and the leader epoch, so any flipped byte is
// detected; the committer stamps the base offset and then computes the CRC.
const (
	batchMagic      = 1
	batchMagicV2    = 2
	batchHeaderSize = 41
	// batchHeaderSizeV2 is the header of a magic-2 batch.
	batchHeaderSizeV2 = 67

	offCRC      = 0
	offMagic    = 4
	offBase     = 5
	offLength   = 13
	offEpoch    = 17
	offCount    = 21
	offFirstTS  = 25
	offMaxTS    = 33
	offPID      = 41
	offPEpoch   = 49
	offBaseSeq  = 51
	offLastSeq  = 59
	minRecBytes = 5 // length, timestamp delta, key length, value length, header count
	minHdrBytes = 2 // key length, value length
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Batch is one decoded batch. Records' Key, Value and header values alias
// Raw: treat them as read-only.
type Batch struct {
	BaseOffset     int64
	LastOffset     int64
	LeaderEpoch    int32
	FirstTimestamp int64
	MaxTimestamp   int64
	// Producer is the idempotent producer that wrote the batch; its ID is
	// NoProducer (-1) for a batch written without one (magic 1).
	Producer Producer
	Records  []record.Record
	// Raw is the batch exactly as stored; followers append it unchanged
	// with AppendReplica.
	Raw []byte
}

// header is the fixed part of a batch, decoded without touching records.
type header struct {
	base    int64
	length  int
	epoch   int32
	count   int32
	firstTS int64
	maxTS   int64
	prod    Producer // ID NoProducer for magic 1
}

// size is the header's length in bytes: where the records begin.
func (h header) size() int {
	if h.prod.ID != NoProducer {
		return batchHeaderSizeV2
	}
	return batchHeaderSize
}

func (h header) last() int64 { return h.base + int64(h.count) - 1 }
func (h header) end() int64  { return h.base + int64(h.count) }

// parseHeader checks the framing of raw (length, magic, count, offsets) but
// not the CRC.
func parseHeader(raw []byte) (header, error) {
	if len(raw) < batchHeaderSize {
		return header{}, fmt.Errorf("%w: batch of %d bytes is shorter than its %d-byte header", ErrCorrupt, len(raw), batchHeaderSize)
	}
	magic := raw[offMagic]
	if magic != batchMagic && magic != batchMagicV2 {
		return header{}, fmt.Errorf("%w: batch magic %d, want %d or %d", ErrCorrupt, magic, batchMagic, batchMagicV2)
	}
	if magic == batchMagicV2 && len(raw) < batchHeaderSizeV2 {
		return header{}, fmt.Errorf("%w: batch of %d bytes is shorter than its %d-byte header", ErrCorrupt, len(raw), batchHeaderSizeV2)
	}
	h := header{
		base:    int64(binary.BigEndian.Uint64(raw[offBase:])),
		length:  int(binary.BigEndian.Uint32(raw[offLength:])),
		epoch:   int32(binary.BigEndian.Uint32(raw[offEpoch:])),
		count:   int32(binary.BigEndian.Uint32(raw[offCount:])),
		firstTS: int64(binary.BigEndian.Uint64(raw[offFirstTS:])),
		maxTS:   int64(binary.BigEndian.Uint64(raw[offMaxTS:])),
		prod:    Producer{ID: NoProducer},
	}
	if magic == batchMagicV2 {
		h.prod = Producer{
			ID:           int64(binary.BigEndian.Uint64(raw[offPID:])),
			Epoch:        int16(binary.BigEndian.Uint16(raw[offPEpoch:])),
			BaseSequence: int64(binary.BigEndian.Uint64(raw[offBaseSeq:])),
			LastSequence: int64(binary.BigEndian.Uint64(raw[offLastSeq:])),
		}
		if err := h.prod.check(); err != nil {
			return header{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
	switch {
	case h.length != len(raw):
		return header{}, fmt.Errorf("%w: batch length field %d, have %d bytes", ErrCorrupt, h.length, len(raw))
	case h.base < 0:
		return header{}, fmt.Errorf("%w: negative base offset %d", ErrCorrupt, h.base)
	case h.epoch < 0:
		return header{}, fmt.Errorf("%w: negative leader epoch %d", ErrCorrupt, h.epoch)
	case h.count < 1 || int(h.count) > (len(raw)-h.size())/minRecBytes:
		return header{}, fmt.Errorf("%w: record count %d does not fit %d bytes", ErrCorrupt, h.count, len(raw))
	case h.base > math.MaxInt64-int64(h.count):
		return header{}, fmt.Errorf("%w: base offset %d + count %d overflows", ErrCorrupt, h.base, h.count)
	}
	return h, nil
}

func checksum(raw []byte) uint32 { return crc32.Checksum(raw[offMagic:], castagnoli) }

func checkCRC(raw []byte) error {
	want := binary.BigEndian.Uint32(raw[offCRC:])
	if got := checksum(raw); got != want {
		return fmt.Errorf("%w: batch CRC-32C %08x, stored %08x", ErrCorrupt, got, want)
	}
	return nil
}

// stamp writes the base offset into an encoded batch and seals it with its
// CRC. Append encodes outside the commit path and stamps inside it.
func stamp(raw []byte, base int64) {
	binary.BigEndian.PutUint64(raw[offBase:], uint64(base))
	binary.BigEndian.PutUint32(raw[offCRC:], checksum(raw))
}

// DecodeBatch validates raw completely (framing, CRC-32C, every record) and
// decodes it. The returned records alias raw. Any failure wraps ErrCorrupt.
func DecodeBatch(raw []byte) (Batch, error) {
	h, err := parseHeader(raw)
	if err != nil {
		return Batch{}, err
	}
	if err := checkCRC(raw); err != nil {
		return Batch{}, err
	}
	recs, err := decodeRecords(raw, h)
	if err != nil {
		return Batch{}, err
	}
	return Batch{
		BaseOffset:     h.base,
		LastOffset:     h.last(),
		LeaderEpoch:    h.epoch,
		FirstTimestamp: h.firstTS,
		MaxTimestamp:   h.maxTS,
		Producer:       h.prod,
		Records:        recs,
		Raw:            raw,
	}, nil
}

// reader walks the record area of a batch with bounds checks on every step.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated or malformed %s", ErrCorrupt, what)
	}
}

func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || overlong(r.b, n) {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 || overlong(r.b, n) {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// overlong reports a varint of n bytes with a redundant zero last group.
// Only the shortest encoding is accepted, so a batch's bytes and its records
// determine each other.
func overlong(b []byte, n int) bool { return n > 1 && b[n-1] == 0 }

// bytes reads a length-prefixed field; nullable fields use -1 for nil.
func (r *reader) bytes(what string, nullable bool) []byte {
	n := r.varint(what)
	if r.err != nil {
		return nil
	}
	if n == -1 && nullable {
		return nil
	}
	if n < 0 || n > int64(len(r.b)) {
		r.fail(what)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func decodeRecords(raw []byte, h header) ([]record.Record, error) {
	recs := make([]record.Record, h.count)
	rest := raw[h.size():]
	maxTS := int64(math.MinInt64)
	for i := range recs {
		outer := reader{b: rest}
		n := outer.uvarint("record length")
		if outer.err != nil {
			return nil, fmt.Errorf("record %d: %w", i, outer.err)
		}
		if n > uint64(len(outer.b)) {
			return nil, fmt.Errorf("%w: record %d length %d exceeds remaining %d bytes", ErrCorrupt, i, n, len(outer.b))
		}
		r := reader{b: outer.b[:n]}
		rest = outer.b[n:]
		delta := r.varint("timestamp delta")
		if i == 0 && delta != 0 && r.err == nil {
			return nil, fmt.Errorf("%w: first record has timestamp delta %d", ErrCorrupt, delta)
		}
		rec := &recs[i]
		rec.Offset = h.base + int64(i)
		rec.Timestamp = h.firstTS + delta
		rec.Key = r.bytes("key", true)
		rec.Value = r.bytes("value", true)
		nh := r.uvarint("header count")
		if r.err == nil && nh > uint64(len(r.b)/minHdrBytes) {
			return nil, fmt.Errorf("%w: record %d header count %d does not fit", ErrCorrupt, i, nh)
		}
		if r.err == nil && nh > 0 {
			rec.Headers = make([]record.Header, nh)
			for j := range rec.Headers {
				rec.Headers[j].Key = string(r.bytes("header key", false))
				rec.Headers[j].Value = r.bytes("header value", true)
			}
		}
		if r.err != nil {
			return nil, fmt.Errorf("record %d: %w", i, r.err)
		}
		if len(r.b) != 0 {
			return nil, fmt.Errorf("%w: record %d has %d trailing bytes", ErrCorrupt, i, len(r.b))
		}
		maxTS = max(maxTS, rec.Timestamp)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last record", ErrCorrupt, len(rest))
	}
	if maxTS != h.maxTS {
		return nil, fmt.Errorf("%w: max timestamp field %d, records say %d", ErrCorrupt, h.maxTS, maxTS)
	}
	return recs, nil
}
