package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestDurabilityModes(t *testing.T) {
	for _, d := range []Durability{DurabilityFsync, DurabilityReplicated} {
		t.Run(d.String(), func(t *testing.T) {
			if got, err := ParseDurability(d.String()); err != nil || got != d {
				t.Fatalf("ParseDurability(%q) = %v, %v", d.String(), got, err)
			}
			l := openLog(t, Options{Durability: d})
			if l.db.NoSync != (d == DurabilityReplicated) {
				t.Fatalf("bbolt NoSync = %v for %v", l.db.NoSync, d)
			}
			markedBatches(t, l)
			if err := l.SetHighWatermark(4); err != nil {
				t.Fatal(err)
			}
			path := l.Path()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			// A clean close leaves a file that opens without the full
			// verification an unclean replicated file gets: damage in the
			// middle is only found when that batch is read.
			corruptFile(t, path, []byte("MIDDLE-BATCH"))
			l, err := Open(path, Options{Durability: d})
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer l.Close()
			if l.EndOffset() != 6 || l.HighWatermark() != 4 {
				t.Fatalf("end %d hw %d, want 6 4", l.EndOffset(), l.HighWatermark())
			}
			if res, err := l.Read(4, 100, 6); err != nil || string(res.Batches[0].Records[0].Value) != "LAST-BATCH" {
				t.Fatalf("read: %v", err)
			}
		})
	}
	if _, err := ParseDurability("sometimes"); err == nil {
		t.Fatal("bad durability accepted")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "x"), Options{Durability: 7}); err == nil {
		t.Fatal("invalid durability accepted")
	}
}

func TestCloseFailsLaterCalls(t *testing.T) {
	l := openLog(t, Options{})
	mustAppend(t, l, recs("a", 1), 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(t.Context(), recs("b", 1), 0); err == nil {
		t.Fatal("append after close succeeded")
	}
	for name, err := range map[string]error{
		"read":     func() error { _, err := l.Read(0, 1, 1); return err }(),
		"truncate": l.TruncateTo(0),
		"hw":       l.SetHighWatermark(0),
		"close":    l.Close(),
	} {
		if err == nil {
			t.Errorf("%s after close succeeded", name)
		}
	}
}

// TestManyLogsOpenFast opens 1,000 existing logs, as a broker does on
// start, and reports the time taken and the heap they hold. The heap bound
// (200 MiB) is asserted; time is only reported (see BenchmarkOpenLogs).
func TestManyLogsOpenFast(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	dir := t.TempDir()
	first := filepath.Join(dir, "p0.db")
	l, err := Open(first, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, recs("r", 10), 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%d.db", i)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	logs := make([]*Log, n)
	for i := range logs {
		l, err := Open(filepath.Join(dir, fmt.Sprintf("p%d.db", i)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		logs[i] = l
	}
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	stacks := int64(after.StackInuse) - int64(before.StackInuse)
	t.Logf("opened %d logs in %v; heap held %.1f MiB (%.1f KiB per log), goroutine stacks %.1f MiB", n, took, float64(heap)/(1<<20), float64(heap)/1024/float64(n), float64(stacks)/(1<<20))
	for _, l := range logs {
		if l.EndOffset() != 10 {
			t.Fatalf("%s: end %d", l.Path(), l.EndOffset())
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if limit := int64(200 << 20); heap > limit*int64(n)/1000 {
		t.Fatalf("%d open logs hold %d bytes of heap, budget %d", n, heap, limit*int64(n)/1000)
	}
}
