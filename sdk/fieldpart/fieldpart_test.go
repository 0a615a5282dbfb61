package fieldpart_test

import (
	"encoding/binary"
	"errors"
	"github.com/sluicehq/sluice/sdk/fieldpart"
	"testing"
)

// batch encodes records as the host does (docs/plugin-abi.md section 3):
// values given, keys nil or set, one header on every record.
func batch(keys []*string, values []string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(values)))
	for i, v := range values {
		var rec []byte
		rec = binary.LittleEndian.AppendUint64(rec, uint64(i))
		rec = binary.LittleEndian.AppendUint64(rec, 1764085200000)
		if keys[i] == nil {
			rec = binary.LittleEndian.AppendUint32(rec, 0xffffffff)
		} else {
			rec = binary.LittleEndian.AppendUint32(rec, uint32(len(*keys[i])))
			rec = append(rec, *keys[i]...)
		}
		rec = binary.LittleEndian.AppendUint32(rec, uint32(len(v)))
		rec = append(rec, v...)
		rec = binary.LittleEndian.AppendUint32(rec, 1)
		rec = binary.LittleEndian.AppendUint32(rec, 1)
		rec = append(rec, 'h')
		rec = binary.LittleEndian.AppendUint32(rec, 2)
		rec = append(rec, "hv"...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(rec)))
		b = append(b, rec...)
	}
	return b
}

func str(s string) *string { return &s }

func TestPartitionsMatchKafkaHashOfTheField(t *testing.T) {
	values := []string{
		`{"order":1,"customer_id":"c-42"}`,
		`{"customer_id":7,"x":[1,2]}`,
		`{"customer":{"id":"nested"},"customer_id":"c-\u0034\u0032"}`,
		`not json`,
		`{"other":1}`,
		``,
	}
	keys := []*string{nil, str("k"), str(""), str("k2"), nil, nil}
	out := make([]int32, len(values))
	n, err := fieldpart.Partitions(batch(keys, values), []string{"customer_id"}, 12, out)
	if err != nil || n != len(values) {
		t.Fatalf("n %d err %v", n, err)
	}
	// Kafka's default partition (murmur2, positive, modulo) of the keys, as
	// the server's partitioner computes them: "c-42" → 0 and "7" → 3 of 12,
	// "nested" → 2 of 5 (checked against partitioner.HashPartition in e2e).
	want := []int32{0, 3, 0, fieldpart.Missing, fieldpart.Missing, fieldpart.Missing}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("record %d (%s): %d, want %d", i, values[i], out[i], want[i])
		}
	}
	if _, err := fieldpart.Partitions(batch(keys, values), []string{"customer", "id"}, 5, out); err != nil || out[2] != 2 || out[0] != fieldpart.Missing {
		t.Fatalf("nested: %v %v", out, err)
	}
}

func TestPartitionsRefusesMalformedBatches(t *testing.T) {
	good := batch([]*string{str("k")}, []string{`{"a":"b"}`})
	out := make([]int32, 4)
	for name, b := range map[string][]byte{
		"empty":          nil,
		"count too high": binary.LittleEndian.AppendUint32(nil, 1000),
		"truncated":      good[:len(good)-1],
		"size too small": append(append([]byte{}, good[:4]...), 1, 0, 0, 0),
	} {
		if _, err := fieldpart.Partitions(b, []string{"a"}, 3, out); !errors.Is(err, fieldpart.ErrMalformed) {
			t.Errorf("%s: err = %v, want fieldpart.ErrMalformed", name, err)
		}
	}
	if _, err := fieldpart.Partitions(good, []string{"a"}, 0, out); err == nil {
		t.Error("0 partitions accepted")
	}
	if _, err := fieldpart.Partitions(good, []string{"a"}, 3, nil); err == nil {
		t.Error("no room for results accepted")
	}
}

// The batch comes back from plugin memory: any bytes must give an error or
// results in range, never a panic or a read past the input.
func FuzzPartitions(f *testing.F) {
	f.Add(batch([]*string{str("k"), nil}, []string{`{"a":"b"}`, `{"a":1}`}), "a", 7)
	f.Add(batch([]*string{nil}, []string{`{"a":{"b":"\u00e9"}}`}), "a.b", 1)
	f.Add([]byte{1, 0, 0, 0, 28, 0, 0, 0}, "a", 3)
	f.Fuzz(func(t *testing.T, b []byte, path string, partitions int) {
		if partitions < 1 || partitions > 1<<20 {
			return
		}
		out := make([]int32, len(b)/recordFixedSize+1)
		n, err := fieldpart.Partitions(b, splitDots(path), partitions, out)
		if err != nil {
			return
		}
		for i := range n {
			if out[i] != fieldpart.Missing && (out[i] < 0 || int(out[i]) >= partitions) {
				t.Fatalf("record %d: partition %d of %d", i, out[i], partitions)
			}
		}
	})
}

func splitDots(s string) []string {
	var parts []string
	start := 0
	for i := range len(s) {
		if s[i] == '.' {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// recordFixedSize is fieldpart's recordFixed: the encoded size of an empty
// record with its size prefix (docs/plugin-abi.md).
const recordFixedSize = 4 + 8 + 8 + 4 + 4 + 4
