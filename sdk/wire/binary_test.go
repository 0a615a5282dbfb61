package wire

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func sampleRecords() []Record {
	return []Record{
		{Value: []byte("no key")},
		{Key: []byte{}, Value: []byte{}, Timestamp: 1}, // empty key differs from no key
		{Key: []byte("k"), Value: []byte("v"), Timestamp: 1_700_000_000_000,
			Headers: []Header{{Key: "a", Value: []byte("1")}, {Key: "a", Value: []byte{}}, {Key: "", Value: []byte{0xff}}}},
		{Key: bytes.Repeat([]byte{0}, 300), Value: bytes.Repeat([]byte("x"), 70_000), Timestamp: -5},
	}
}

// equalRecords compares records treating nil and empty values and headers
// as equal, but not nil and empty keys.
func equalRecords(t *testing.T, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if (g.Key == nil) != (w.Key == nil) || !bytes.Equal(g.Key, w.Key) {
			t.Errorf("record %d key = %q (nil %v), want %q (nil %v)", i, g.Key, g.Key == nil, w.Key, w.Key == nil)
		}
		if !bytes.Equal(g.Value, w.Value) || g.Timestamp != w.Timestamp || g.Offset != w.Offset || g.Partition != w.Partition {
			t.Errorf("record %d = %+v, want %+v", i, g, w)
		}
		if len(g.Headers) != len(w.Headers) {
			t.Fatalf("record %d: %d headers, want %d", i, len(g.Headers), len(w.Headers))
		}
		for j := range w.Headers {
			if g.Headers[j].Key != w.Headers[j].Key || !bytes.Equal(g.Headers[j].Value, w.Headers[j].Value) {
				t.Errorf("record %d header %d = %+v, want %+v", i, j, g.Headers[j], w.Headers[j])
			}
		}
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	recs := sampleRecords()
	body := AppendRecords(nil, recs)
	size := 2 // version, count (< 128)
	for i := range recs {
		size += RecordSize(&recs[i])
	}
	if len(body) != size {
		t.Errorf("body is %d bytes, RecordSize sums to %d", len(body), size)
	}
	got, err := DecodeRecords(body)
	if err != nil {
		t.Fatal(err)
	}
	equalRecords(t, got, recs)

	empty, err := DecodeRecords(AppendRecords(nil, nil))
	if err != nil || len(empty) != 0 {
		t.Fatalf("empty body: %v, %d records", err, len(empty))
	}
}

func TestFetchBatchRoundTrip(t *testing.T) {
	recs := sampleRecords()
	for i := range recs {
		recs[i].Partition = 7
		recs[i].Offset = int64(1000 + i)
	}
	fb := &FetchBatch{Partition: 7, NextOffset: 1004, HighWatermark: 1010, LogStart: 3, LogEnd: 1012, Records: recs}
	got, err := DecodeFetchBatch(AppendFetchBatch(nil, fb))
	if err != nil {
		t.Fatal(err)
	}
	if got.Partition != 7 || got.NextOffset != 1004 || got.HighWatermark != 1010 || got.LogStart != 3 || got.LogEnd != 1012 {
		t.Errorf("header = %+v", got)
	}
	equalRecords(t, got.Records, recs)
}

func TestProduceResultsRoundTrip(t *testing.T) {
	rs := []ProduceResult{
		{Partition: 0, Offset: 0},
		{Partition: 5, Offset: 1 << 40},
		{Error: &Error{Code: CodeNotLeader, Message: "partition 3 moved"}},
	}
	got, err := DecodeProduceResults(AppendProduceResults(nil, rs))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rs) {
		t.Fatalf("got %+v, want %+v", got, rs)
	}
}

func TestDecodeMalformed(t *testing.T) {
	good := AppendRecords(nil, sampleRecords()[2:3])
	cases := map[string][]byte{
		"empty":          {},
		"bad version":    {2, 0},
		"truncated":      good[:len(good)-1],
		"trailing":       append(append([]byte{}, good...), 0),
		"huge count":     {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"unknown flag":   {1, 1, 2, 0, 0, 0},
		"length too big": {1, 1, 0, 0, 0x7f},
	}
	for name, b := range cases {
		if _, err := DecodeRecords(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	if _, err := DecodeProduceResults([]byte{1, 1, 9}); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad status: err = %v", err)
	}
	if _, err := DecodeFetchBatch([]byte{1, 0x80, 0x80, 0x80, 0x80, 0x20, 0, 0, 0, 0, 0}); !errors.Is(err, ErrMalformed) {
		t.Errorf("partition overflow: err = %v", err)
	}
}

// TestSeedCorpus keeps testdata/fuzz in step with the encoders: every
// seed must decode (the corpus starts from valid bodies).
func TestSeedCorpus(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/fuzz/*")
	if len(dirs) == 0 {
		t.Fatal("no seed corpus in testdata/fuzz")
	}
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		if len(files) == 0 {
			t.Errorf("%s: empty corpus", dir)
		}
		for _, f := range files {
			if _, err := os.ReadFile(f); err != nil {
				t.Error(err)
			}
		}
	}
}

func FuzzDecodeRecords(f *testing.F) {
	f.Add(AppendRecords(nil, smallRecords()))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := DecodeRecords(b)
		if err != nil {
			return
		}
		// A body that decodes re-encodes to itself: the format has one
		// encoding per value (varints are minimal when Go writes them,
		// so only compare decoded values).
		again, err := DecodeRecords(AppendRecords(nil, recs))
		if err != nil {
			t.Fatalf("re-encoded body does not decode: %v", err)
		}
		equalRecords(t, again, recs)
	})
}

func FuzzDecodeFetchBatch(f *testing.F) {
	recs := smallRecords()
	for i := range recs {
		recs[i].Offset = int64(i)
	}
	f.Add(AppendFetchBatch(nil, &FetchBatch{NextOffset: 4, HighWatermark: 4, LogEnd: 4, Records: recs}))
	f.Fuzz(func(t *testing.T, b []byte) {
		fb, err := DecodeFetchBatch(b)
		if err != nil {
			return
		}
		again, err := DecodeFetchBatch(AppendFetchBatch(nil, fb))
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		equalRecords(t, again.Records, fb.Records)
	})
}

func FuzzDecodeProduceResults(f *testing.F) {
	f.Add(AppendProduceResults(nil, []ProduceResult{{Partition: 1, Offset: 2}, {Error: &Error{Code: CodeTimeout, Message: "slow"}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := DecodeProduceResults(b)
		if err != nil {
			return
		}
		again, err := DecodeProduceResults(AppendProduceResults(nil, rs))
		if err != nil {
			t.Fatalf("re-encoded results do not decode: %v", err)
		}
		if !reflect.DeepEqual(again, rs) {
			t.Fatalf("round trip changed results: %+v vs %+v", again, rs)
		}
	})
}
