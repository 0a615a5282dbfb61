package partitioner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/record"
)

func keyed(keys ...string) []record.Record {
	recs := make([]record.Record, len(keys))
	for i, k := range keys {
		recs[i].Key = []byte(k)
	}
	return recs
}

func TestBuiltinNames(t *testing.T) {
	for _, name := range []string{"", "auto", "hash", "roundrobin", "sticky"} {
		if _, err := Builtin(name); err != nil {
			t.Errorf("Builtin(%q): %v", name, err)
		}
		if !IsBuiltin(name) {
			t.Errorf("IsBuiltin(%q) = false", name)
		}
	}
	_, err := Builtin("uniform")
	if !errors.Is(err, ErrUnknown) {
		t.Fatalf("Builtin(uniform) err = %v, want ErrUnknown", err)
	}
}

func TestHashMatchesKafka(t *testing.T) {
	p, _ := Builtin(Hash)
	recs := keyed("21", "foobar", "abc", "a-little-bit-long-string", "21")
	out := make([]int32, len(recs))
	const n = 6
	if err := p.Partition(context.Background(), recs, n, out); err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		want := int32(int(Murmur2(r.Key)&0x7fffffff) % n)
		if out[i] != want {
			t.Errorf("record %d key %q: partition %d, want %d", i, r.Key, out[i], want)
		}
	}
	if out[0] != out[4] {
		t.Errorf("same key went to partitions %d and %d", out[0], out[4])
	}
}

func TestHashNilKeyIsEmptyKey(t *testing.T) {
	p, _ := Builtin(Hash)
	recs := []record.Record{{Key: nil}, {Key: []byte{}}, {Key: nil}}
	out := make([]int32, 3)
	if err := p.Partition(context.Background(), recs, 7, out); err != nil {
		t.Fatal(err)
	}
	want := HashPartition(nil, 7)
	for i, got := range out {
		if got != want {
			t.Errorf("record %d: partition %d, want %d (empty-key hash)", i, got, want)
		}
	}
}

func TestRoundRobinEven(t *testing.T) {
	p, _ := Builtin(RoundRobin)
	const parts, batches, size = 5, 7, 13
	counts := make([]int, parts)
	for range batches {
		recs := keyed(make([]string, size)...) // keys are ignored
		out := make([]int32, size)
		if err := p.Partition(context.Background(), recs, parts, out); err != nil {
			t.Fatal(err)
		}
		for _, o := range out {
			counts[o]++
		}
	}
	total := batches * size
	for i, c := range counts {
		if c < total/parts || c > total/parts+1 {
			t.Errorf("partition %d got %d of %d records: %v", i, c, total, counts)
		}
	}
}

func TestRoundRobinConcurrent(t *testing.T) {
	p, _ := Builtin(RoundRobin)
	const parts, workers, batches, size = 4, 8, 50, 10
	var mu sync.Mutex
	counts := make([]int, parts)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]int, parts)
			recs := make([]record.Record, size)
			out := make([]int32, size)
			for range batches {
				if err := p.Partition(context.Background(), recs, parts, out); err != nil {
					t.Error(err)
					return
				}
				for _, o := range out {
					local[o]++
				}
			}
			mu.Lock()
			for i := range local {
				counts[i] += local[i]
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	want := workers * batches * size / parts
	for i, c := range counts {
		if c != want {
			t.Errorf("partition %d got %d, want exactly %d: %v", i, c, want, counts)
		}
	}
}

func TestAutoMixesHashAndRoundRobin(t *testing.T) {
	p, _ := Builtin(Auto)
	recs := []record.Record{
		{Key: []byte("foobar")}, {}, {}, {Key: []byte("21")}, {}, {Key: []byte{}},
	}
	out := make([]int32, len(recs))
	const n = 3
	if err := p.Partition(context.Background(), recs, n, out); err != nil {
		t.Fatal(err)
	}
	if out[0] != HashPartition([]byte("foobar"), n) || out[3] != HashPartition([]byte("21"), n) {
		t.Errorf("keyed records not hashed: %v", out)
	}
	if out[5] != HashPartition([]byte{}, n) {
		t.Errorf("empty (non-nil) key must be hashed, got %d", out[5])
	}
	got := []int32{out[1], out[2], out[4]}
	if fmt.Sprint(got) != "[0 1 2]" {
		t.Errorf("keyless records = %v, want round-robin [0 1 2]", got)
	}
}

