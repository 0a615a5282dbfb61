package storage

import (
	"context"
	"fmt"
	bolt "go.etcd.io/bbolt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice/record"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a settable clock for Options.Now.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

func openLog(t testing.TB, opts Options) *Log {
	t.Helper()
	l, err := Open(filepath.Join(t.TempDir(), "p.db"), opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func reopen(t testing.TB, l *Log, opts Options) *Log {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	l2, err := Open(l.Path(), opts)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { _ = l2.Close() })
	return l2
}

// recs makes n records whose values name their batch and index.
func recs(tag string, n int) []record.Record {
	out := make([]record.Record, n)
	for i := range out {
		out[i] = record.Record{Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("%s-%d", tag, i)), Timestamp: 1}
	}
	return out
}

func mustAppend(t testing.TB, l *Log, rs []record.Record, epoch int32) int64 {
	t.Helper()
	base, err := l.Append(context.Background(), rs, epoch)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return base
}

// readAll reads every record from `from` to the log end.
func readAll(t testing.TB, l *Log, from int64) []record.Record {
	t.Helper()
	var out []record.Record
	for from < l.EndOffset() {
		res, err := l.Read(from, 1<<20, l.EndOffset())
		if err != nil {
			t.Fatalf("read from %d: %v", from, err)
		}
		for _, b := range res.Batches {
			for _, r := range b.Records {
				if r.Offset >= from {
					out = append(out, r)
				}
			}
			from = b.LastOffset + 1
		}
	}
	return out
}

type boltTx = bolt.Tx
