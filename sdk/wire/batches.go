package wire

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
)

// MediaTypeBatches is the Content-Type of a fetch answer that carries the
// partition's stored batches as they are in the broker's file: the
// broker copies them out of the file once and decodes nothing; the client
// checks each batch's CRC-32C and decodes the records, which alias the
// body. A client asks for it with Accept (a fetch without a processor);
// a broker that cannot answer so answers MediaTypeRecords or JSON, as
// its Content-Type says.
//
// Fetch answer body (MediaTypeBatches):
//
//	version         byte = 1
//	partition       varint
//	from            varint   the offset asked for: records before it are skipped
//	next_offset     varint   records at or past it are skipped; where to continue
//	high_watermark  varint
//	log_start       varint
//	log_end         varint
//	batches         the rest of the body: stored batches back to back
//
// A stored batch (all integers big-endian; docs/storage.md):
//
//	0  uint32 CRC-32C (Castagnoli) of bytes [4:length]
//	4  uint8  magic: 1, or 2 for a batch of an idempotent producer
//	5  int64  base offset
//	13 uint32 length of the whole batch in bytes, header included
//	17 int32  leader epoch
//	21 int32  record count (>= 1)
//	25 int64  first timestamp (ms)
//	33 int64  max timestamp (ms)
//	41 records (magic 1), or producer id int64, producer epoch int16,
//	   base sequence int64, last sequence int64, then records at 67 (magic 2)
//
//	record:
//	  length           uvarint  bytes of the rest of the record
//	  timestamp delta  varint   from the batch's first timestamp
//	  key              varint length (-1: no key), bytes
//	  value            varint length (-1: none), bytes
//	  headers          uvarint count, then count × (varint length, key
//	                   bytes, varint length (-1: none), value bytes)
//
// The first batch holds from; it and the last may reach beyond
// [from, next_offset), which is what the answer delivers.
const MediaTypeBatches = "application/vnd.sluice.batches"

// FetchBatchesHeader is the fixed part of a MediaTypeBatches answer.
type FetchBatchesHeader struct {
	Partition     int32
	From          int64
	NextOffset    int64
	HighWatermark int64
	LogStart      int64
	LogEnd        int64
}

// AppendFetchBatchesHeader appends the header of a MediaTypeBatches
// answer to dst; the stored batches follow it unchanged.
func AppendFetchBatchesHeader(dst []byte, h FetchBatchesHeader) []byte {
	dst = append(dst, BinaryVersion)
	dst = binary.AppendVarint(dst, int64(h.Partition))
	dst = binary.AppendVarint(dst, h.From)
	dst = binary.AppendVarint(dst, h.NextOffset)
	dst = binary.AppendVarint(dst, h.HighWatermark)
	dst = binary.AppendVarint(dst, h.LogStart)
	return binary.AppendVarint(dst, h.LogEnd)
}

