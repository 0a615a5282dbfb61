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
	d := wire.NewReader(body)
	d.Version()
	n := d.Count(4) // a record takes at least 4 bytes
	if err := d.Err(); err != nil {
		return dst, err
	}
	if cap(dst) < n {
		dst = make([]record.Record, n)
	}
	dst = dst[:n]
	for i := range dst {
		r := &dst[i]
		flags := d.Byte()
		if flags&^flagKey != 0 {
			d.Fail("record %d: unknown flags %#x", i, flags)
		}
		r.Offset = 0
		r.Timestamp = d.Varint()
		r.Key = nil
		if flags&flagKey != 0 {
			r.Key = d.Bytes()
		}
		r.Value = d.Bytes()
		r.Headers = r.Headers[:0]
		hn := d.Count(2)
		if hn == 0 {
			r.Headers = nil
		}
		for range hn {
			k := d.Bytes()
			v := d.Bytes()
			r.Headers = append(r.Headers, record.Header{Key: string(k), Value: v})
		}
		if err := d.Err(); err != nil {
			return dst[:0], fmt.Errorf("record %d: %w", i, err)
		}
	}
	if err := d.Finish(); err != nil {
		return dst[:0], err
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
			dst = wire.AppendString(dst, string(we.Code))
			dst = wire.AppendString(dst, we.Message)
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
		dst = appendRecord(dst, r)
	}
	return dst
}

// appendRecords writes a binary produce body (sdk/wire's format) from
// records; the forwarding client sends partition batches with it.
func appendRecords(dst []byte, recs []record.Record) []byte {
	dst = append(dst, wire.BinaryVersion)
	dst = binary.AppendUvarint(dst, uint64(len(recs)))
	for i := range recs {
		r := &recs[i]
		dst = appendRecord(dst, r)
	}
	return dst
}

// appendRecord writes one record of sdk/wire's binary format (flags,
// timestamp, key, value, headers).
func appendRecord(dst []byte, r *record.Record) []byte {
	var flags byte
	if r.Key != nil {
		flags = flagKey
	}
	dst = append(dst, flags)
	dst = binary.AppendVarint(dst, r.Timestamp)
	if r.Key != nil {
		dst = wire.AppendBytes(dst, r.Key)
	}
	dst = wire.AppendBytes(dst, r.Value)
	dst = binary.AppendUvarint(dst, uint64(len(r.Headers)))
	for _, h := range r.Headers {
		dst = wire.AppendString(dst, h.Key)
		dst = wire.AppendBytes(dst, h.Value)
	}
	return dst
}
