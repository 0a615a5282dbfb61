package plugins

// Host-side encoding and decoding of the ABI v1 byte layouts
// (docs/plugin-abi.md, sections 3 to 5). Pure functions over byte slices,
// so the layouts are tested without Wasm.

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/sluicehq/sluice/record"
)

var le = binary.LittleEndian

// Result status values.
const (
	statusOK    = 0
	statusError = 1
)

// recordFixed is the encoded size of a record with empty key, value and no
// headers, including its size prefix.
const recordFixed = 4 + 8 + 8 + 4 + 4 + 4

// fields says which optional record fields a batch carries. Keys, offsets
// and timestamps are always sent; a partitioner may declare (export
// sluice_partition_fields) that it reads neither values nor headers, which
// then go as empty, saving the copy of every value into the plugin.
type fields uint32

const (
	fieldValue   fields = 1 << 0
	fieldHeaders fields = 1 << 1
	allFields           = fieldValue | fieldHeaders
)

// recordSize is the encoded size of r including its u32 size prefix.
func recordSize(r *record.Record, f fields) int {
	n := recordFixed + len(r.Key)
	if f&fieldValue != 0 {
		n += len(r.Value)
	}
	if f&fieldHeaders != 0 {
		for _, h := range r.Headers {
			n += 8 + len(h.Key) + len(h.Value)
		}
	}
	return n
}

// batchSize is the encoded size of a record batch.
func batchSize(recs []record.Record, f fields) int {
	n := 4
	for i := range recs {
		n += recordSize(&recs[i], f)
	}
	return n
}

// encodeBatch writes recs into b, which must be batchSize(recs, f) long.
func encodeBatch(b []byte, recs []record.Record, f fields) {
	le.PutUint32(b, uint32(len(recs)))
	p := 4
	for i := range recs {
		p += putRecord(b[p:], &recs[i], recs[i].Offset, f)
	}
}

// putRecord encodes r with the given offset field and returns its size.
func putRecord(b []byte, r *record.Record, offset int64, f fields) int {
	size := recordSize(r, f)
	le.PutUint32(b, uint32(size-4))
	le.PutUint64(b[4:], uint64(offset))
	le.PutUint64(b[12:], uint64(r.Timestamp))
	p := 20
	if r.Key == nil {
		le.PutUint32(b[p:], math.MaxUint32) // -1: no key
		p += 4
	} else {
		le.PutUint32(b[p:], uint32(len(r.Key)))
		p += 4 + copy(b[p+4:], r.Key)
	}
	if f&fieldValue != 0 {
		le.PutUint32(b[p:], uint32(len(r.Value)))
		p += 4 + copy(b[p+4:], r.Value)
	} else {
		le.PutUint32(b[p:], 0)
		p += 4
	}
	if f&fieldHeaders == 0 {
		le.PutUint32(b[p:], 0)
		return p + 4
	}
	le.PutUint32(b[p:], uint32(len(r.Headers)))
	p += 4
	for _, h := range r.Headers {
		le.PutUint32(b[p:], uint32(len(h.Key)))
		p += 4 + copy(b[p+4:], h.Key)
		le.PutUint32(b[p:], uint32(len(h.Value)))
		p += 4 + copy(b[p+4:], h.Value)
	}
	return p
}

// encodeParams encodes parameters sorted by key.
func encodeParams(params map[string]string) []byte {
	keys := make([]string, 0, len(params))
	n := 4
	for k, v := range params {
		keys = append(keys, k)
		n += 8 + len(k) + len(v)
	}
	slices.Sort(keys)
	b := make([]byte, n)
	le.PutUint32(b, uint32(len(keys)))
	p := 4
	for _, k := range keys {
		le.PutUint32(b[p:], uint32(len(k)))
		p += 4 + copy(b[p+4:], k)
		v := params[k]
		le.PutUint32(b[p:], uint32(len(v)))
		p += 4 + copy(b[p+4:], v)
	}
	return b
}

// pluginError is an error result (status 1) returned by a plugin. The
// instance that returned it is healthy.
type pluginError struct{ msg string }

func (e *pluginError) Error() string { return e.msg }

// maxMessage bounds the part of a plugin's error message that is kept.
const maxMessage = 4096

// parseStatus splits a result into its body (status 0) or returns the
// plugin's error (*pluginError, status 1) or a malformed-output error.
func parseStatus(b []byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: result of %d bytes has no status", ErrBadOutput, len(b))
	}
	switch st := le.Uint32(b); st {
	case statusOK:
		return b[4:], nil
	case statusError:
		if len(b) < 8 {
			return nil, fmt.Errorf("%w: error result without message length", ErrBadOutput)
		}
		n := le.Uint32(b[4:])
		if uint64(n) != uint64(len(b)-8) {
			return nil, fmt.Errorf("%w: error message length %d, but %d bytes follow", ErrBadOutput, n, len(b)-8)
		}
		msg := b[8:]
		if len(msg) > maxMessage {
			msg = msg[:maxMessage]
		}
		return nil, &pluginError{msg: string(msg)}
	default:
		return nil, fmt.Errorf("%w: unknown result status %d", ErrBadOutput, st)
	}
}

