package wire

import (
	"encoding/binary"
	"errors"
)

// The binary formats (MediaTypeRecords, MediaTypeResults) are
// length-prefixed and compact. Integers are varints as in Protocol Buffers
// and encoding/binary: "uvarint" is unsigned LEB128, "varint" is zig-zag
// signed LEB128. Every body starts with a version byte, BinaryVersion.
//
// Produce request body (MediaTypeRecords):
//
//	version  byte = 1
//	count    uvarint
//	count × record
//
//	record:
//	  flags      byte     bit 0: key present; other bits zero
//	  timestamp  varint   ms since the Unix epoch, 0 = stamp on append
//	  key        uvarint length, bytes   (only when bit 0 is set)
//	  value      uvarint length, bytes
//	  headers    uvarint count, then count × (uvarint length, key bytes,
//	             uvarint length, value bytes)
//
// Fetch answer body (MediaTypeRecords, format=binary):
//
//	version         byte = 1
//	partition       varint
//	next_offset     varint
//	high_watermark  varint
//	log_start       varint
//	log_end         varint
//	count           uvarint
//	count × (offset varint, record)
//
// Produce answer body (MediaTypeResults):
//
//	version  byte = 1
//	count    uvarint
//	count × result, each a status byte then
//	  0 (ok):    partition varint, offset varint
//	  1 (error): code (uvarint length, bytes), message (uvarint length, bytes)

// BinaryVersion is the version byte every binary body starts with.
const BinaryVersion = 1

// ErrMalformed is returned (wrapped with detail) by the binary decoders for
// any body that does not follow the format.
var ErrMalformed = errors.New("malformed binary body")

const flagKey = 1 << 0

// minRecordLen is the smallest encoding of a record: flags, timestamp,
// value length, header count.
const minRecordLen = 4

// RecordSize is the number of bytes AppendRecords uses for r (without the
// body's version and count).
func RecordSize(r *Record) int {
	n := 1 + varintLen(r.Timestamp)
	if r.Key != nil {
		n += uvarintLen(uint64(len(r.Key))) + len(r.Key)
	}
	n += uvarintLen(uint64(len(r.Value))) + len(r.Value)
	n += uvarintLen(uint64(len(r.Headers)))
	for _, h := range r.Headers {
		n += uvarintLen(uint64(len(h.Key))) + len(h.Key) + uvarintLen(uint64(len(h.Value))) + len(h.Value)
	}
	return n
}

// AppendRecords appends a produce request body holding recs to dst.
// Offset and Partition are not encoded.
func AppendRecords(dst []byte, recs []Record) []byte {
	dst = append(dst, BinaryVersion)
	dst = binary.AppendUvarint(dst, uint64(len(recs)))
	for i := range recs {
		dst = appendRecord(dst, &recs[i])
	}
	return dst
}

// DecodeRecords reads a produce request body. The returned records' Key,
// Value and header values alias b; b must not change while they are used.
func DecodeRecords(b []byte) ([]Record, error) {
	d := decoder{Reader: Reader{b: b}}
	d.Version()
	n := d.Count(minRecordLen)
	recs := make([]Record, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		var r Record
		d.left = n - i
		d.record(&r)
		recs = append(recs, r)
	}
	if err := d.Finish(); err != nil {
		return nil, err
	}
	return recs, nil
}

// AppendFetchBatch appends a binary fetch answer to dst. Every record is
// encoded with its Offset; its Partition is taken to be fb.Partition.
func AppendFetchBatch(dst []byte, fb *FetchBatch) []byte {
	dst = append(dst, BinaryVersion)
	dst = binary.AppendVarint(dst, int64(fb.Partition))
	dst = binary.AppendVarint(dst, fb.NextOffset)
	dst = binary.AppendVarint(dst, fb.HighWatermark)
	dst = binary.AppendVarint(dst, fb.LogStart)
	dst = binary.AppendVarint(dst, fb.LogEnd)
	dst = binary.AppendUvarint(dst, uint64(len(fb.Records)))
	for i := range fb.Records {
		dst = binary.AppendVarint(dst, fb.Records[i].Offset)
		dst = appendRecord(dst, &fb.Records[i])
	}
	return dst
}

