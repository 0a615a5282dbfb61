package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"
)

func TestProducerBatchRoundTrip(t *testing.T) {
	prod := Producer{ID: 0x7123456789abcdef, Epoch: 3, BaseSequence: 100, LastSequence: 109}
	raw := encodeForTestAs(recs("p", 4), 20, 5, 1, prod)
	if raw[offMagic] != batchMagicV2 || len(raw) != len(encodeForTest(recs("p", 4), 20, 5, 1))+batchHeaderSizeV2-batchHeaderSize {
		t.Fatalf("magic %d, %d bytes", raw[offMagic], len(raw))
	}
	b, err := DecodeBatch(raw)
	if err != nil {
		t.Fatal(err)
	}
	if b.Producer != prod || b.BaseOffset != 20 || b.LastOffset != 23 || len(b.Records) != 4 || string(b.Records[3].Value) != "p-3" {
		t.Fatalf("decoded %+v", b)
	}
	// A batch without a producer keeps the original format, byte for byte.
	plain := encodeForTest(recs("p", 4), 20, 5, 1)
	if plain[offMagic] != batchMagic {
		t.Fatalf("plain batch magic %d", plain[offMagic])
	}
	if b, err := DecodeBatch(plain); err != nil || b.Producer.ID != NoProducer {
		t.Fatalf("plain batch: producer %+v, %v", b.Producer, err)
	}
}

func TestProducerBatchRejectsDamage(t *testing.T) {
	raw := encodeForTestAs(recs("x", 3), 10, 1, 1, Producer{ID: 9, Epoch: 1, BaseSequence: 4, LastSequence: 8})
	for i := range raw {
		bad := bytes.Clone(raw)
		bad[i] ^= 0x20
		if _, err := DecodeBatch(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flipped byte %d: err %v, want ErrCorrupt", i, err)
		}
	}
	// Fields that pass the CRC but break the producer's rules.
	for name, p := range map[string]Producer{
		"negative id":       {ID: -5, BaseSequence: 1, LastSequence: 1},
		"negative epoch":    {ID: 1, Epoch: -1, BaseSequence: 1, LastSequence: 1},
		"last before base":  {ID: 1, BaseSequence: 5, LastSequence: 4},
		"negative sequence": {ID: 1, BaseSequence: -1, LastSequence: 4},
	} {
		raw := encodeForTestAs(recs("x", 1), 0, 0, 1, Producer{ID: 1, BaseSequence: 1, LastSequence: 1})
		copyProducer(raw, p)
		stamp(raw, 0)
		if _, err := DecodeBatch(raw); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err %v, want ErrCorrupt", name, err)
		}
	}
}

// copyProducer overwrites the producer fields of a magic-2 batch.
func copyProducer(raw []byte, p Producer) {
	binary.BigEndian.PutUint64(raw[offPID:], uint64(p.ID))
	binary.BigEndian.PutUint16(raw[offPEpoch:], uint16(p.Epoch))
	binary.BigEndian.PutUint64(raw[offBaseSeq:], uint64(p.BaseSequence))
	binary.BigEndian.PutUint64(raw[offLastSeq:], uint64(p.LastSequence))
}

// The producer travels with the batch: stored by AppendAs, read back by
// Read after a reopen, and copied byte for byte by AppendReplica.
func TestAppendAsStoresProducer(t *testing.T) {
	ctx := context.Background()
	l := openLog(t, Options{})
	prod := Producer{ID: 42, Epoch: 0, BaseSequence: 0, LastSequence: 2}
	if _, err := l.Append(ctx, recs("plain", 2), 0); err != nil {
		t.Fatal(err)
	}
	base, err := l.AppendAs(ctx, recs("idem", 3), 0, prod)
	if err != nil || base != 2 {
		t.Fatalf("AppendAs: base %d, %v", base, err)
	}
	if _, err := l.AppendAs(ctx, recs("bad", 1), 0, Producer{ID: 1, BaseSequence: 3, LastSequence: 2}); !errors.Is(err, errBadProducer) {
		t.Fatalf("bad producer: %v", err)
	}
	l = reopen(t, l, Options{})
	res, err := l.Read(0, 1<<20, l.EndOffset())
	if err != nil || len(res.Batches) != 2 {
		t.Fatalf("read: %d batches, %v", len(res.Batches), err)
	}
	if p := res.Batches[0].Producer; p.ID != NoProducer {
		t.Fatalf("plain batch producer %+v", p)
	}
	if p := res.Batches[1].Producer; p != prod {
		t.Fatalf("producer %+v, want %+v", p, prod)
	}
	if p, err := BatchProducer(res.Batches[1].Raw); err != nil || p != prod {
		t.Fatalf("BatchProducer: %+v, %v", p, err)
	}
	type seen struct {
		base  int64
		count int32
		p     Producer
	}
	var got []seen
	if err := l.ScanProducers(0, l.EndOffset(), func(base int64, count int32, p Producer) error {
		got = append(got, seen{base, count, p})
		return nil
	}); err != nil || len(got) != 1 || got[0] != (seen{2, 3, prod}) {
		t.Fatalf("ScanProducers: %+v, %v", got, err)
	}
	if err := l.ScanProducers(3, l.EndOffset(), func(int64, int32, Producer) error { return nil }); err != nil {
		t.Fatalf("scan from inside a batch: %v", err)
	}
	if err := l.ScanProducers(99, 100, func(int64, int32, Producer) error { return nil }); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("scan past the end: %v", err)
	}
	follower := openLog(t, Options{})
	raws := [][]byte{res.Batches[0].Raw, res.Batches[1].Raw}
	if err := follower.AppendReplica(ctx, raws); err != nil {
		t.Fatal(err)
	}
	fres, err := follower.Read(0, 1<<20, follower.EndOffset())
	if err != nil || len(fres.Batches) != 2 || fres.Batches[1].Producer != prod || !bytes.Equal(fres.Batches[1].Raw, raws[1]) {
		t.Fatalf("follower: %+v, %v", fres.Batches, err)
	}
}
