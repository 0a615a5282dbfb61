package plugins

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/record"
)

func TestBatchLayout(t *testing.T) {
	recs := []record.Record{{Offset: 7, Timestamp: 9, Key: nil, Value: []byte("abc")}}
	b := make([]byte, batchSize(recs, allFields))
	encodeBatch(b, recs, allFields)
	// The example from docs/plugin-abi.md section 3: no key, no headers,
	// 3-byte value: size field says 31.
	want := []byte{
		1, 0, 0, 0, // count
		31, 0, 0, 0, // size
		7, 0, 0, 0, 0, 0, 0, 0, // offset
		9, 0, 0, 0, 0, 0, 0, 0, // timestamp
		0xff, 0xff, 0xff, 0xff, // key_len -1
		3, 0, 0, 0, 'a', 'b', 'c', // value
		0, 0, 0, 0, // headers
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("batch = %v\nwant    %v", b, want)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	in := []record.Record{
		{Offset: 1, Timestamp: 100, Key: []byte{}, Value: []byte("v1"),
			Headers: []record.Header{{Key: "h", Value: []byte("x")}, {Key: "h", Value: nil}}},
		{Offset: 2, Timestamp: 200, Key: []byte("k"), Value: nil},
		{Offset: 3, Key: nil, Value: []byte("v3")},
	}
	b := make([]byte, batchSize(in, allFields))
	encodeBatch(b, in, allFields)
	outs, err := parseOutputs(b, in) // an identity process result body
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 3 {
		t.Fatalf("%d outputs", len(outs))
	}
	if outs[0].Key == nil || len(outs[0].Key) != 0 {
		t.Errorf("empty key became %v", outs[0].Key)
	}
	if outs[2].Key != nil {
		t.Errorf("nil key became %q", outs[2].Key)
	}
	if len(outs[0].Headers) != 2 || outs[0].Headers[1].Key != "h" || string(outs[0].Headers[0].Value) != "x" {
		t.Errorf("headers = %+v", outs[0].Headers)
	}
	for i, o := range outs {
		if o.SourceOffset != in[i].Offset || o.Timestamp != in[i].Timestamp || !bytes.Equal(o.Value, in[i].Value) {
			t.Errorf("output %d = %+v, input %+v", i, o, in[i])
		}
	}
}

func TestParseOutputsSourceOrder(t *testing.T) {
	in := []record.Record{{Offset: 10}, {Offset: 11}, {Offset: 12}}
	enc := func(offsets ...int64) []byte {
		recs := make([]record.Record, len(offsets))
		for i, o := range offsets {
			recs[i].Offset = o
		}
		b := make([]byte, batchSize(recs, allFields))
		encodeBatch(b, recs, allFields)
		return b
	}
	for _, ok := range [][]int64{{}, {10}, {10, 10, 12}, {11, 12, 12}} {
		if _, err := parseOutputs(enc(ok...), in); err != nil {
			t.Errorf("sources %v: %v", ok, err)
		}
	}
	for _, bad := range [][]int64{{9}, {12, 11}, {13}, {10, 12, 11}} {
		if _, err := parseOutputs(enc(bad...), in); !errors.Is(err, ErrBadOutput) {
			t.Errorf("sources %v: err = %v, want ErrBadOutput", bad, err)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	in := []record.Record{{Offset: 1}}
	good := make([]byte, batchSize(in, allFields))
	encodeBatch(good, in, allFields)
	cases := map[string][]byte{
		"truncated":      good[:len(good)-1],
		"trailing":       append(append([]byte{}, good...), 0),
		"huge count":     {0xff, 0xff, 0xff, 0xff},
		"size too large": append([]byte{1, 0, 0, 0, 0xff, 0xff, 0, 0}, good[8:]...),
	}
	for name, b := range cases {
		if _, err := parseOutputs(b, in); !errors.Is(err, ErrBadOutput) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := parseStatus([]byte{2, 0, 0, 0}); !errors.Is(err, ErrBadOutput) {
		t.Errorf("status 2: %v", err)
	}
	var pe *pluginError
	if _, err := parseStatus([]byte{1, 0, 0, 0, 2, 0, 0, 0, 'n', 'o'}); !errors.As(err, &pe) || pe.msg != "no" {
		t.Errorf("error result: %v", err)
	}
	out := make([]int32, 2)
	for name, body := range map[string][]byte{
		"wrong count":  {1, 0, 0, 0, 0, 0, 0, 0},
		"out of range": {2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0},
		"negative":     {2, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
		"short":        {2, 0, 0, 0, 0, 0, 0, 0},
	} {
		if err := parsePartitions(body, 3, out); !errors.Is(err, ErrBadOutput) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestEncodeParamsSorted(t *testing.T) {
	got := encodeParams(map[string]string{"b": "2", "a": "1"})
	want := []byte{2, 0, 0, 0, 1, 0, 0, 0, 'a', 1, 0, 0, 0, '1', 1, 0, 0, 0, 'b', 1, 0, 0, 0, '2'}
	if !bytes.Equal(got, want) {
		t.Fatalf("params = %v, want %v", got, want)
	}
}

func TestBatchWithoutValuesAndHeaders(t *testing.T) {
	recs := []record.Record{{Offset: 1, Key: []byte("k"), Value: []byte("a long value"),
		Headers: []record.Header{{Key: "h", Value: []byte("v")}}}}
	b := make([]byte, batchSize(recs, 0))
	encodeBatch(b, recs, 0)
	outs, err := parseOutputs(b, recs)
	if err != nil {
		t.Fatal(err)
	}
	if string(outs[0].Key) != "k" || len(outs[0].Value) != 0 || outs[0].Headers != nil || len(b) != 4+recordFixed+1 {
		t.Fatalf("key-only batch decoded as %+v (%d bytes)", outs[0], len(b))
	}
}
