package replwire

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

func sampleProduce() *Produce {
	return &Produce{ID: 1<<63 + 5, Topic: "orders", Partition: 3, Acks: "all", TimeoutMs: 30000,
		Idempotent: true, ProducerID: 77, ProducerEpoch: 2, BaseSequence: 10, LastSequence: 19,
		Records: []byte{1, 2, 0, 2, 'h', 'i', 0}}
}

func TestProduceFramesRoundTrip(t *testing.T) {
	for _, p := range []*Produce{sampleProduce(), {ID: 0, Topic: "t", Acks: "1", Records: []byte{}}} {
		typ, body, err := SplitFrame(AppendProduce(nil, p))
		if err != nil || typ != TypeProduce {
			t.Fatalf("split: %d %v", typ, err)
		}
		var got Produce
		if err := DecodeProduce(body, &got); err != nil || !reflect.DeepEqual(&got, p) {
			t.Fatalf("decoded %+v (%v), want %+v", got, err, *p)
		}
	}
	for _, r := range []*ProduceResult{{ID: 4, BaseOffset: 1234}, {ID: 5, BaseOffset: -1, Code: "not_enough_replicas", Message: "isr 1 < 2", Details: []byte(`{"index":0}`)}} {
		_, body, _ := SplitFrame(AppendProduceResult(nil, r))
		var got ProduceResult
		if err := DecodeProduceResult(body, &got); err != nil || !reflect.DeepEqual(&got, r) {
			t.Fatalf("decoded %+v (%v), want %+v", got, err, *r)
		}
	}
}

func TestProduceFramesRefuseDamage(t *testing.T) {
	_, body, _ := SplitFrame(AppendProduce(nil, sampleProduce()))
	for i := range len(body) { // every truncation
		var p Produce
		if err := DecodeProduce(body[:i], &p); !errors.Is(err, ErrFrame) {
			t.Fatalf("truncated to %d bytes: err %v", i, err)
		}
	}
	bad := append([]byte(nil), body...)
	bad[8+1+6+4+1+3+8] = 7 // the idempotent flag
	if err := DecodeProduce(bad, new(Produce)); !errors.Is(err, ErrFrame) {
		t.Fatalf("flag 7: %v", err)
	}
	_, res, _ := SplitFrame(AppendProduceResult(nil, &ProduceResult{ID: 1, Code: "x"}))
	if err := DecodeProduceResult(append(res, 0), new(ProduceResult)); !errors.Is(err, ErrFrame) {
		t.Fatalf("trailing byte: %v", err)
	}
}

// TestWriteProduceCorpus writes the produce frames of FuzzDecode's
// committed corpus when SLUICE_WRITE_CORPUS is set.
func TestWriteProduceCorpus(t *testing.T) {
	if os.Getenv("SLUICE_WRITE_CORPUS") == "" {
		t.Skip("set SLUICE_WRITE_CORPUS=1 to rewrite testdata/fuzz/FuzzDecode/produce*")
	}
	for name, frame := range map[string][]byte{
		"produce":        AppendProduce(nil, sampleProduce()),
		"produce-result": AppendProduceResult(nil, &ProduceResult{ID: 9, BaseOffset: 42, Code: "timeout", Message: "m", Details: []byte("{}")}),
	} {
		data := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(frame)))
		if err := os.WriteFile(filepath.Join("testdata", "fuzz", "FuzzDecode", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
