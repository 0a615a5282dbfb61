package sdk

// The ABI v1 plumbing (docs/plugin-abi.md) as plain Go over byte slices.
// exports_wasip1.go wires these functions to the module's exports; local.go
// drives them off Wasm for tests.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ABIVersion is the plugin ABI version this SDK implements.
const ABIVersion = 1

var le = binary.LittleEndian

// out is the module's reusable result buffer. The host reads a result
// before it calls the module again, so one buffer serves every call.
var out []byte

var errMalformed = errors.New("malformed input from host")

// errorResult writes a status-1 result with msg.
func errorResult(msg string) []byte {
	out = append(out[:0], 1, 0, 0, 0, 0, 0, 0, 0)
	le.PutUint32(out[4:], uint32(len(msg)))
	out = append(out, msg...)
	return out
}

// handleInit decodes the parameters, runs the OnInit functions and returns
// the init result.
func handleInit(in []byte) []byte {
	p, err := decodeParams(in)
	if err != nil {
		return errorResult(err.Error())
	}
	params = p
	for _, fn := range initFns {
		if err := runGuarded(fn); err != nil {
			return errorResult(err.Error())
		}
	}
	return append(out[:0], 0, 0, 0, 0)
}

func decodeParams(b []byte) (map[string]string, error) {
	if len(b) < 4 {
		return nil, errMalformed
	}
	n := le.Uint32(b)
	p := 4
	m := make(map[string]string, min(n, 1024))
	for range n {
		k, q, err := takeLen(b, p)
		if err != nil {
			return nil, err
		}
		v, q, err := takeLen(b, q)
		if err != nil {
			return nil, err
		}
		m[string(k)] = string(v)
		p = q
	}
	return m, nil
}

// handlePartition runs the partition function over a batch and returns the
// partition result.
func handlePartition(in []byte, partitions int) (res []byte) {
	if fieldPart != nil {
		return handleFieldPartition(in, partitions)
	}
	if partitionFn == nil {
		return errorResult("this module registered no partition function (call sdk.HandlePartition in init)")
	}
	count, recs, err := batchHeader(in)
	if err != nil {
		return errorResult(err.Error())
	}
	out = append(out[:0], make([]byte, 8+4*count)...)
	le.PutUint32(out[4:], count)
	// One recover guard for the whole batch: a panic in user code fails the
	// batch with a message instead of trapping.
	defer recoverResult(&res)
	fn := partitionFn
	res = out
	var r Record
	for i := range int(count) {
		if recs, err = decodeRecord(recs, &r); err != nil {
			return errorResult(fmt.Sprintf("record %d: %v", i, err))
		}
		part := fn(r, partitions)
		if part < 0 || part >= partitions {
			return errorResult(fmt.Sprintf("partition function returned %d for record %d; want [0, %d)", part, i, partitions))
		}
		le.PutUint32(res[8+4*i:], uint32(int32(part)))
	}
	return res
}

// recoverResult turns a panic in user code into an error result, so a bug
// in a handler fails the batch with a message instead of trapping.
func recoverResult(res *[]byte) {
	if v := recover(); v != nil {
		*res = errorResult(fmt.Sprintf("panic: %v", v))
	}
}

// handleProcess runs the process function over a batch and returns the
// process result.
func handleProcess(in []byte, partition int32) []byte {
	if processFn == nil {
		return errorResult("this module registered no process function (call sdk.HandleProcess in init)")
	}
	count, recs, err := batchHeader(in)
	if err != nil {
		return errorResult(err.Error())
	}
	out = append(out[:0], 0, 0, 0, 0, 0, 0, 0, 0)
	var emitted uint32
	var src int64
	emit := func(o Record) {
		out = appendRecord(out, &o, src)
		emitted++
	}
	err = runGuarded(func() error {
		var r Record
		var err error
		for i := range int(count) {
			if recs, err = decodeRecord(recs, &r); err != nil {
				return fmt.Errorf("record %d: %w", i, err)
			}
			r.Partition = partition
			src = r.Offset
			if err := processFn(r, emit); err != nil {
				return fmt.Errorf("record at offset %d: %w", r.Offset, err)
			}
		}
		return nil
	})
	if err != nil {
		return errorResult(err.Error())
	}
	le.PutUint32(out[4:], emitted)
	return out
}

