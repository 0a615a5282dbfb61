package storage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/record"
)

// benchRecords is one benchmark batch: 100 records of 1 KiB values.
func benchRecords() []record.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]record.Record, 100)
	for i := range out {
		v := make([]byte, 1024)
		for j := range v {
			v[j] = byte(rng.IntN(256))
		}
		out[i] = record.Record{Key: []byte(fmt.Sprintf("key-%04d", i)), Value: v, Timestamp: 1_700_000_000_000 + int64(i)}
	}
	return out
}

// rawFile writes chunks sequentially to a plain file, the yardstick for
// the log: the same bytes, with an fsync after each chunk if sync.
type rawFile struct {
	f     *os.File
	chunk []byte
	sync  bool
	bytes int64
	took  time.Duration
}

func newRawFile(b *testing.B, size int, sync bool) *rawFile {
	b.Helper()
	f, err := os.Create(filepath.Join(b.TempDir(), "raw"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	chunk := make([]byte, size)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	return &rawFile{f: f, chunk: chunk, sync: sync}
}

func (r *rawFile) write(b *testing.B, n int) {
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := r.f.Write(r.chunk); err != nil {
			b.Fatal(err)
		}
		if r.sync {
			if err := r.f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
	r.took += time.Since(start)
	r.bytes += int64(n * len(r.chunk))
}

func (r *rawFile) mbps() float64 { return float64(r.bytes) / 1e6 / r.took.Seconds() }

// BenchmarkAppend appends batches of 100 x 1 KiB records and reports, next
// to the log's MB/s, the raw MB/s of this disk for the same bytes written
// to a plain file (fsync per commit in fsync mode, none in replicated mode)
// and their ratio. Raw and log segments of 10 commits alternate, so both
// see the same load on a shared machine. appenders > 1 shows group commit:
// concurrent appends share transactions.
func BenchmarkAppend(b *testing.B) {
	batch := benchRecords()
	ts, first, _ := timestamps(batch, 0)
	size := encodedSize(batch, ts, first)
	const seg = 10
	for _, d := range []Durability{DurabilityFsync, DurabilityReplicated} {
		for _, appenders := range []int{1, 4} {
			b.Run(fmt.Sprintf("mode=%s/appenders=%d", d, appenders), func(b *testing.B) {
				raw := newRawFile(b, size, d == DurabilityFsync)
				l, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{Durability: d})
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				b.SetBytes(int64(size))
				b.ResetTimer()
				for done := 0; done < b.N; {
					n := min(seg, b.N-done)
					b.StopTimer()
					raw.write(b, n)
					b.StartTimer()
					var wg sync.WaitGroup
					for w := 0; w < appenders; w++ {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for i := w; i < n; i += appenders {
								if _, err := l.Append(context.Background(), batch, 0); err != nil {
									b.Error(err)
									return
								}
							}
						}()
					}
					wg.Wait()
					done += n
				}
				b.StopTimer()
				mbps := float64(b.N*size) / 1e6 / b.Elapsed().Seconds()
				b.ReportMetric(raw.mbps(), "raw-MB/s")
				b.ReportMetric(mbps/raw.mbps(), "ratio")
				st := l.Stats()
				b.ReportMetric(float64(st.Appends)/float64(max(st.Commits, 1)), "appends/commit")
			})
		}
	}
}

// BenchmarkRead fetches sequentially 1 MiB at a time from a 64 MiB log.
func BenchmarkRead(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{Durability: DurabilityReplicated})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batch := benchRecords()
	for l.Size() < 64<<20 {
		if _, err := l.Append(context.Background(), batch, 0); err != nil {
			b.Fatal(err)
		}
	}
	end := l.EndOffset()
	b.ResetTimer()
	var total int64
	from := int64(0)
	for i := 0; i < b.N; i++ {
		if from >= end {
			from = 0
		}
		res, err := l.Read(from, 1<<20, end)
		if err != nil {
			b.Fatal(err)
		}
		for _, bt := range res.Batches {
			total += int64(len(bt.Raw))
			from = bt.LastOffset + 1
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/1e6/b.Elapsed().Seconds(), "MB/s")
	b.ReportMetric(float64(total)/float64(b.N), "bytes/read")
}

// BenchmarkOpenLogs opens and closes 1,000 existing logs, as a broker does
// on start and stop, and reports the heap the open logs hold.
func BenchmarkOpenLogs(b *testing.B) {
	const n = 1000
	dir := b.TempDir()
	l, err := Open(filepath.Join(dir, "p0.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := l.Append(context.Background(), benchRecords(), 0); err != nil {
		b.Fatal(err)
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "p0.db"))
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%d.db", i)), data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var heap float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		logs := make([]*Log, n)
		for j := range logs {
			if logs[j], err = Open(filepath.Join(dir, fmt.Sprintf("p%d.db", j)), Options{}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
		b.StartTimer()
		for _, l := range logs {
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(heap, "heap-MiB/1000-logs")
}

// BenchmarkOpenLargeLog opens a log of 5,000 batches (about 22 MB) and
// reports what the structure check before bbolt maps the file costs:
// "open" is Open+Close, "check" the check alone.
func BenchmarkOpenLargeLog(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.db")
	l, err := Open(path, Options{Durability: DurabilityReplicated})
	if err != nil {
		b.Fatal(err)
	}
	val := make([]byte, 4000)
	for i := 0; i < 5000; i++ {
		if _, err := l.Append(context.Background(), []record.Record{{Value: val}}, 0); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	b.Run("open", func(b *testing.B) {
		for range b.N {
			l, err := Open(path, Options{})
			if err != nil {
				b.Fatal(err)
			}
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check", func(b *testing.B) {
		for range b.N {
			if err := precheck(path); err != nil {
				b.Fatal(err)
			}
		}
	})
}
