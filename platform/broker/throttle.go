package broker

import (
	"context"
	"math"
	"sync"
	"time"
)

// The reassignment throttle on the follower (meta's throttle.go gives the
// rules; docs/operations.md the use). A replica this broker is adding in
// a reassignment with a throttle, and that is not in the ISR yet, is
// fetched in a fetch session of its own per leader (fetchers.throttled),
// never in the session of the in-sync replicas: their fetches, pipelining
// and so acks=all latency are untouched, and a throttled answer never
// holds a stream up. Every round of a throttled session first reserves
// bytes from the broker's one ByteBucket and asks the leader for at most
// that many (ReplicaFetchRequest.MaxBytes), then settles the reservation
// with the bytes the answer carried. Once the replica joins the ISR (or
// the move ends) the next metadata moves it to the normal session.

// Throttled fetch sizes: a throttled round asks for a tenth of a second
// of the rate, between these bounds.
const (
	MinThrottleChunk = 1 << 10
	MaxThrottleChunk = DefaultFetchMaxBytes
	// throttleSlice bounds one sleep of a throttled session waiting for
	// its budget, so a raised throttle takes effect within it.
	throttleSlice = 250 * time.Millisecond
)

// ByteBucket is a token bucket over bytes: a plain value with time passed
// in, so its arithmetic is tested without a clock. Tokens accrue at Rate
// bytes per second up to one Chunk (the burst). A fetch Reserves a whole
// Chunk, asks for at most that many bytes, and Settles with the bytes it
// got: a leader sends at least one batch per partition however large, so
// an answer may exceed its reservation, and the bucket then goes into
// debt that later reservations wait off. Over any span of t seconds the
// bytes settled are at most Chunk + Rate·t plus the overshoot of the last
// answer; a fetch cannot burst past the bucket by a whole max-bytes answer.
// The zero value is unusable; make one with NewByteBucket.
//
// Not golang.org/x/time/rate: its ReserveN refuses more than the burst,
// so the bytes of an answer larger than asked (one big batch) could not
// be charged after the fact, and debt is exactly what keeps the long-run
// rate under the throttle.
type ByteBucket struct {
	rate   float64 // bytes per second, > 0
	chunk  int
	tokens float64 // may be negative (debt)
	last   time.Time
}

// NewByteBucket returns a full bucket of rate bytes per second (rate > 0).
func NewByteBucket(rate int64, now time.Time) ByteBucket {
	b := ByteBucket{last: now}
	b.SetRate(rate, now)
	b.tokens = float64(b.chunk)
	return b
}

// throttleChunk is the burst and per-fetch cap of rate.
func throttleChunk(rate int64) int {
	return int(min(max(rate/10, MinThrottleChunk), MaxThrottleChunk))
}

// Rate is the bucket's rate in bytes per second.
func (b *ByteBucket) Rate() int64 { return int64(b.rate) }

// Chunk is the most one fetch may ask for (and the burst).
func (b *ByteBucket) Chunk() int { return b.chunk }

// SetRate changes the rate (rate > 0) from now on; the tokens already
// earned are kept, up to the new Chunk.
func (b *ByteBucket) SetRate(rate int64, now time.Time) {
	b.refill(now)
	b.rate = float64(max(rate, 1))
	b.chunk = throttleChunk(rate)
	b.tokens = min(b.tokens, float64(b.chunk))
}

func (b *ByteBucket) refill(now time.Time) {
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens = min(b.tokens+dt.Seconds()*b.rate, float64(b.chunk))
		b.last = now
	}
}

// Reserve takes a Chunk for one fetch and returns its size, or returns 0
// and how long to wait until a Chunk is there.
func (b *ByteBucket) Reserve(now time.Time) (n int, wait time.Duration) {
	b.refill(now)
	if need := float64(b.chunk) - b.tokens; need > 0 {
		return 0, time.Duration(math.Ceil(need / b.rate * float64(time.Second)))
	}
	b.tokens -= float64(b.chunk)
	return b.chunk, 0
}

// Settle ends a reservation of reserved bytes whose fetch got used bytes:
// what it did not use comes back, what it got beyond is owed.
func (b *ByteBucket) Settle(reserved, used int, now time.Time) {
	b.refill(now)
	b.tokens = min(b.tokens+float64(reserved-used), float64(b.chunk))
}

// copyLimiter is the broker's throttle: one bucket shared by every
// throttled fetch session, at the smallest rate of the throttled replicas
// it holds (0: none).
type copyLimiter struct {
	mu     sync.Mutex
	rate   int64
	bucket ByteBucket
}

// setRate installs the throttle of the current assignment (0: none).
func (l *copyLimiter) setRate(rate int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	switch {
	case rate <= 0:
	case l.rate <= 0:
		l.bucket = NewByteBucket(rate, now)
	case rate != l.rate:
		l.bucket.SetRate(rate, now)
	}
	l.rate = rate
}

// reserve waits for a fetch's budget; 0 when ctx ended first. With no
// throttle in force (the session is about to be stopped) it grants a
// full fetch.
func (l *copyLimiter) reserve(ctx context.Context) int {
	for {
		l.mu.Lock()
		if l.rate <= 0 {
			l.mu.Unlock()
			return DefaultFetchMaxBytes
		}
		n, wait := l.bucket.Reserve(time.Now())
		l.mu.Unlock()
		if n > 0 {
			return n
		}
		t := time.NewTimer(min(wait, throttleSlice))
		select {
		case <-ctx.Done():
			t.Stop()
			return 0
		case <-t.C:
		}
	}
}

func (l *copyLimiter) settle(reserved, used int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate > 0 && reserved > 0 {
		l.bucket.Settle(reserved, used, time.Now())
	}
}

// throttleRound reserves a throttled session's budget for req and caps
// req at it (the session's goroutine keeps the reservation in
// f.reserved until throttleSettle); false when ctx ended while waiting.
func (f *fetcher) throttleRound(ctx context.Context, req *ReplicaFetchRequest) bool {
	if !f.throttled {
		return true
	}
	n := f.b.throttle.reserve(ctx)
	if n == 0 {
		return false
	}
	req.MaxBytes = n
	f.reserved = n
	return true
}

// throttleSettle settles a throttled round with the bytes its answer
// carried (resp nil: the fetch failed).
func (f *fetcher) throttleSettle(resp *ReplicaFetchResponse) {
	reserved := f.reserved
	f.reserved = 0
	if !f.throttled || reserved == 0 {
		return
	}
	used := 0
	if resp != nil {
		for i := range resp.Partitions {
			for _, raw := range resp.Partitions[i].Batches {
				used += len(raw)
			}
		}
	}
	f.b.throttle.settle(reserved, used)
}

// syncSessions makes sessions (the normal or the throttled ones; fs.mu is
// held) follow want: sessions with nothing left stop, new leaders get one.
func (b *Broker) syncSessions(sessions map[int32]*fetcher, want map[int32]map[*partition]int32, throttled bool) {
	for id, f := range sessions {
		if len(want[id]) == 0 {
			f.stop()
			delete(sessions, id)
		}
	}
	for id, parts := range want {
		f := sessions[id]
		if f == nil {
			f = b.startFetcher(id, throttled)
			sessions[id] = f
		}
		f.set(parts)
	}
}
