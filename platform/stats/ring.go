package stats

import (
	"maps"
	"slices"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
)

// Totals are a node's cumulative counters at one moment, and the lag of
// the consumer groups it coordinates at that moment.
type Totals struct {
	ProduceRecords float64
	ProduceBytes   float64
	FetchRecords   float64
	FetchBytes     float64
	// Lag maps a group to its lag in records (Σ over its partitions).
	Lag map[string]int64
}

// Sample is one point of the history (see wire.StatsSample).
type Sample = wire.StatsSample

// MaxGroups bounds the groups a sample names (those with the most lag),
// so a node with thousands of groups keeps a small history.
const MaxGroups = 10

// Ring keeps the newest samples, at most Cap. The zero value is not
// usable; build one with NewRing. Not safe for concurrent use (Sampler
// locks it).
type Ring struct {
	samples []Sample // oldest first, len ≤ cap
	cap     int
	prev    Totals
	prevAt  time.Time
	primed  bool
}

// NewRing keeps up to n samples (at least 1).
func NewRing(n int) *Ring {
	return &Ring{cap: max(n, 1)}
}

// Observe records the counters read at now. The first observation only
// primes the ring (a rate needs two readings); each later one adds a
// sample whose rates are the counters' growth since the previous
// reading divided by the time between them. A counter that went down
// (the node's registry was rebuilt) counts as a rate of 0 for that
// interval, never as a negative rate. A reading at or before the
// previous one is ignored.
func (r *Ring) Observe(now time.Time, t Totals) {
	if !r.primed {
		r.prev, r.prevAt, r.primed = t, now, true
		return
	}
	secs := now.Sub(r.prevAt).Seconds()
	if secs <= 0 {
		return
	}
	rate := func(cur, prev float64) float64 {
		if cur < prev {
			return 0
		}
		return (cur - prev) / secs
	}
	s := Sample{
		Time:                 now.UnixMilli(),
		ProduceRecordsPerSec: rate(t.ProduceRecords, r.prev.ProduceRecords),
		ProduceBytesPerSec:   rate(t.ProduceBytes, r.prev.ProduceBytes),
		FetchRecordsPerSec:   rate(t.FetchRecords, r.prev.FetchRecords),
		FetchBytesPerSec:     rate(t.FetchBytes, r.prev.FetchBytes),
	}
	for _, v := range t.Lag {
		s.Lag += v
	}
	s.GroupLag = topGroups(t.Lag, MaxGroups)
	r.prev, r.prevAt = t, now
	if len(r.samples) == r.cap {
		copy(r.samples, r.samples[1:])
		r.samples = r.samples[:r.cap-1]
	}
	r.samples = append(r.samples, s)
}

// Samples returns a copy of the samples, oldest first.
func (r *Ring) Samples() []Sample {
	return slices.Clone(r.samples)
}

// topGroups keeps the n groups with the most lag (ties by name).
func topGroups(lag map[string]int64, n int) map[string]int64 {
	if len(lag) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(lag))
	slices.SortStableFunc(names, func(a, b string) int {
		switch {
		case lag[a] > lag[b]:
			return -1
		case lag[a] < lag[b]:
			return 1
		}
		return 0
	})
	out := make(map[string]int64, min(n, len(names)))
	for _, g := range names[:min(n, len(names))] {
		out[g] = lag[g]
	}
	return out
}
