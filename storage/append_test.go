package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/record"
)

func TestAppendReadRoundTrip(t *testing.T) {
	clock := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
	l := openLog(t, Options{Now: clock.Now})
	in := []record.Record{
		{Key: nil, Value: []byte("no key")},
		{Key: []byte{}, Value: []byte("empty key"), Timestamp: 5},
		{Key: []byte("k"), Value: nil, Headers: []record.Header{{Key: "trace", Value: []byte("abc")}, {Key: "trace", Value: nil}}},
	}
	orig := append([]record.Record(nil), in...)
	if base := mustAppend(t, l, in, 3); base != 0 {
		t.Fatalf("base %d, want 0", base)
	}
	if in[0].Timestamp != 0 || in[0].Offset != orig[0].Offset {
		t.Fatalf("Append modified the caller's records: %+v", in[0])
	}
	got := readAll(t, l, 0)
	if len(got) != len(in) {
		t.Fatalf("read %d records, want %d", len(got), len(in))
	}
	wantTS := []int64{1_700_000_000_000, 5, 1_700_000_000_000}
	for i, r := range got {
		if r.Offset != int64(i) || r.Timestamp != wantTS[i] {
			t.Errorf("record %d: offset %d ts %d, want %d %d", i, r.Offset, r.Timestamp, i, wantTS[i])
		}
		if (r.Key == nil) != (in[i].Key == nil) || !bytes.Equal(r.Key, in[i].Key) {
			t.Errorf("record %d key %q nil=%v", i, r.Key, r.Key == nil)
		}
		if (r.Value == nil) != (in[i].Value == nil) || !bytes.Equal(r.Value, in[i].Value) {
			t.Errorf("record %d value %q nil=%v", i, r.Value, r.Value == nil)
		}
	}
	if h := got[2].Headers; len(h) != 2 || h[0].Key != "trace" || string(h[0].Value) != "abc" || h[1].Value != nil {
		t.Errorf("headers %+v", h)
	}
	// Survives a reopen.
	l = reopen(t, l, Options{})
	if again := readAll(t, l, 0); len(again) != 3 || string(again[1].Value) != "empty key" {
		t.Fatalf("after reopen: %+v", again)
	}
}

func TestOffsetsDense(t *testing.T) {
	l := openLog(t, Options{})
	next := int64(0)
	for i, n := range []int{1, 7, 3, 100, 1} {
		base := mustAppend(t, l, recs(fmt.Sprint(i), n), 0)
		if base != next {
			t.Fatalf("batch %d: base %d, want %d", i, base, next)
		}
		next += int64(n)
		if l.EndOffset() != next {
			t.Fatalf("EndOffset %d, want %d", l.EndOffset(), next)
		}
	}
	for i, r := range readAll(t, l, 0) {
		if r.Offset != int64(i) {
			t.Fatalf("record %d has offset %d", i, r.Offset)
		}
	}
}

func TestAppendRefusesOversizeAndWritesNothing(t *testing.T) {
	l := openLog(t, Options{MaxRecordBytes: 100, MaxBatchBytes: 1000})
	mustAppend(t, l, recs("ok", 2), 0)
	size, end := l.Size(), l.EndOffset()

	big := []record.Record{{Value: []byte("small")}, {Value: make([]byte, 101)}}
	if _, err := l.Append(context.Background(), big, 0); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("oversize record: err %v, want ErrRecordTooLarge", err)
	}
	hdr := []record.Record{{Value: make([]byte, 50), Headers: []record.Header{{Key: "k", Value: make([]byte, 50)}}}}
	if _, err := l.Append(context.Background(), hdr, 0); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("record oversize through headers: err %v, want ErrRecordTooLarge", err)
	}
	many := make([]record.Record, 20)
	for i := range many {
		many[i].Value = make([]byte, 90)
	}
	if _, err := l.Append(context.Background(), many, 0); !errors.Is(err, ErrBatchTooLarge) {
		t.Fatalf("oversize batch: err %v, want ErrBatchTooLarge", err)
	}
	if l.Size() != size || l.EndOffset() != end {
		t.Fatalf("refused appends changed the log: size %d->%d end %d->%d", size, l.Size(), end, l.EndOffset())
	}
	l = reopen(t, l, Options{MaxRecordBytes: 100, MaxBatchBytes: 1000})
	if l.Size() != size || l.EndOffset() != end || len(readAll(t, l, 0)) != 2 {
		t.Fatalf("after reopen: size %d end %d", l.Size(), l.EndOffset())
	}
}

func TestAppendRejectsStaleEpochAndEmpty(t *testing.T) {
	l := openLog(t, Options{})
	mustAppend(t, l, recs("a", 1), 5)
	if _, err := l.Append(context.Background(), recs("b", 1), 4); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("older epoch: err %v, want ErrStaleEpoch", err)
	}
	if _, err := l.Append(context.Background(), nil, 5); err == nil {
		t.Fatal("empty append succeeded")
	}
	if l.EndOffset() != 1 {
		t.Fatalf("end %d, want 1", l.EndOffset())
	}
}

