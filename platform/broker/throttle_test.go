package broker

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// simulate runs a throttled follower against a leader with endless data
// in batches of batch bytes for span, on a fake clock: reserve, wait when
// told, get at least one batch (never more than asked beyond the first),
// settle. It returns the bytes copied.
func simulate(b *ByteBucket, now *time.Time, span time.Duration, batch int) int64 {
	end := now.Add(span)
	var total int64
	for now.Before(end) {
		n, wait := b.Reserve(*now)
		if n == 0 {
			*now = now.Add(wait)
			continue
		}
		got := batch
		for got+batch <= n {
			got += batch
		}
		total += int64(got)
		*now = now.Add(10 * time.Microsecond) // the round trip
		b.Settle(n, got, *now)
	}
	return total
}

func TestByteBucketBoundsTheRate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rate  int64
		batch int
	}{
		{"small batches", 1 << 20, 4 << 10},
		{"batches larger than a chunk", 256 << 10, 300 << 10},
		{"tiny rate", 100, 512},
		{"fast", 1 << 30, 64 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := t0
			b := NewByteBucket(tc.rate, now)
			span := 20 * time.Second
			got := simulate(&b, &now, span, tc.batch)
			elapsed := now.Sub(t0).Seconds()
			upper := float64(b.Chunk()) + float64(tc.rate)*elapsed + float64(tc.batch)
			if float64(got) > upper {
				t.Fatalf("copied %d bytes in %.1fs at %d B/s: above the bound %.0f", got, elapsed, tc.rate, upper)
			}
			// The simulated follower is never slow: it gets the rate,
			// less what one chunk of slack costs.
			if lower := float64(tc.rate)*span.Seconds() - float64(b.Chunk()+tc.batch); float64(got) < lower {
				t.Fatalf("copied %d bytes in %v at %d B/s: below %.0f", got, span, tc.rate, lower)
			}
		})
	}
}

func TestByteBucketReserveSettle(t *testing.T) {
	b := NewByteBucket(10_000, t0) // chunk 1 KiB (the floor), full
	if b.Chunk() != MinThrottleChunk {
		t.Fatalf("chunk %d", b.Chunk())
	}
	n, wait := b.Reserve(t0)
	if n != MinThrottleChunk || wait != 0 {
		t.Fatalf("full bucket: %d %v", n, wait)
	}
	// Empty now: the wait is the time to earn a chunk.
	if n, wait = b.Reserve(t0); n != 0 || wait != time.Duration(float64(MinThrottleChunk)/10_000*float64(time.Second)) {
		t.Fatalf("empty bucket: %d %v", n, wait)
	}
	// An unused reservation comes back whole.
	b.Settle(MinThrottleChunk, 0, t0)
	if n, _ = b.Reserve(t0); n != MinThrottleChunk {
		t.Fatalf("after an unused reservation: %d", n)
	}
	// An answer of 11,024 bytes (one big batch) puts 10,000 bytes in
	// debt: a chunk is back only after a second plus a chunk's time.
	b.Settle(MinThrottleChunk, MinThrottleChunk+10_000, t0)
	if _, wait = b.Reserve(t0); wait != time.Second+time.Duration(float64(MinThrottleChunk)/10_000*float64(time.Second)) {
		t.Fatalf("in debt: wait %v", wait)
	}
	at := t0.Add(wait)
	if n, _ = b.Reserve(at); n != MinThrottleChunk {
		t.Fatalf("after the debt: %d", n)
	}
	// Idle time earns at most one chunk (the burst).
	at = at.Add(time.Hour)
	if n, _ = b.Reserve(at); n != MinThrottleChunk {
		t.Fatal("after an hour")
	}
	if n, _ = b.Reserve(at); n != 0 {
		t.Fatal("an idle hour earned more than one chunk")
	}
}

func TestByteBucketSetRate(t *testing.T) {
	b := NewByteBucket(1<<20, t0) // chunk 104,857
	if b.Chunk() != (1<<20)/10 {
		t.Fatalf("chunk %d", b.Chunk())
	}
	if n, _ := b.Reserve(t0); n != b.Chunk() {
		t.Fatal("full bucket")
	}
	// Raised 100-fold: the chunk is capped at one max-bytes fetch, and
	// the rate earns it 100 times as fast.
	b.SetRate(100<<20, t0)
	if b.Chunk() != MaxThrottleChunk || b.Rate() != 100<<20 {
		t.Fatalf("raised: chunk %d rate %d", b.Chunk(), b.Rate())
	}
	if _, wait := b.Reserve(t0); wait <= 0 || wait > 10*time.Millisecond+time.Microsecond {
		t.Fatalf("raised: wait %v for a 1 MiB chunk at 100 MiB/s", wait)
	}
	// Lowered: tokens beyond the new chunk are dropped.
	b.SetRate(1<<20, t0.Add(time.Hour))
	if n, _ := b.Reserve(t0.Add(time.Hour)); n != (1<<20)/10 {
		t.Fatalf("lowered: %d", n)
	}
	if n, _ := b.Reserve(t0.Add(time.Hour)); n != 0 {
		t.Fatal("lowered: two chunks")
	}
}

func TestRateMeter(t *testing.T) {
	var m RateMeter
	if _, ok := m.Rate(t0); ok {
		t.Fatal("rate of nothing")
	}
	m.Add(1000, t0)
	if _, ok := m.Rate(t0.Add(500 * time.Millisecond)); ok {
		t.Fatal("rate before a second")
	}
	// 1000 bytes per second for 5 s.
	for i := 1; i < 5; i++ {
		m.Add(1000, t0.Add(time.Duration(i)*time.Second))
	}
	if r, ok := m.Rate(t0.Add(5 * time.Second)); !ok || r != 1000 {
		t.Fatalf("steady: %v %v", r, ok)
	}
	// 30 s later at 2000 B/s: the old seconds are out of the window.
	base := t0.Add(30 * time.Second)
	for i := range 10 {
		m.Add(2000, base.Add(time.Duration(i)*time.Second))
	}
	if r, _ := m.Rate(base.Add(9*time.Second + 999*time.Millisecond)); r != 2000 {
		t.Fatalf("after the window moved: %v", r)
	}
	// Stalled: nothing for a whole window reads 0.
	if r, ok := m.Rate(base.Add(time.Minute)); !ok || r != 0 {
		t.Fatalf("stalled: %v %v", r, ok)
	}
	m.Reset()
	if _, ok := m.Rate(base); ok {
		t.Fatal("after reset")
	}
}