// Stored batch layout offsets (see MediaTypeBatches).
const (
	sbOffMagic    = 4
	sbOffBase     = 5
	sbOffLength   = 13
	sbOffCount    = 21
	sbOffFirstTS  = 25
	sbHeaderV1    = 41
	sbHeaderV2    = 67
	sbMinRecBytes = 5 // length, timestamp delta, key length, value length, header count
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// DecodeFetchBatches reads a MediaTypeBatches answer: every batch's
// framing and CRC-32C are checked and its records in [From, NextOffset)
// decoded, in offset order, each carrying the answer's partition. Key,
// Value and header values alias b; b must not change while they are
// used. Any departure from the format fails with ErrMalformed.
func DecodeFetchBatches(b []byte) (*FetchBatch, error) {
	d := Reader{b: b}
	d.Version()
	p := d.Varint()
	if d.err == nil && (p < math.MinInt32 || p > math.MaxInt32) {
		d.Fail("partition %d out of range", p)
	}
	from := d.Varint()
	fb := &FetchBatch{Partition: int32(p)}
	fb.NextOffset = d.Varint()
	fb.HighWatermark = d.Varint()
	fb.LogStart = d.Varint()
	fb.LogEnd = d.Varint()
	if d.err != nil {
		return nil, d.err
	}
	if fb.NextOffset < from {
		d.Fail("next offset %d before from %d", fb.NextOffset, from)
		return nil, d.err
	}
	rest := b[d.off:]
	// First pass: framing and CRC of every batch, and how many records
	// the answer delivers, so the records are one allocation.
	n, prevEnd := 0, int64(math.MinInt64)
	for at := 0; at < len(rest); {
		h, err := storedHeader(rest[at:], d.off+at)
		if err != nil {
			return nil, err
		}
		if h.base < prevEnd {
			d.off += at
			d.Fail("batch at offset %d overlaps the one before it", h.base)
			return nil, d.err
		}
		prevEnd = h.base + int64(h.count)
		lo, hi := max(h.base, from), min(prevEnd, fb.NextOffset)
		if hi > lo {
			n += int(hi - lo)
		}
		at += h.length
	}
	if n > 0 {
		fb.Records = make([]Record, 0, n)
	}
	var hdrs []Header
	for at := 0; at < len(rest); {
		h, _ := storedHeader(rest[at:], d.off+at)
		var err error
		fb.Records, hdrs, err = appendStoredRecords(fb.Records, hdrs, rest[at:at+h.length], h, fb.Partition, from, fb.NextOffset, d.off+at)
		if err != nil {
			return nil, err
		}
		at += h.length
	}
	return fb, nil
}

// storedBatch is the fixed part of a stored batch.
type storedBatch struct {
	base    int64
	length  int
	count   int
	firstTS int64
	hsize   int
}

// storedHeader checks the framing and CRC of the stored batch at the
// start of b (pos is its position in the body, for errors).
func storedHeader(b []byte, pos int) (storedBatch, error) {
	d := Reader{b: b, off: 0}
	fail := func(format string, args ...any) (storedBatch, error) {
		d.off = pos
		d.Fail(format, args...)
		return storedBatch{}, d.err
	}
	if len(b) < sbHeaderV1 {
		return fail("batch of %d bytes is shorter than its %d-byte header", len(b), sbHeaderV1)
	}
	h := storedBatch{
		base:    int64(binary.BigEndian.Uint64(b[sbOffBase:])),
		length:  int(binary.BigEndian.Uint32(b[sbOffLength:])),
		count:   int(int32(binary.BigEndian.Uint32(b[sbOffCount:]))),
		firstTS: int64(binary.BigEndian.Uint64(b[sbOffFirstTS:])),
		hsize:   sbHeaderV1,
	}
	switch b[sbOffMagic] {
	case 1:
	case 2:
		h.hsize = sbHeaderV2
	default:
		return fail("batch magic %d, want 1 or 2", b[sbOffMagic])
	}
	switch {
	case h.length < h.hsize || h.length > len(b):
		return fail("batch length %d outside %d..%d", h.length, h.hsize, len(b))
	case h.base < 0:
		return fail("negative base offset %d", h.base)
	case h.count < 1 || h.count > (h.length-h.hsize)/sbMinRecBytes:
		return fail("record count %d does not fit %d bytes", h.count, h.length)
	case h.base > math.MaxInt64-int64(h.count):
		return fail("base offset %d + count %d overflows", h.base, h.count)
	}
	if got, want := crc32.Checksum(b[sbOffMagic:h.length], castagnoli), binary.BigEndian.Uint32(b); got != want {
		return fail("batch %d: CRC-32C %08x, stored %08x", h.base, got, want)
	}
	return h, nil
}

// appendStoredRecords decodes the records of one checked stored batch and
// appends those in [from, next) to dst. Header slices are cut from the
// hdrs arena.
func appendStoredRecords(dst []Record, hdrs []Header, raw []byte, h storedBatch, partition int32, from, next int64, pos int) ([]Record, []Header, error) {
	d := Reader{b: raw[:h.length], off: h.hsize}
	for i := 0; i < h.count; i++ {
		n := d.Uvarint()
		if d.err == nil && n > uint64(d.Remaining()) {
			d.Fail("record %d length %d exceeds remaining %d bytes", i, n, d.Remaining())
		}
		if d.err != nil {
			break
		}
		end := d.off + int(n)
		r := Reader{b: raw[:end], off: d.off}
		delta := r.Varint()
		key := storedBytes(&r, true)
		val := storedBytes(&r, true)
		nh := r.Uvarint()
		if r.err == nil && nh > uint64(r.Remaining()/2) {
			r.Fail("header count %d does not fit", nh)
		}
		off := h.base + int64(i)
		keep := off >= from && off < next
		var hs []Header
		if r.err == nil && nh > 0 {
			if keep && cap(hdrs)-len(hdrs) < int(nh) {
				hdrs = make([]Header, 0, max(int(nh)*(h.count-i), 16))
			}
			start := len(hdrs)
			for j := 0; j < int(nh) && r.err == nil; j++ {
				k := storedBytes(&r, false)
				v := storedBytes(&r, true)
				if keep {
					hdrs = append(hdrs, Header{Key: string(k), Value: v})
				}
			}
			if keep {
				hs = hdrs[start:len(hdrs):len(hdrs)]
			}
		}
		if r.err == nil && r.Remaining() != 0 {
			r.Fail("record %d has %d trailing bytes", i, r.Remaining())
		}
		if r.err != nil {
			return dst, hdrs, fmt.Errorf("batch %d at byte %d, record %d: %w", h.base, pos, i, r.err)
		}
		if keep {
			dst = append(dst, Record{Partition: partition, Offset: off, Timestamp: h.firstTS + delta, Key: key, Value: val, Headers: hs})
		}
		d.off = end
	}
	if d.err == nil && d.Remaining() != 0 {
		d.Fail("%d bytes after the last record of batch %d", d.Remaining(), h.base)
	}
	if d.err != nil {
		return dst, hdrs, fmt.Errorf("batch %d at byte %d: %w", h.base, pos, d.err)
	}
	return dst, hdrs, nil
}

// storedBytes reads a varint-length byte string (-1: nil, when nullable).
func storedBytes(r *Reader, nullable bool) []byte {
	n := r.Varint()
	if r.err != nil {
		return nil
	}
	if n == -1 && nullable {
		return nil
	}
	if n < 0 || n > int64(r.Remaining()) {
		r.Fail("byte string length %d outside 0..%d", n, r.Remaining())
		return nil
	}
	v := r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return v
}