// parsePartitions checks a partition result body and copies it into out.
func parsePartitions(body []byte, partitions int, out []int32) error {
	if len(body) < 4 {
		return fmt.Errorf("%w: partition result has no count", ErrBadOutput)
	}
	n := le.Uint32(body)
	if uint64(n) != uint64(len(out)) {
		return fmt.Errorf("%w: %d partitions returned for %d records", ErrBadOutput, n, len(out))
	}
	if len(body) != 4+4*len(out) {
		return fmt.Errorf("%w: partition result is %d bytes, want %d", ErrBadOutput, len(body), 4+4*len(out))
	}
	for i := range out {
		p := int32(le.Uint32(body[4+4*i:]))
		if p < 0 || int(p) >= partitions {
			return fmt.Errorf("%w: record %d: partition %d out of range [0, %d)", ErrBadOutput, i, p, partitions)
		}
		out[i] = p
	}
	return nil
}

// parseOutputs decodes a process result body. The returned records alias
// body, which the caller must own. Every source offset must name an input
// record, in input order.
func parseOutputs(body []byte, in []record.Record) ([]Output, error) {
	if len(body) < 4 {
		return nil, fmt.Errorf("%w: process result has no count", ErrBadOutput)
	}
	n := le.Uint32(body)
	if uint64(n) > uint64(len(body)/recordFixed) {
		return nil, fmt.Errorf("%w: %d output records cannot fit in %d bytes", ErrBadOutput, n, len(body))
	}
	outs := make([]Output, n)
	p, src := 4, 0
	for i := range outs {
		size, err := decodeRecord(body[p:], &outs[i].Record)
		if err != nil {
			return nil, fmt.Errorf("%w: output record %d: %v", ErrBadOutput, i, err)
		}
		p += size
		off := outs[i].Record.Offset
		for src < len(in) && in[src].Offset != off {
			src++
		}
		if src == len(in) {
			return nil, fmt.Errorf("%w: output record %d names source offset %d, which is not an input record at or after the previous output's", ErrBadOutput, i, off)
		}
		outs[i].SourceOffset = off
	}
	if p != len(body) {
		return nil, fmt.Errorf("%w: %d bytes after the last output record", ErrBadOutput, len(body)-p)
	}
	return outs, nil
}

// decodeRecord decodes one size-prefixed record from b into r (slices alias
// b) and returns the bytes consumed.
func decodeRecord(b []byte, r *record.Record) (int, error) {
	if len(b) < recordFixed {
		return 0, fmt.Errorf("truncated record (%d bytes)", len(b))
	}
	size := le.Uint32(b)
	if uint64(size)+4 > uint64(len(b)) || size < recordFixed-4 {
		return 0, fmt.Errorf("record size %d does not fit the %d bytes left", size, len(b)-4)
	}
	end := int(size) + 4
	rec := b[:end]
	r.Offset = int64(le.Uint64(rec[4:]))
	r.Timestamp = int64(le.Uint64(rec[12:]))
	p := 20
	var err error
	keyLen := int32(le.Uint32(rec[p:]))
	p += 4
	if keyLen == -1 {
		r.Key = nil
	} else if r.Key, p, err = take(rec, p, int64(keyLen)); err != nil {
		return 0, fmt.Errorf("key: %w", err)
	}
	var v []byte
	if v, p, err = takeLen(rec, p); err != nil {
		return 0, fmt.Errorf("value: %w", err)
	}
	r.Value = v
	if p+4 > end {
		return 0, fmt.Errorf("truncated header count")
	}
	hn := le.Uint32(rec[p:])
	p += 4
	if uint64(hn) > uint64((end-p)/8) {
		return 0, fmt.Errorf("%d headers cannot fit in %d bytes", hn, end-p)
	}
	r.Headers = nil
	if hn > 0 {
		r.Headers = make([]record.Header, hn)
		for j := range r.Headers {
			var k []byte
			if k, p, err = takeLen(rec, p); err != nil {
				return 0, fmt.Errorf("header %d key: %w", j, err)
			}
			r.Headers[j].Key = string(k)
			if r.Headers[j].Value, p, err = takeLen(rec, p); err != nil {
				return 0, fmt.Errorf("header %d value: %w", j, err)
			}
		}
	}
	if p != end {
		return 0, fmt.Errorf("record size %d but fields use %d bytes", size, p-4)
	}
	if r.Value == nil {
		r.Value = []byte{}
	}
	return end, nil
}

// takeLen reads a u32 length and that many bytes at p.
func takeLen(b []byte, p int) ([]byte, int, error) {
	if p+4 > len(b) {
		return nil, 0, fmt.Errorf("truncated length")
	}
	return take(b, p+4, int64(le.Uint32(b[p:])))
}

// take returns n bytes at p (capacity clipped so appends never overwrite a
// neighbour).
func take(b []byte, p int, n int64) ([]byte, int, error) {
	if n < 0 || int64(p)+n > int64(len(b)) {
		return nil, 0, fmt.Errorf("length %d does not fit the %d bytes left", n, len(b)-p)
	}
	e := p + int(n)
	return b[p:e:e], e, nil
}
