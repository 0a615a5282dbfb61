package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

// storedBatch encodes a stored batch as the broker writes it (the layout
// of MediaTypeBatches; storage's own tests check the broker's encoder
// against this decoder on real files). pid >= 0 writes magic 2.
func encodeStored(base int64, firstTS int64, pid int64, recs []Record) []byte {
	hs := sbHeaderV1
	if pid >= 0 {
		hs = sbHeaderV2
	}
	b := make([]byte, hs)
	b[sbOffMagic] = 1
	if pid >= 0 {
		b[sbOffMagic] = 2
		binary.BigEndian.PutUint64(b[41:], uint64(pid))
		binary.BigEndian.PutUint64(b[51:], 0)
		binary.BigEndian.PutUint64(b[59:], uint64(len(recs)-1))
	}
	binary.BigEndian.PutUint64(b[sbOffBase:], uint64(base))
	binary.BigEndian.PutUint32(b[17:], 3) // leader epoch
	binary.BigEndian.PutUint32(b[sbOffCount:], uint32(len(recs)))
	binary.BigEndian.PutUint64(b[sbOffFirstTS:], uint64(firstTS))
	maxTS := firstTS
	nullable := func(dst, v []byte) []byte {
		if v == nil {
			return binary.AppendVarint(dst, -1)
		}
		return append(binary.AppendVarint(dst, int64(len(v))), v...)
	}
	for _, r := range recs {
		maxTS = max(maxTS, r.Timestamp)
		body := binary.AppendVarint(nil, r.Timestamp-firstTS)
		body = nullable(body, r.Key)
		body = nullable(body, r.Value)
		body = binary.AppendUvarint(body, uint64(len(r.Headers)))
		for _, h := range r.Headers {
			body = append(binary.AppendVarint(body, int64(len(h.Key))), h.Key...)
			body = nullable(body, h.Value)
		}
		b = binary.AppendUvarint(b, uint64(len(body)))
		b = append(b, body...)
	}
	binary.BigEndian.PutUint64(b[33:], uint64(maxTS))
	binary.BigEndian.PutUint32(b[sbOffLength:], uint32(len(b)))
	binary.BigEndian.PutUint32(b, crc32.Checksum(b[sbOffMagic:], castagnoli))
	return b
}

func batchesBody(h FetchBatchesHeader, batches ...[]byte) []byte {
	b := AppendFetchBatchesHeader(nil, h)
	for _, raw := range batches {
		b = append(b, raw...)
	}
	return b
}

func storedRecords(n int, ts int64) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Timestamp: ts + int64(i), Value: []byte{byte('a' + i)}}
	}
	recs[0].Key = []byte{}
	if n > 1 {
		recs[1].Key = []byte("k")
		recs[1].Headers = []Header{{Key: "h", Value: []byte("v")}, {Key: "", Value: nil}}
		recs[1].Value = nil
	}
	return recs
}

