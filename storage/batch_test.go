package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/sluicehq/sluice/record"
)

// encodeForTest encodes recs as Append does and seals the batch at base.
func encodeForTest(recs []record.Record, base int64, epoch int32, now int64) []byte {
	return encodeForTestAs(recs, base, epoch, now, Producer{ID: NoProducer})
}

// encodeForTestAs is encodeForTest for a batch written by prod.
func encodeForTestAs(recs []record.Record, base int64, epoch int32, now int64, prod Producer) []byte {
	ts, first, maxTS := timestamps(recs, now)
	size := encodedSizeFor(recs, ts, first, prod)
	raw := encodeBatchInto(make([]byte, 0, size), recs, ts, first, maxTS, epoch, size, prod)
	stamp(raw, base)
	return raw
}

func TestBatchRoundTrip(t *testing.T) {
	in := []record.Record{
		{Key: nil, Value: []byte("no key"), Timestamp: 1000},
		{Key: []byte{}, Value: []byte("empty key"), Timestamp: 999},
		{Key: []byte("k"), Value: nil, Timestamp: 0}, // stamped with now
		{Key: []byte("h"), Value: []byte{}, Timestamp: math.MinInt64 + 1, Headers: []record.Header{
			{Key: "a", Value: []byte("1")}, {Key: "a", Value: nil}, {Key: "", Value: []byte{}},
		}},
		{Key: []byte("big"), Value: bytes.Repeat([]byte{7}, 70000), Timestamp: math.MaxInt64},
	}
	raw := encodeForTest(in, 42, 7, 5000)
	b, err := DecodeBatch(raw)
	if err != nil {
		t.Fatal(err)
	}
	if b.BaseOffset != 42 || b.LastOffset != 46 || b.LeaderEpoch != 7 || b.FirstTimestamp != 1000 || b.MaxTimestamp != math.MaxInt64 {
		t.Fatalf("header %+v", b)
	}
	for i, r := range b.Records {
		want := in[i]
		if want.Timestamp == 0 {
			want.Timestamp = 5000
		}
		if r.Offset != 42+int64(i) || r.Timestamp != want.Timestamp {
			t.Errorf("record %d: offset %d ts %d, want %d", i, r.Offset, r.Timestamp, want.Timestamp)
		}
		if (r.Key == nil) != (want.Key == nil) || !bytes.Equal(r.Key, want.Key) {
			t.Errorf("record %d key %q (nil %v), want %q (nil %v)", i, r.Key, r.Key == nil, want.Key, want.Key == nil)
		}
		if (r.Value == nil) != (want.Value == nil) || !bytes.Equal(r.Value, want.Value) {
			t.Errorf("record %d value differs (nil %v want nil %v)", i, r.Value == nil, want.Value == nil)
		}
		if len(r.Headers) != len(want.Headers) {
			t.Fatalf("record %d: %d headers, want %d", i, len(r.Headers), len(want.Headers))
		}
		for j, h := range r.Headers {
			w := want.Headers[j]
			if h.Key != w.Key || (h.Value == nil) != (w.Value == nil) || !bytes.Equal(h.Value, w.Value) {
				t.Errorf("record %d header %d = %+v, want %+v", i, j, h, w)
			}
		}
	}
}

func TestDecodeBatchRejectsDamage(t *testing.T) {
	raw := encodeForTest(recs("x", 5), 10, 1, 1)
	for i := range raw {
		bad := bytes.Clone(raw)
		bad[i] ^= 0x20
		if _, err := DecodeBatch(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flipped byte %d: err %v, want ErrCorrupt", i, err)
		}
	}
	for n := 0; n < len(raw); n++ {
		if _, err := DecodeBatch(raw[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d: err %v, want ErrCorrupt", n, err)
		}
	}
}

// FuzzDecodeBatch: no input makes the decoder panic or read out of range;
// anything it accepts re-encodes to the same bytes. Each input is decoded as
// given and once more with its length field and CRC fixed up, so the fuzzer
// reaches the record parser instead of stopping at the checksum.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(encodeForTest(recs("seed", 3), 0, 0, 1))
	f.Add(encodeForTest([]record.Record{{Value: []byte("v"), Headers: []record.Header{{Key: "h", Value: nil}}}}, 1<<40, 9, 77))
	f.Add([]byte{})
	f.Add(encodeForTestAs(recs("idem", 2), 5, 3, 1, Producer{ID: 1 << 62, Epoch: 2, BaseSequence: 10, LastSequence: 14}))
	f.Fuzz(func(t *testing.T, raw []byte) {
		check := func(raw []byte) {
			b, err := DecodeBatch(raw)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error %v does not wrap ErrCorrupt", err)
				}
				return
			}
			again := encodeForTestAs(b.Records, b.BaseOffset, b.LeaderEpoch, 0, b.Producer)
			if !bytes.Equal(again, raw) {
				t.Fatalf("accepted batch does not re-encode to itself")
			}
		}
		check(raw)
		if len(raw) >= batchHeaderSize {
			sealed := bytes.Clone(raw)
			binary.BigEndian.PutUint32(sealed[offLength:], uint32(len(sealed)))
			binary.BigEndian.PutUint32(sealed[offCRC:], checksum(sealed))
			check(sealed)
		}
	})
}
