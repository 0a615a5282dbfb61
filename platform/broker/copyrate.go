package broker

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
)

// Catch-up progress of the replicas this broker is adding in a
// reassignment: how many bytes each holds and how fast it copied them
// lately, which `sluice partition reassign --status` turns into bytes
// left and an ETA.

// Rate meter windows: bytes are counted in rateSlots slots of rateSlot.
const (
	rateSlot  = time.Second
	rateSlots = 10
)

// RateMeter measures a byte rate over the last rateSlots seconds: a plain
// value with time passed in. The zero value is ready; a meter not fed
// for a whole window reads 0.
type RateMeter struct {
	start time.Time // first Add since the last Reset
	slots [rateSlots]int64
	at    [rateSlots]int64 // the slot's second (unix), to tell stale slots
}

// Add counts n bytes at now.
func (m *RateMeter) Add(n int, now time.Time) {
	if m.start.IsZero() {
		m.start = now
	}
	sec := now.Unix()
	i := int(sec % rateSlots)
	if m.at[i] != sec {
		m.at[i], m.slots[i] = sec, 0
	}
	m.slots[i] += int64(n)
}

// Rate is the bytes per second over the window ending at now, measured
// from the first Add when that is more recent; ok is false before a
// whole slot has passed since the first Add (too early to tell).
func (m *RateMeter) Rate(now time.Time) (rate float64, ok bool) {
	if m.start.IsZero() {
		return 0, false
	}
	span := min(now.Sub(m.start), rateSlot*rateSlots)
	if span < rateSlot {
		return 0, false
	}
	sec := now.Unix()
	var sum int64
	for i := range m.slots {
		if age := sec - m.at[i]; age >= 0 && age < rateSlots {
			sum += m.slots[i]
		}
	}
	return float64(sum) / span.Seconds(), true
}

// Reset forgets everything measured.
func (m *RateMeter) Reset() { *m = RateMeter{} }

// copyMeter is a replica's RateMeter, fed by its follower appends while it
// is being added.
type copyMeter struct {
	on     atomic.Bool // adding, read without mu on every follower append
	mu     sync.Mutex
	adding bool
	m      RateMeter
}

// setAdding starts (true) or stops measuring; a new start begins afresh.
func (c *copyMeter) setAdding(adding bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if adding != c.adding {
		c.m.Reset()
	}
	c.adding = adding
	c.on.Store(adding)
}

func (c *copyMeter) add(batches [][]byte) {
	if !c.on.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.adding {
		return
	}
	n := 0
	for _, raw := range batches {
		n += len(raw)
	}
	c.m.Add(n, time.Now())
}

// rate is the measured rate, -1 while unknown.
func (c *copyMeter) rate() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.m.Rate(time.Now()); ok {
		return r
	}
	return -1
}

// copyRole marks whether this broker's replica p is being added by a
// reassignment (its copy rate is measured then) and returns the throttle
// its fetches are under (0: none; meta.Partition.CopyThrottle).
func (b *Broker) copyRole(p *partition, a *meta.Partition) int64 {
	self := meta.NodeID(b.cfg.NodeID)
	p.copied.setAdding(slices.Contains(a.AddingReplicas, self))
	return a.CopyThrottle(self)
}

func minRate(cur, r int64) int64 {
	if cur <= 0 {
		return r
	}
	return min(cur, r)
}

// CopyProgress is a replica this broker is adding, as it stands.
type CopyProgress struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// LogBytes is the size of the replica's log (storage.Log.Size), LogEnd
	// its log end offset.
	LogBytes int64 `json:"log_bytes"`
	LogEnd   int64 `json:"log_end"`
	// Rate is the bytes per second it appended over the last seconds, -1
	// until it has copied for a second.
	Rate float64 `json:"rate"`
	// Throttle is the rate its fetches are limited to (0: none).
	Throttle int64 `json:"throttle,omitempty"`
}

// Copies lists every replica this broker is adding in a reassignment
// (per the metadata it applied), with its size and copy rate.
func (b *Broker) Copies() []CopyProgress {
	b.mu.RLock()
	topics := b.topics
	b.mu.RUnlock()
	self := meta.NodeID(b.cfg.NodeID)
	out := []CopyProgress{}
	for name, t := range topics {
		for i, p := range t.parts {
			a := &t.meta.Partitions[i]
			if p == nil || !slices.Contains(a.AddingReplicas, self) {
				continue
			}
			_, end, _, err := p.offsets()
			if err != nil {
				continue
			}
			out = append(out, CopyProgress{Topic: name, Partition: int32(i), LogBytes: p.logBytes(), LogEnd: end,
				Rate: p.copied.rate(), Throttle: a.CopyThrottle(self)})
		}
	}
	return out
}
