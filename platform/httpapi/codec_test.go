package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

func sampleWireRecords() []wire.Record {
	return []wire.Record{
		{Key: []byte("k1"), Value: []byte("v1"), Timestamp: 1700000000000},
		{Value: []byte("no key")},
		{Key: []byte{}, Value: []byte{}, Headers: []wire.Header{{Key: "a", Value: []byte("1")}, {Key: "a", Value: nil}}},
		{Key: []byte{0xff, 0}, Value: bytes.Repeat([]byte{7}, 300), Timestamp: -5},
	}
}

func TestDecodeRecordsMatchesWire(t *testing.T) {
	body := wire.AppendRecords(nil, sampleWireRecords())
	want, err := wire.DecodeRecords(body)
	if err != nil {
		t.Fatal(err)
	}
	// Decode twice into the same slice: reuse must not leak old fields.
	dst := make([]record.Record, 0, 1)
	for range 2 {
		got, err := decodeRecords(dst[:0], body)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d records, want %d", len(got), len(want))
		}
		for i := range got {
			if !sameRecord(&got[i], &want[i]) {
				t.Fatalf("record %d: %+v, want %+v", i, got[i], want[i])
			}
		}
		dst = got
	}
}

func sameRecord(r *record.Record, w *wire.Record) bool {
	if r.Timestamp != w.Timestamp || (r.Key == nil) != (w.Key == nil) || !bytes.Equal(r.Key, w.Key) ||
		!bytes.Equal(r.Value, w.Value) || len(r.Headers) != len(w.Headers) {
		return false
	}
	for i := range r.Headers {
		if r.Headers[i].Key != w.Headers[i].Key || !bytes.Equal(r.Headers[i].Value, w.Headers[i].Value) {
			return false
		}
	}
	return true
}

func TestDecodeRecordsRefusesMalformed(t *testing.T) {
	good := wire.AppendRecords(nil, sampleWireRecords())
	cases := map[string][]byte{
		"empty":          {},
		"bad version":    append([]byte{9}, good[1:]...),
		"truncated":      good[:len(good)-3],
		"trailing bytes": append(bytes.Clone(good), 0),
		"huge count":     {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"unknown flags":  {1, 1, 0x02, 0, 0, 0},
	}
	for name, body := range cases {
		if _, err := decodeRecords(nil, body); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", name, err)
		}
	}
}

func FuzzDecodeRecords(f *testing.F) {
	f.Add(wire.AppendRecords(nil, sampleWireRecords()))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeRecords(nil, body)
		want, werr := wire.DecodeRecords(body)
		if (err == nil) != (werr == nil) {
			t.Fatalf("httpapi err %v, wire err %v", err, werr)
		}
		if err != nil {
			return
		}
		for i := range got {
			if !sameRecord(&got[i], &want[i]) {
				t.Fatalf("record %d differs", i)
			}
		}
	})
}

func TestAppendResultsMatchesWire(t *testing.T) {
	rs := []broker.ProduceResult{
		{Partition: 3, Offset: 41},
		{Partition: 0, Offset: -1, Err: fmt.Errorf("x: %w", broker.ErrNotEnoughReplicas)},
		{Partition: 2, Offset: 1 << 40},
	}
	got, err := wire.DecodeProduceResults(appendResults(nil, rs))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Partition != 3 || got[0].Offset != 41 || got[2].Offset != 1<<40 ||
		got[1].Error == nil || got[1].Error.Code != wire.CodeNotEnoughReplicas {
		t.Fatalf("decoded %+v", got)
	}
}

func TestAppendFetchMatchesWire(t *testing.T) {
	res := broker.FetchResult{NextOffset: 12, ReadInfo: broker.ReadInfo{LogStart: 1, LogEnd: 20, HighWatermark: 15},
		Records: []record.Record{
			{Offset: 10, Timestamp: 5, Key: []byte("k"), Value: []byte("v"), Headers: []record.Header{{Key: "h", Value: []byte("x")}}},
			{Offset: 11, Timestamp: 6, Value: []byte("nokey")},
		}}
	fb, err := wire.DecodeFetchBatch(appendFetch(nil, 7, &res))
	if err != nil {
		t.Fatal(err)
	}
	if fb.Partition != 7 || fb.NextOffset != 12 || fb.HighWatermark != 15 || fb.LogStart != 1 || fb.LogEnd != 20 || len(fb.Records) != 2 {
		t.Fatalf("decoded header %+v", fb)
	}
	for i := range fb.Records {
		if fb.Records[i].Offset != res.Records[i].Offset || !sameRecord(&res.Records[i], &fb.Records[i]) {
			t.Fatalf("record %d: %+v", i, fb.Records[i])
		}
	}
	if fb.Records[1].Key != nil {
		t.Fatal("a record without a key came back with one")
	}
}

func BenchmarkDecodeRecords(b *testing.B) {
	recs := make([]wire.Record, 1000)
	for i := range recs {
		recs[i] = wire.Record{Key: fmt.Appendf(nil, "key-%d", i), Value: bytes.Repeat([]byte{'x'}, 1024)}
	}
	body := wire.AppendRecords(nil, recs)
	dst := make([]record.Record, 0, len(recs))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = decodeRecords(dst[:0], body); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAppendRecordsRoundTrips(t *testing.T) {
	want := sampleWireRecords()
	recs, err := decodeRecords(nil, wire.AppendRecords(nil, want))
	if err != nil {
		t.Fatal(err)
	}
	again, err := wire.DecodeRecords(appendRecords(nil, recs))
	if err != nil || len(again) != len(want) {
		t.Fatalf("%d records, %v", len(again), err)
	}
	for i := range again {
		if !sameRecord(&recs[i], &again[i]) {
			t.Fatalf("record %d: %+v, want %+v", i, again[i], recs[i])
		}
	}
}