func TestDecodeFetchBatchesDeliversFromToNext(t *testing.T) {
	first := storedRecords(4, 1000)  // offsets 10..13
	second := storedRecords(3, 2000) // offsets 14..16, an idempotent producer's
	body := batchesBody(FetchBatchesHeader{Partition: 5, From: 11, NextOffset: 16, HighWatermark: 16, LogStart: 2, LogEnd: 17},
		encodeStored(10, 1000, -1, first), encodeStored(14, 2000, 77, second))
	fb, err := DecodeFetchBatches(body)
	if err != nil {
		t.Fatal(err)
	}
	if fb.Partition != 5 || fb.NextOffset != 16 || fb.HighWatermark != 16 || fb.LogStart != 2 || fb.LogEnd != 17 {
		t.Fatalf("header %+v", fb)
	}
	want := append(append([]Record(nil), first[1:]...), second[:2]...)
	if len(fb.Records) != len(want) {
		t.Fatalf("%d records, want %d (offsets 11..15)", len(fb.Records), len(want))
	}
	for i, r := range fb.Records {
		w := want[i]
		if r.Offset != int64(11+i) || r.Partition != 5 || r.Timestamp != w.Timestamp ||
			(r.Key == nil) != (w.Key == nil) || !bytes.Equal(r.Key, w.Key) ||
			(r.Value == nil) != (w.Value == nil) || !bytes.Equal(r.Value, w.Value) || len(r.Headers) != len(w.Headers) {
			t.Fatalf("record %d: %+v, want %+v at offset %d", i, r, w, 11+i)
		}
		for j, h := range r.Headers {
			if h.Key != w.Headers[j].Key || !bytes.Equal(h.Value, w.Headers[j].Value) || (h.Value == nil) != (w.Headers[j].Value == nil) {
				t.Fatalf("record %d header %d: %+v, want %+v", i, j, h, w.Headers[j])
			}
		}
	}
	// Values alias the body, clipped so an append cannot overwrite it.
	if v := fb.Records[1].Value; cap(v) != len(v) {
		t.Fatalf("value capacity %d, length %d", cap(v), len(v))
	}
}

func TestDecodeFetchBatchesEmpty(t *testing.T) {
	fb, err := DecodeFetchBatches(batchesBody(FetchBatchesHeader{From: 7, NextOffset: 7, HighWatermark: 7, LogEnd: 9}))
	if err != nil || len(fb.Records) != 0 || fb.NextOffset != 7 {
		t.Fatalf("empty answer: %+v, %v", fb, err)
	}
}

func TestDecodeFetchBatchesRefusesDamage(t *testing.T) {
	good := encodeStored(0, 5, -1, storedRecords(3, 5))
	hdr := FetchBatchesHeader{From: 0, NextOffset: 3, HighWatermark: 3, LogEnd: 3}
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 0x40; return b }
	cases := map[string][]byte{
		"flipped record byte":  batchesBody(hdr, flip(len(good)-1)),
		"flipped base offset":  batchesBody(hdr, flip(sbOffBase+7)),
		"truncated batch":      batchesBody(hdr, good[:len(good)-1]),
		"short header":         batchesBody(hdr, good[:20]),
		"overlapping batches":  batchesBody(FetchBatchesHeader{NextOffset: 3}, good, good),
		"next before from":     batchesBody(FetchBatchesHeader{From: 3, NextOffset: 2}, good),
		"wrong version":        append([]byte{9}, batchesBody(hdr, good)[1:]...),
		"trailing bytes":       append(batchesBody(hdr, good), 1, 2, 3),
		"header only, cut off": batchesBody(hdr)[:3],
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeFetchBatches(body); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
		})
	}
}

// FuzzDecodeFetchBatches reads stored-batch fetch answers: never a panic,
// refusals are ErrMalformed, and what decodes delivers records in offset
// order within [from, next_offset) whose bytes lie in the body.
func FuzzDecodeFetchBatches(f *testing.F) {
	recs := storedRecords(3, 100)
	f.Add(batchesBody(FetchBatchesHeader{From: 1, NextOffset: 5, HighWatermark: 5, LogEnd: 6},
		encodeStored(0, 100, -1, recs), encodeStored(3, 100, 9, recs)))
	f.Add(batchesBody(FetchBatchesHeader{From: 4, NextOffset: 4}))
	f.Fuzz(func(t *testing.T, b []byte) {
		fb, err := DecodeFetchBatches(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		prev := int64(-1)
		for _, r := range fb.Records {
			if r.Offset <= prev || r.Offset >= fb.NextOffset || r.Partition != fb.Partition {
				t.Fatalf("record at %d after %d, next %d", r.Offset, prev, fb.NextOffset)
			}
			prev = r.Offset
			if len(r.Value) > len(b) || len(r.Key) > len(b) {
				t.Fatal("record bytes longer than the body")
			}
		}
	})
}
