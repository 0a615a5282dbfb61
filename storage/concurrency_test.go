package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// TestCloseWithAppendsInFlight: Close while appenders run never hangs; each
// Append either succeeds (and its records are in the file afterwards) or
// fails with ErrClosed.
func TestCloseWithAppendsInFlight(t *testing.T) {
	l := openLog(t, Options{Durability: DurabilityReplicated})
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[int64]string{}
	started := make(chan struct{}, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				tag := fmt.Sprintf("w%d-%d", w, i)
				base, err := l.Append(context.Background(), recs(tag, 1), 0)
				if i == 0 {
					started <- struct{}{}
				}
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
				mu.Lock()
				acked[base] = tag + "-0"
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < 8; i++ {
		<-started
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	l2, err := Open(l.Path(), Options{Durability: DurabilityReplicated})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	got := map[int64]string{}
	for _, r := range readAll(t, l2, 0) {
		got[r.Offset] = string(r.Value)
	}
	for off, v := range acked {
		if got[off] != v {
			t.Fatalf("acknowledged offset %d = %q, want %q", off, got[off], v)
		}
	}
}

// TestHighWatermarkStaysWithinLog races SetHighWatermark against appends,
// truncations and retention; afterwards start <= hw <= end holds, and the
// only errors are ErrOffsetOutOfRange.
func TestHighWatermarkStaysWithinLog(t *testing.T) {
	l := openLog(t, Options{Durability: DurabilityReplicated})
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, off := range []int64{l.EndOffset(), l.EndOffset() / 2} {
				if err := l.SetHighWatermark(off); err != nil && !errors.Is(err, ErrOffsetOutOfRange) {
					t.Error(err)
					return
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := l.ApplyRetention(l.opts.Now(), Retention{Bytes: 2000}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 200; i++ {
		if _, err := l.Append(ctx, recs("x", 3), 0); err != nil {
			t.Fatal(err)
		}
		if i%7 == 0 {
			if err := l.TruncateTo(l.EndOffset() - 2); err != nil && !errors.Is(err, ErrOffsetOutOfRange) {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	if s, hw, e := l.StartOffset(), l.HighWatermark(), l.EndOffset(); s > hw || hw > e {
		t.Fatalf("start %d hw %d end %d", s, hw, e)
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
}
