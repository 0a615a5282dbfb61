// Package fieldpart computes, over an ABI v1 record batch
// (docs/plugin-abi.md, section 3), the partition Kafka's default
// partitioner gives the text of a JSON field of each record's value. It is
// the work of the host function sluice.partition_by_json_field (section
// 12), shared by the host, which runs it natively for a module, and the Go
// SDK, which runs it off Wasm (in plain `go test`), so both agree byte for
// byte. It imports only the SDK's jsonscan.
package fieldpart

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/sluicehq/sluice/sdk/jsonscan"
)

var le = binary.LittleEndian

// Missing is the partition reported for a record whose value is not a JSON
// object with the field (or whose batch entry has no value).
const Missing = -1

// ErrMalformed: the batch does not follow the ABI layout.
var ErrMalformed = errors.New("malformed record batch")

// recordFixed is the encoded size of an empty record with its size prefix.
const recordFixed = 4 + 8 + 8 + 4 + 4 + 4

// Partitions writes to out[i], for each record i of batch, the partition
// in [0, partitions) of the text (jsonscan.Text) of the value at path in
// the record's value ((Murmur2(text) & 0x7fffffff) % partitions), or
// Missing. It returns the record count. out must have room for every
// record; partitions must be at least 1. It allocates only for field
// strings with escapes.
func Partitions(batch []byte, path []string, partitions int, out []int32) (int, error) {
	if partitions < 1 || partitions > math.MaxInt32 {
		return 0, fmt.Errorf("%d partitions", partitions)
	}
	if len(batch) < 4 {
		return 0, fmt.Errorf("%w: no record count", ErrMalformed)
	}
	count := le.Uint32(batch)
	if uint64(count) > uint64(len(batch)/recordFixed) {
		return 0, fmt.Errorf("%w: %d records cannot fit in %d bytes", ErrMalformed, count, len(batch))
	}
	if int(count) > len(out) {
		return 0, fmt.Errorf("room for %d results, the batch has %d records", len(out), count)
	}
	p := 4
	for i := range int(count) {
		if len(batch)-p < recordFixed {
			return 0, fmt.Errorf("%w: record %d truncated", ErrMalformed, i)
		}
		size := int(le.Uint32(batch[p:]))
		end := p + 4 + size
		if size < recordFixed-4 || end > len(batch) || end < p {
			return 0, fmt.Errorf("%w: record %d size %d does not fit", ErrMalformed, i, size)
		}
		q := p + 20 // key length
		if k := int32(le.Uint32(batch[q:])); k > 0 {
			q += int(k)
		} else if k < -1 {
			return 0, fmt.Errorf("%w: record %d key length %d", ErrMalformed, i, k)
		}
		q += 4
		if q+4 > end {
			return 0, fmt.Errorf("%w: record %d value length past its end", ErrMalformed, i)
		}
		vlen := int(le.Uint32(batch[q:]))
		q += 4
		if vlen > end-q {
			return 0, fmt.Errorf("%w: record %d value of %d bytes past its end", ErrMalformed, i, vlen)
		}
		out[i] = Partition(batch[q:q+vlen], path, partitions)
		p = end
	}
	return int(count), nil
}

// Partition is the partition in [0, partitions) of the text
// (jsonscan.Text) of the value at path in value, read as JSON
// ((Murmur2(text) & 0x7fffffff) % partitions), or Missing. partitions must
// be at least 1. It is Partitions' work for one record, and the host
// function sluice.partition_call_by_json_field's, which reads the call's
// records where the host holds them.
func Partition(value []byte, path []string, partitions int) int32 {
	raw, ok := jsonscan.Get(value, path...)
	if !ok {
		return Missing
	}
	return int32(int(Murmur2(jsonscan.Text(raw))&0x7fffffff) % partitions)
}

// Murmur2 is Kafka's 32-bit murmur2 hash (Utils.murmur2, seed 0x9747b28c,
// signed result): the one implementation sdk.Murmur2 and
// partitioner.Murmur2 (the broker's hash partitioner) both call.
func Murmur2(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
	)
	n := len(data)
	h := seed ^ uint32(n)
	i := 0
	for ; i+4 <= n; i += 4 {
		k := le.Uint32(data[i:])
		k *= m
		k ^= k >> 24
		k *= m
		h *= m
		h ^= k
	}
	switch n - i {
	case 3:
		h ^= uint32(data[i+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[i+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[i])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}
