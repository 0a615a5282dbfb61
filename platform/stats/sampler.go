package stats

import (
	"context"
	"sync"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
)

// Defaults of a Sampler: a sample every 5 s, 15 minutes kept.
const (
	DefaultInterval = 5 * time.Second
	DefaultWindow   = 15 * time.Minute
)

// Source reads the node's counters; it is called from the Sampler's
// goroutine only, with a context that ends at Close.
type Source func(ctx context.Context) (Totals, error)

// Sampler reads a Source every Interval into a Ring. Start it with
// Start, stop it with Close; History may be called at any time.
type Sampler struct {
	source   Source
	interval time.Duration
	window   time.Duration

	mu   sync.Mutex
	ring *Ring

	cancel context.CancelFunc
	done   chan struct{}
}

// NewSampler samples source every interval and keeps window of samples
// (zero values take the defaults).
func NewSampler(source Source, interval, window time.Duration) *Sampler {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if window <= 0 {
		window = DefaultWindow
	}
	return &Sampler{source: source, interval: interval, window: window, ring: NewRing(int(window / interval))}
}

// Start takes a first reading at once and then one every interval, until
// Close.
func (s *Sampler) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go s.loop(ctx)
}

func (s *Sampler) loop(ctx context.Context) {
	defer close(s.done)
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		s.sample(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sample reads the source once; a failed reading is skipped (the next
// sample's rate then spans both intervals).
func (s *Sampler) sample(ctx context.Context, now time.Time) {
	t, err := s.source(ctx)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.ring.Observe(now, t)
	s.mu.Unlock()
}

// History returns the samples kept, oldest first.
func (s *Sampler) History() wire.StatsHistory {
	s.mu.Lock()
	defer s.mu.Unlock()
	return wire.StatsHistory{IntervalMs: s.interval.Milliseconds(), WindowMs: s.window.Milliseconds(), Samples: s.ring.Samples()}
}

// Close stops the sampling goroutine and waits for it. Safe without
// Start.
func (s *Sampler) Close() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
}