// sticky hashes keys as auto does, and sends a small batch's keyless
// records to one partition, the next batch's to the next.
func TestStickyKeepsSmallBatchesTogether(t *testing.T) {
	p, _ := Builtin(Sticky)
	recs := []record.Record{
		{Key: []byte("foobar")}, {}, {}, {Key: []byte("21")}, {}, {Key: []byte{}},
	}
	out := make([]int32, len(recs))
	const n = 3
	for batch := range 4 {
		if err := p.Partition(context.Background(), recs, n, out); err != nil {
			t.Fatal(err)
		}
		if out[0] != HashPartition([]byte("foobar"), n) || out[3] != HashPartition([]byte("21"), n) || out[5] != HashPartition([]byte{}, n) {
			t.Errorf("keyed records not hashed: %v", out)
		}
		want := fmt.Sprint([]int32{int32(batch % n), int32(batch % n), int32(batch % n)})
		if got := fmt.Sprint([]int32{out[1], out[2], out[4]}); got != want {
			t.Errorf("batch %d: keyless records = %v, want one run %v", batch, got, want)
		}
	}
}

// Keyless records fill runs of up to RunBytes, each run to the next
// partition: a large batch still spreads over every partition, evenly.
func TestStickyRunsSpreadLargeBatches(t *testing.T) {
	p, _ := Builtin(Sticky)
	const n, size = 6, 1024
	recs := make([]record.Record, 1000)
	for i := range recs {
		recs[i] = record.Record{Value: make([]byte, size)}
	}
	out := make([]int32, len(recs))
	if err := p.Partition(context.Background(), recs, n, out); err != nil {
		t.Fatal(err)
	}
	perRun := RunBytes / size
	for i := range recs {
		if want := int32((i / perRun) % n); out[i] != want {
			t.Fatalf("record %d: partition %d, want %d (runs of %d records)", i, out[i], want, perRun)
		}
	}
	counts := make([]int, n)
	for _, o := range out {
		counts[o]++
	}
	for i, c := range counts {
		if c < len(recs)/n-perRun || c > len(recs)/n+perRun {
			t.Errorf("partition %d got %d records: %v", i, c, counts)
		}
	}
	// A record larger than a run is a run of its own.
	big := []record.Record{{Value: make([]byte, 2*RunBytes)}, {Value: []byte("x")}}
	out = out[:2]
	if err := p.Partition(context.Background(), big, n, out); err != nil {
		t.Fatal(err)
	}
	if out[0] == out[1] {
		t.Errorf("a record after one larger than a run shares its partition: %v", out)
	}
}

func TestRuns(t *testing.T) {
	var r Runs
	if r.Count() != 0 {
		t.Fatalf("empty Runs counts %d", r.Count())
	}
	got := []int{r.Next(RunBytes - 1), r.Next(1), r.Next(1), r.Next(0), r.Next(RunBytes), r.Next(3 * RunBytes)}
	if fmt.Sprint(got) != "[0 0 1 1 2 3]" || r.Count() != 4 {
		t.Errorf("runs = %v, count %d; want [0 0 1 1 2 3], 4", got, r.Count())
	}
}

func TestBadArgs(t *testing.T) {
	for _, name := range []string{Auto, Hash, RoundRobin, Sticky} {
		p, _ := Builtin(name)
		if err := p.Partition(context.Background(), keyed("a"), 0, make([]int32, 1)); !errors.Is(err, ErrBadArgs) {
			t.Errorf("%s with 0 partitions: err = %v", name, err)
		}
		if err := p.Partition(context.Background(), keyed("a", "b"), 3, make([]int32, 1)); !errors.Is(err, ErrBadArgs) {
			t.Errorf("%s with short out: err = %v", name, err)
		}
	}
}

func BenchmarkHashBatch1000(b *testing.B) {
	p, _ := Builtin(Hash)
	recs := make([]record.Record, 1000)
	for i := range recs {
		recs[i].Key = fmt.Appendf(nil, "customer-%07d", i)
	}
	out := make([]int32, len(recs))
	b.ResetTimer()
	for b.Loop() {
		if err := p.Partition(context.Background(), recs, 12, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}
