package httpapi

import (
	"encoding/binary"
	"fmt"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// The binary produce and fetch paths encode and decode sdk/wire's binary
// format (documented in sdk/wire/binary.go) straight from and into
// record.Record, reusing the caller's slices: no intermediate wire.Record
// and no allocation per record (only per header key, which is a string).
// codec_test.go checks every function against sdk/wire's own codec.

const flagKey = 1

// decodeRecords reads a binary produce body into dst[:0]. Keys, values and
// header values alias body.
func decodeRecords(dst []record.Record, body []byte) ([]record.Record, error) {
	d := decoder{b: body}
	if v := d.byte(); d.err == nil && v != wire.BinaryVersion {
		return dst, fmt.Errorf("%w: binary version %d, want %d", wire.ErrMalformed, v, wire.BinaryVersion)
	}
	n := d.uvarint()
	if d.err == nil && n > uint64(d.remaining()/4) { // a record takes at least 4 bytes
		d.fail("count %d larger than the body allows", n)
	}
	if d.err != nil {
		return dst, d.err
	}
	if uint64(cap(dst)) < n {
		dst = make([]record.Record, n)
	}
	dst = dst[:n]
	for i := range dst {
		r := &dst[i]
		flags := d.byte()
		if flags&^flagKey != 0 {
			d.fail("record %d: unknown flags %#x", i, flags)
		}
		r.Offset = 0
		r.Timestamp = d.varint()
		r.Key = nil
		if flags&flagKey != 0 {
			r.Key = d.bytes()
		}
		r.Value = d.bytes()
		r.Headers = r.Headers[:0]
		hn := d.uvarint()
		if d.err == nil && hn > uint64(d.remaining()/2) {
			d.fail("record %d: header count %d larger than the body allows", i, hn)
		}
		if hn == 0 {
			r.Headers = nil
		}
		for range hn {
			k := d.bytes()
			v := d.bytes()
			r.Headers = append(r.Headers, record.Header{Key: string(k), Value: v})
		}
		if d.err != nil {
			return dst[:0], fmt.Errorf("record %d: %w", i, d.err)
		}
	}
	if d.remaining() != 0 {
		return dst[:0], fmt.Errorf("%w: %d bytes after the last record", wire.ErrMalformed, d.remaining())
	}
	return dst, nil
}

// appendResults writes a binary produce answer.
func appendResults(dst []byte, rs []broker.ProduceResult) []byte {
	dst = append(dst, wire.BinaryVersion)
	dst = binary.AppendUvarint(dst, uint64(len(rs)))
	for i := range rs {
		r := &rs[i]
		if r.Err != nil {
			we := toWire(r.Err)
			dst = append(dst, 1)
			dst = appendString(dst, string(we.Code))
			dst = appendString(dst, we.Message)
			continue
		}
		dst = append(dst, 0)
		dst = binary.AppendVarint(dst, int64(r.Partition))
		dst = binary.AppendVarint(dst, r.Offset)
	}
	return dst
}

// appendFetch writes a binary fetch answer.
func appendFetch(dst []byte, partition int32, res *broker.FetchResult) []byte {
	dst = append(dst, wire.BinaryVersion)
	dst = binary.AppendVarint(dst, int64(partition))
	dst = binary.AppendVarint(dst, res.NextOffset)
	dst = binary.AppendVarint(dst, res.HighWatermark)
	dst = binary.AppendVarint(dst, res.LogStart)
	dst = binary.AppendVarint(dst, res.LogEnd)
	dst = binary.AppendUvarint(dst, uint64(len(res.Records)))
	for i := range res.Records {
		r := &res.Records[i]
		dst = binary.AppendVarint(dst, r.Offset)
		var flags byte
		if r.Key != nil {
			flags = flagKey
		}
		dst = append(dst, flags)
		dst = binary.AppendVarint(dst, r.Timestamp)
		if r.Key != nil {
			dst = appendBytes(dst, r.Key)
		}
		dst = appendBytes(dst, r.Value)
		dst = binary.AppendUvarint(dst, uint64(len(r.Headers)))
		for _, h := range r.Headers {
			dst = appendString(dst, h.Key)
			dst = appendBytes(dst, h.Value)
		}
	}
	return dst
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decoder reads a binary body; the first error sticks.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: at byte %d: %s", wire.ErrMalformed, d.off, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("unexpected end")
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return v
}

// bytes reads a length-prefixed byte string, aliasing the body. Capacity
// is clipped so an append by a later user cannot overwrite the body.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(d.remaining()) {
		d.fail("length %d past the end", n)
		return nil
	}
	b := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return b
}

// appendRecords writes a binary produce body (sdk/wire's format) from
// records; the forwarding client sends partition batches with it.
func appendRecords(dst []byte, recs []record.Record) []byte {
	dst = append(dst, wire.BinaryVersion)
	dst = binary.AppendUvarint(dst, uint64(len(recs)))
	for i := range recs {
		r := &recs[i]
		var flags byte
		if r.Key != nil {
			flags = flagKey
		}
		dst = append(dst, flags)
		dst = binary.AppendVarint(dst, r.Timestamp)
		if r.Key != nil {
			dst = appendBytes(dst, r.Key)
		}
		dst = appendBytes(dst, r.Value)
		dst = binary.AppendUvarint(dst, uint64(len(r.Headers)))
		for _, h := range r.Headers {
			dst = appendString(dst, h.Key)
			dst = appendBytes(dst, h.Value)
		}
	}
	return dst
}