// runGuarded turns a panic in user code into an error, so a bug in a
// handler fails the batch with a message instead of trapping.
func runGuarded(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return fn()
}

func batchHeader(in []byte) (uint32, []byte, error) {
	if len(in) < 4 {
		return 0, nil, errMalformed
	}
	n := le.Uint32(in)
	if uint64(n) > uint64(len(in)/recordFixed) {
		return 0, nil, errMalformed
	}
	return n, in[4:], nil
}

// recordFixed is the size of a record with no key, value or headers,
// including its size prefix.
const recordFixed = 4 + 8 + 8 + 4 + 4 + 4

// decodeRecord decodes the record at the start of b into r (slices alias b)
// and returns the rest of b. It is the per-record hot path, written without
// helper calls: each call costs tens of nanoseconds in Go's Wasm code.
func decodeRecord(b []byte, r *Record) ([]byte, error) {
	if len(b) < recordFixed {
		return nil, errMalformed
	}
	size := uint64(le.Uint32(b))
	if size+4 > uint64(len(b)) || size < recordFixed-4 {
		return nil, errMalformed
	}
	end := int(size) + 4
	rec := b[:end:end]
	r.Offset = int64(le.Uint64(rec[4:]))
	r.Timestamp = int64(le.Uint64(rec[12:]))
	p := 24
	if kl := int32(le.Uint32(rec[20:])); kl == -1 {
		r.Key = nil
	} else {
		if kl < 0 || int64(kl) > int64(end-p-8) {
			return nil, errMalformed
		}
		r.Key = rec[p : p+int(kl) : p+int(kl)]
		p += int(kl)
	}
	vl := uint64(le.Uint32(rec[p:]))
	p += 4
	if vl > uint64(end-p-4) {
		return nil, errMalformed
	}
	r.Value = rec[p : p+int(vl) : p+int(vl)]
	p += int(vl)
	hn := le.Uint32(rec[p:])
	p += 4
	r.Headers = nil
	if hn > 0 {
		if uint64(hn) > uint64((end-p)/8) {
			return nil, errMalformed
		}
		var err error
		r.Headers = make([]Header, hn)
		for j := range r.Headers {
			var k []byte
			if k, p, err = takeLen(rec, p); err != nil {
				return nil, err
			}
			r.Headers[j].Key = string(k)
			if r.Headers[j].Value, p, err = takeLen(rec, p); err != nil {
				return nil, err
			}
		}
	}
	if p != end {
		return nil, errMalformed
	}
	return b[end:], nil
}

func takeLen(b []byte, p int) ([]byte, int, error) {
	if p+4 > len(b) {
		return nil, 0, errMalformed
	}
	return take(b, p+4, int64(le.Uint32(b[p:])))
}

func take(b []byte, p int, n int64) ([]byte, int, error) {
	if n < 0 || int64(p)+n > int64(len(b)) {
		return nil, 0, errMalformed
	}
	e := p + int(n)
	return b[p:e:e], e, nil
}

// appendRecord appends r encoded with the given offset field.
func appendRecord(b []byte, r *Record, offset int64) []byte {
	size := recordFixed - 4 + len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		size += 8 + len(h.Key) + len(h.Value)
	}
	b = le.AppendUint32(b, uint32(size))
	b = le.AppendUint64(b, uint64(offset))
	b = le.AppendUint64(b, uint64(r.Timestamp))
	if r.Key == nil {
		b = le.AppendUint32(b, math.MaxUint32)
	} else {
		b = le.AppendUint32(b, uint32(len(r.Key)))
		b = append(b, r.Key...)
	}
	b = le.AppendUint32(b, uint32(len(r.Value)))
	b = append(b, r.Value...)
	b = le.AppendUint32(b, uint32(len(r.Headers)))
	for _, h := range r.Headers {
		b = le.AppendUint32(b, uint32(len(h.Key)))
		b = append(b, h.Key...)
		b = le.AppendUint32(b, uint32(len(h.Value)))
		b = append(b, h.Value...)
	}
	return b
}
