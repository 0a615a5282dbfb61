package wire

import (
	"errors"
	"reflect"
	"testing"
)

func TestWSProduceFrameRoundTrip(t *testing.T) {
	recs := []Record{{Key: []byte("k"), Value: []byte("v"), Headers: []Header{{Key: "h", Value: []byte{0, 1}}}}, {Value: []byte{}}}
	b := AppendWSProduce(nil, 42, recs)
	seq, got, err := DecodeWSProduce(b)
	if err != nil || seq != 42 {
		t.Fatalf("decode = %d, %v", seq, err)
	}
	if !reflect.DeepEqual(got[0], recs[0]) || got[1].Key != nil || len(got[1].Value) != 0 {
		t.Fatalf("records = %+v", got)
	}
	for _, bad := range [][]byte{nil, {0x80}, {2}, {2, 9, 9}} {
		if _, _, err := DecodeWSProduce(bad); !errors.Is(err, ErrMalformed) {
			t.Fatalf("DecodeWSProduce(%v) = %v", bad, err)
		}
	}
}

func TestDecodeWSType(t *testing.T) {
	if typ, err := DecodeWSType([]byte(`{"type":"credit","records":10}`)); err != nil || typ != WSCredit {
		t.Fatalf("= %q, %v", typ, err)
	}
	for _, bad := range []string{``, `{}`, `[1]`, `{"type":3}`, "\x00\x01"} {
		if _, err := DecodeWSType([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("DecodeWSType(%q) = %v", bad, err)
		}
	}
}