func TestAppendHonoursContext(t *testing.T) {
	l := openLog(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Append(ctx, recs("a", 1), 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if l.EndOffset() != 0 {
		t.Fatal("cancelled append was written")
	}
}

// TestAppendCancelledWhileQueuedIsDropped: an append whose context ends
// while it waits for the committer returns the context's error and is not
// written; the next append takes its offsets.
func TestAppendCancelledWhileQueuedIsDropped(t *testing.T) {
	l := openLog(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	l.wmu.Lock()
	errc := make(chan error, 1)
	go func() {
		_, err := l.Append(ctx, recs("cancelled", 3), 0)
		errc <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for l.Stats().Pending != 1 {
		if time.Now().After(deadline) {
			l.wmu.Unlock()
			t.Fatal("append never queued")
		}
		runtime.Gosched()
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		l.wmu.Unlock()
		t.Fatalf("err %v, want context.Canceled", err)
	}
	l.wmu.Unlock()
	if base := mustAppend(t, l, recs("next", 1), 0); base != 0 {
		t.Fatalf("next append got base %d, want 0: the cancelled one was written", base)
	}
	if got := readAll(t, l, 0); len(got) != 1 || string(got[0].Value) != "next-0" {
		t.Fatalf("log holds %d records", len(got))
	}
}

// TestGroupCommit: concurrent appenders share write transactions, so the
// log commits fewer transactions than it gets appends, and every append
// still gets its own dense range of offsets.
func TestGroupCommit(t *testing.T) {
	l := openLog(t, Options{Durability: DurabilityFsync})
	const writers, each = 8, 25
	var wg sync.WaitGroup
	bases := make(chan [2]int64, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				n := 1 + (w+i)%4
				base, err := l.Append(context.Background(), recs(fmt.Sprintf("w%d-%d", w, i), n), 0)
				if err != nil {
					t.Error(err)
					return
				}
				bases <- [2]int64{base, int64(n)}
			}
		}()
	}
	wg.Wait()
	close(bases)
	covered := map[int64]bool{}
	for b := range bases {
		for o := b[0]; o < b[0]+b[1]; o++ {
			if covered[o] {
				t.Fatalf("offset %d handed out twice", o)
			}
			covered[o] = true
		}
	}
	if int64(len(covered)) != l.EndOffset() {
		t.Fatalf("%d offsets handed out, log ends at %d", len(covered), l.EndOffset())
	}
	st := l.Stats()
	t.Logf("appends %d, commits %d", st.Appends, st.Commits)
	if st.Appends != writers*each {
		t.Fatalf("appends %d, want %d", st.Appends, writers*each)
	}
	if st.Commits >= st.Appends {
		t.Fatalf("no group commit: %d commits for %d appends", st.Commits, st.Appends)
	}
}

// TestGroupCommitSharesOneTransaction holds the write lock while eight
// appends arrive: the committer takes what is queued and waits, the rest
// queue behind it, and once the lock is released they commit together:
// eight appends in at most two transactions.
func TestGroupCommitSharesOneTransaction(t *testing.T) {
	l := openLog(t, Options{})
	l.wmu.Lock()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Append(context.Background(), recs(fmt.Sprint(w), 2), 0); err != nil {
				t.Error(err)
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for l.Stats().Pending != 8 {
		if time.Now().After(deadline) {
			l.wmu.Unlock()
			t.Fatalf("%d appends pending, want 8", l.Stats().Pending)
		}
		runtime.Gosched()
	}
	l.wmu.Unlock()
	wg.Wait()
	if st := l.Stats(); st.Appends != 8 || st.Commits > 2 || st.Pending != 0 {
		t.Fatalf("stats %+v, want 8 appends in at most 2 commits", st)
	}
	if got := readAll(t, l, 0); len(got) != 16 {
		t.Fatalf("read %d records, want 16", len(got))
	}
}

// TestConcurrentAppendersAndReaders runs under -race in CI: readers chase
// the end while appenders write, and every read sees dense, intact data.
func TestConcurrentAppendersAndReaders(t *testing.T) {
	l := openLog(t, Options{Durability: DurabilityReplicated})
	const writers, each = 4, 40
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := l.Append(context.Background(), recs(fmt.Sprintf("w%d", w), 3), 0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var rg sync.WaitGroup
	for r := 0; r < 3; r++ {
		rg.Add(1)
		go func() {
			defer rg.Done()
			next := int64(0)
			for {
				end := l.EndOffset()
				if next >= end {
					select {
					case <-done:
						if next >= l.EndOffset() {
							return
						}
					default:
						runtime.Gosched()
					}
					continue
				}
				res, err := l.Read(next, 4096, end)
				if err != nil {
					t.Error(err)
					return
				}
				for _, b := range res.Batches {
					for _, rec := range b.Records {
						if rec.Offset >= next {
							if rec.Offset != next {
								t.Errorf("gap: got %d, want %d", rec.Offset, next)
								return
							}
							next++
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	rg.Wait()
	if l.EndOffset() != writers*each*3 {
		t.Fatalf("end %d", l.EndOffset())
	}
}
