package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/record"
)

// threeBatches appends batches of 3, 4 and 5 records: offsets 0-2, 3-6, 7-11.
func threeBatches(t *testing.T, l *Log) {
	t.Helper()
	for i, n := range []int{3, 4, 5} {
		mustAppend(t, l, recs(fmt.Sprint("b", i), n), 0)
	}
}

func TestReadFromInsideBatchReturnsThatBatch(t *testing.T) {
	l := openLog(t, Options{})
	threeBatches(t, l)
	for from, wantBase := range map[int64]int64{0: 0, 2: 0, 3: 3, 5: 3, 6: 3, 7: 7, 11: 7} {
		res, err := l.Read(from, 1, l.EndOffset())
		if err != nil {
			t.Fatalf("read %d: %v", from, err)
		}
		if len(res.Batches) != 1 || res.Batches[0].BaseOffset != wantBase {
			t.Fatalf("read %d: %d batches, first base %d, want one batch at %d", from, len(res.Batches), res.Batches[0].BaseOffset, wantBase)
		}
	}
}

func TestReadBounds(t *testing.T) {
	l := openLog(t, Options{})
	threeBatches(t, l)
	res, err := l.Read(0, 1<<20, 12)
	if err != nil || len(res.Batches) != 3 || res.LogStart != 0 || res.LogEnd != 12 {
		t.Fatalf("full read: %d batches, %+v, %v", len(res.Batches), res, err)
	}
	// maxOffset is exclusive on base offsets: 7 stops before the third batch,
	// 4 still returns the batch 3..6 that straddles it.
	for maxOff, want := range map[int64]int{7: 2, 4: 2, 3: 1, 1: 1, 8: 3} {
		res, err := l.Read(0, 1<<20, maxOff)
		if err != nil || len(res.Batches) != want {
			t.Fatalf("maxOffset %d: %d batches (want %d), %v", maxOff, len(res.Batches), want, err)
		}
	}
	if res, err := l.Read(5, 1<<20, 5); err != nil || len(res.Batches) != 0 {
		t.Fatalf("from == maxOffset: %d batches, %v", len(res.Batches), err)
	}
	// maxBytes: always at least one batch, then whole batches that fit.
	one := len(res.Batches[0].Raw)
	if res, _ := l.Read(0, 0, 12); len(res.Batches) != 1 {
		t.Fatalf("maxBytes 0 gave %d batches, want 1", len(res.Batches))
	}
	if res, _ := l.Read(0, one+len(res.Batches[1].Raw), 12); len(res.Batches) != 2 {
		t.Fatalf("maxBytes for two gave %d batches", len(res.Batches))
	}
	// From the end: empty, no error.
	if res, err := l.Read(12, 100, 100); err != nil || len(res.Batches) != 0 || res.LogEnd != 12 {
		t.Fatalf("read at end: %+v %v", res, err)
	}
	// Past the end and below the start: named error.
	if _, err := l.Read(13, 100, 100); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("past end: %v", err)
	}
	if err := l.SetHighWatermark(12); err != nil {
		t.Fatal(err)
	}
	if _, err := l.ApplyRetention(l.opts.Now(), Retention{Bytes: 1}); err != nil {
		t.Fatal(err)
	}
	if l.StartOffset() != 7 {
		t.Fatalf("start %d after retention, want 7", l.StartOffset())
	}
	if _, err := l.Read(6, 100, 100); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("below start: %v", err)
	}
	if _, err := l.Read(-1, 100, 100); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("negative: %v", err)
	}
}

func TestReadReturnsCopies(t *testing.T) {
	l := openLog(t, Options{})
	mustAppend(t, l, []record.Record{{Value: []byte("keep")}}, 0)
	res, err := l.Read(0, 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, recs("more", 50), 0) // would move or reuse pages
	if string(res.Batches[0].Records[0].Value) != "keep" {
		t.Fatal("read result changed after a later append")
	}
}

// corruptFile flips one byte inside the first occurrence of marker in the
// file (a record value, so it lies inside a stored batch).
func corruptFile(t *testing.T, path string, marker []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, marker)
	if i < 0 {
		t.Fatalf("marker %q not in file", marker)
	}
	data[i+len(marker)/2] ^= 0xff
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func markedBatches(t *testing.T, l *Log) {
	t.Helper()
	for _, m := range []string{"FIRST-BATCH", "MIDDLE-BATCH", "LAST-BATCH"} {
		mustAppend(t, l, []record.Record{{Value: []byte(m)}, {Value: []byte(m + "-2")}}, 0)
	}
}

// TestCorruptBatchIsAnError: a byte flipped on disk inside a batch makes
// reads of that batch fail with ErrCorrupt; the data is never returned.
func TestCorruptBatchIsAnError(t *testing.T) {
	l := openLog(t, Options{})
	markedBatches(t, l)
	path := l.Path()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	corruptFile(t, path, []byte("MIDDLE-BATCH"))
	l, err := Open(path, Options{}) // only first and last batch are checked on open
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	if _, err := l.Read(2, 1<<20, 6); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read of corrupt batch: %v, want ErrCorrupt", err)
	}
	if _, err := l.Read(0, 1<<20, 6); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read across corrupt batch: %v, want ErrCorrupt", err)
	}
	if res, err := l.Read(4, 1<<20, 6); err != nil || string(res.Batches[0].Records[0].Value) != "LAST-BATCH" {
		t.Fatalf("intact batch after the corrupt one: %v", err)
	}
	if err := l.Verify(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Verify: %v, want ErrCorrupt", err)
	}
}

func TestOpenRejectsCorruptFiles(t *testing.T) {
	t.Run("last batch", func(t *testing.T) {
		l := openLog(t, Options{})
		markedBatches(t, l)
		path := l.Path()
		l.Close()
		corruptFile(t, path, []byte("LAST-BATCH"))
		if _, err := Open(path, Options{}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("open: %v, want ErrCorrupt", err)
		}
	})
	t.Run("not a bbolt file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "junk.db")
		if err := os.WriteFile(path, bytes.Repeat([]byte("junk"), 4096), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(path, Options{}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("open: %v, want ErrCorrupt", err)
		}
	})
	// A replicated-mode file that was not closed cleanly is verified batch by
	// batch, so damage in the middle is caught on open; the same file in
	// fsync mode (where bbolt's commit protocol is trusted) opens.
	t.Run("unclean replicated", func(t *testing.T) {
		l := openLog(t, Options{Durability: DurabilityReplicated})
		markedBatches(t, l)
		snapshot := filepath.Join(t.TempDir(), "crashed.db")
		data, err := os.ReadFile(l.Path()) // as a crash would leave it: not marked clean
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(snapshot, data, 0o600); err != nil {
			t.Fatal(err)
		}
		corruptFile(t, snapshot, []byte("MIDDLE-BATCH"))
		if _, err := Open(snapshot, Options{Durability: DurabilityReplicated}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("replicated open: %v, want ErrCorrupt", err)
		}
		l2, err := Open(snapshot, Options{Durability: DurabilityFsync})
		if err != nil {
			t.Fatalf("fsync open: %v", err)
		}
		l2.Close()
	})
}