// DecodeFetchBatch reads a binary fetch answer. Records alias b, as in
// DecodeRecords, and carry the batch's partition.
func DecodeFetchBatch(b []byte) (*FetchBatch, error) {
	d := decoder{Reader: Reader{b: b}}
	d.Version()
	fb := &FetchBatch{}
	p := d.Varint()
	if d.err == nil && (p < -1<<31 || p > 1<<31-1) {
		d.Fail("partition %d out of range", p)
	}
	fb.Partition = int32(p)
	fb.NextOffset = d.Varint()
	fb.HighWatermark = d.Varint()
	fb.LogStart = d.Varint()
	fb.LogEnd = d.Varint()
	n := d.Count(minRecordLen + 1)
	fb.Records = make([]Record, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		r := Record{Partition: fb.Partition, Offset: d.Varint()}
		d.left = n - i
		d.record(&r)
		fb.Records = append(fb.Records, r)
	}
	if err := d.Finish(); err != nil {
		return nil, err
	}
	return fb, nil
}

// AppendProduceResults appends a binary produce answer to dst. Error
// details are not carried; code and message are.
func AppendProduceResults(dst []byte, rs []ProduceResult) []byte {
	dst = append(dst, BinaryVersion)
	dst = binary.AppendUvarint(dst, uint64(len(rs)))
	for _, r := range rs {
		if r.Error != nil {
			dst = append(dst, 1)
			dst = AppendBytes(dst, []byte(r.Error.Code))
			dst = AppendBytes(dst, []byte(r.Error.Message))
			continue
		}
		dst = append(dst, 0)
		dst = binary.AppendVarint(dst, int64(r.Partition))
		dst = binary.AppendVarint(dst, r.Offset)
	}
	return dst
}

// DecodeProduceResults reads a binary produce answer.
func DecodeProduceResults(b []byte) ([]ProduceResult, error) {
	d := decoder{Reader: Reader{b: b}}
	d.Version()
	n := d.Count(3)
	rs := make([]ProduceResult, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		var r ProduceResult
		switch st := d.Byte(); st {
		case 0:
			p := d.Varint()
			if d.err == nil && (p < -1<<31 || p > 1<<31-1) {
				d.Fail("result %d: partition %d out of range", i, p)
			}
			r.Partition = int32(p)
			r.Offset = d.Varint()
		case 1:
			code := d.Bytes()
			msg := d.Bytes()
			r.Error = &Error{Code: Code(code), Message: string(msg)}
		default:
			if d.err == nil {
				d.Fail("result %d: unknown status %d", i, st)
			}
		}
		rs = append(rs, r)
	}
	if err := d.Finish(); err != nil {
		return nil, err
	}
	return rs, nil
}

func appendRecord(dst []byte, r *Record) []byte {
	var flags byte
	if r.Key != nil {
		flags |= flagKey
	}
	dst = append(dst, flags)
	dst = binary.AppendVarint(dst, r.Timestamp)
	if r.Key != nil {
		dst = AppendBytes(dst, r.Key)
	}
	dst = AppendBytes(dst, r.Value)
	dst = binary.AppendUvarint(dst, uint64(len(r.Headers)))
	for _, h := range r.Headers {
		dst = AppendString(dst, h.Key)
		dst = AppendBytes(dst, h.Value)
	}
	return dst
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func varintLen(v int64) int {
	return uvarintLen(uint64(v<<1) ^ uint64(v>>63))
}

// decoder reads the records of a binary body with a Reader.
type decoder struct {
	Reader
	// hdrs is an arena the records' headers are cut from, so a body
	// costs one header allocation rather than one per record.
	hdrs []Header
	left int // records still to decode, counting the current one
}

func (d *decoder) record(r *Record) {
	flags := d.Byte()
	if d.err == nil && flags&^flagKey != 0 {
		d.Fail("unknown record flags %#x", flags)
		return
	}
	r.Timestamp = d.Varint()
	if flags&flagKey != 0 {
		r.Key = d.Bytes()
	}
	r.Value = d.Bytes()
	nh := d.Count(2)
	if nh > 0 {
		if cap(d.hdrs)-len(d.hdrs) < nh {
			// A new arena; earlier records keep the old one.
			// Size it as if the records still to come carry as many.
			d.hdrs = make([]Header, 0, nh*max(d.left, 1))
		}
		start := len(d.hdrs)
		for i := 0; i < nh && d.err == nil; i++ {
			k := d.Bytes()
			v := d.Bytes()
			d.hdrs = append(d.hdrs, Header{Key: string(k), Value: v})
		}
		r.Headers = d.hdrs[start:len(d.hdrs):len(d.hdrs)]
	}
}
