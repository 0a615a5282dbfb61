package storage

import (
	"bytes"
	"errors"
	"testing"
)

// ReadRaw returns the same bytes as Read's Batch.Raw, for the same
// offsets, limits and errors, as slices of the caller's buffer after what
// it held; BatchEnd reads where each ends.
func TestReadRawMatchesRead(t *testing.T) {
	l := openLog(t, Options{})
	threeBatches(t, l)
	for _, c := range []struct {
		from     int64
		maxBytes int
		maxOff   int64
	}{{0, 1 << 20, 12}, {2, 1 << 20, 12}, {5, 1, 12}, {0, 1 << 20, 7}, {11, 1 << 20, 12}, {12, 1 << 20, 12}, {3, 1 << 20, 3}} {
		res, err := l.Read(c.from, c.maxBytes, c.maxOff)
		if err != nil {
			t.Fatal(err)
		}
		prefix := []byte("keep")
		dst, raws, err := l.ReadRaw(append([]byte(nil), prefix...), c.from, c.maxBytes, c.maxOff)
		if err != nil {
			t.Fatalf("ReadRaw %+v: %v", c, err)
		}
		if !bytes.HasPrefix(dst, prefix) || len(raws) != len(res.Batches) {
			t.Fatalf("ReadRaw %+v: %d batches (prefix kept %v), Read %d", c, len(raws), bytes.HasPrefix(dst, prefix), len(res.Batches))
		}
		at := len(prefix)
		for i, raw := range raws {
			if !bytes.Equal(raw, res.Batches[i].Raw) || &raw[0] != &dst[at] {
				t.Fatalf("ReadRaw %+v batch %d differs from Read or is not a slice of dst", c, i)
			}
			at += len(raw)
			if end, err := BatchEnd(raw); err != nil || end != res.Batches[i].LastOffset+1 {
				t.Fatalf("BatchEnd of batch %d: %d %v, want %d", i, end, err, res.Batches[i].LastOffset+1)
			}
		}
	}
	for _, from := range []int64{-1, 13} {
		if _, _, err := l.ReadRaw(nil, from, 1<<20, 12); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("ReadRaw from %d: %v, want ErrOffsetOutOfRange", from, err)
		}
	}
	if _, err := BatchEnd([]byte("short")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("BatchEnd of garbage: %v, want ErrCorrupt", err)
	}
}
