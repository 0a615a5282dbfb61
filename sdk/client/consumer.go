package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
)

// ConsumerConfig says what a Consumer reads. Zero values take the
// documented defaults.
type ConsumerConfig struct {
	// Topic to read; required.
	Topic string
	// Partitions to read; empty means every partition of the topic.
	Partitions []int32
	// From is where each partition starts (default Earliest).
	From Position
	// Offsets override From for the partitions they name.
	Offsets map[int32]int64
	// MaxBytes per fetch (default DefaultConsumerMaxBytes, 4 MiB).
	MaxBytes int
	// MaxWait is the long-poll wait of each fetch (default 1 s).
	MaxWait time.Duration
	// Processor ("NAME" or "NAME@N") and Params run a processor plugin on
	// the broker.
	Processor string
	Params    map[string]string
	// RetryBackoff is the first wait after a retriable error (not leader,
	// not reachable, timeout), doubled up to 2 s (default 100 ms).
	RetryBackoff time.Duration
}

// DefaultConsumerMaxBytes is ConsumerConfig.MaxBytes when unset: large
// enough that a fetch's fixed costs (a request, a read transaction, a
// wake-up) are small beside its records.
const DefaultConsumerMaxBytes = 4 << 20

// Consumer reads partitions of a topic by long-polling fetches, one
// goroutine per partition. A partition's goroutine fetches ahead: while
// one fetched batch waits for Poll, it fetches the next and holds it, so
// Poll rarely waits for a round trip; memory is bounded by
// 2 × partitions × MaxBytes (about one batch more for a single fetch
// larger than MaxBytes). Fetched records alias the answer they came in
// (no copy per record). Poll from one goroutine; Close from any.
type Consumer struct {
	c      *Client
	cfg    ConsumerConfig
	opts   FetchOptions
	out    chan fetched
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	positions map[int32]int64
	live      int // partition goroutines still running
	closed    bool
}

type fetched struct {
	fb  *wire.FetchBatch
	err error
}

// NewConsumer describes the topic, resolves the start offsets and starts
// fetching. Fails with ErrUnknownTopic, ErrUnknownPartition.
func (c *Client) NewConsumer(ctx context.Context, cfg ConsumerConfig) (*Consumer, error) {
	if cfg.MaxWait == 0 {
		cfg.MaxWait = time.Second
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultConsumerMaxBytes
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 100 * time.Millisecond
	}
	t, err := c.DescribeTopic(ctx, cfg.Topic)
	if err != nil {
		return nil, fmt.Errorf("consume: %w", err)
	}
	parts := slices.Clone(cfg.Partitions)
	if len(parts) == 0 {
		for i := int32(0); i < t.PartitionCount; i++ {
			parts = append(parts, i)
		}
	}
	starts := make(map[int32]int64, len(parts))
	for _, p := range parts {
		if p < 0 || p >= t.PartitionCount {
			return nil, fmt.Errorf("consume %s: partition %d: %w (the topic has %d)", cfg.Topic, p, ErrUnknownPartition, t.PartitionCount)
		}
		if o, ok := cfg.Offsets[p]; ok {
			starts[p] = o
			continue
		}
		o, err := c.Resolve(ctx, cfg.Topic, p, cfg.From)
		if err != nil {
			return nil, fmt.Errorf("consume: %w", err)
		}
		starts[p] = o
	}
	runCtx, cancel := context.WithCancel(context.Background())
	cs := &Consumer{
		c:   c,
		cfg: cfg,
		opts: FetchOptions{
			MaxBytes: cfg.MaxBytes, MaxWait: cfg.MaxWait,
			Processor: cfg.Processor, Params: cfg.Params,
		},
		// One parked batch per partition: each goroutine fetches the next
		// while its last one waits in the channel.
		out:       make(chan fetched, len(parts)),
		cancel:    cancel,
		positions: starts,
		live:      len(parts),
	}
	for _, p := range parts {
		cs.wg.Add(1)
		go cs.run(runCtx, p, starts[p])
	}
	return cs, nil
}

// run fetches one partition until ctx ends or a non-retriable error.
func (cs *Consumer) run(ctx context.Context, p int32, off int64) {
	defer cs.wg.Done()
	backoff := cs.cfg.RetryBackoff
	for ctx.Err() == nil {
		fb, err := cs.c.Fetch(ctx, cs.cfg.Topic, p, off, cs.opts)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if retriable(err) {
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return
				}
				backoff = min(2*backoff, 2*time.Second)
				continue
			}
			select {
			case cs.out <- fetched{err: err}:
			case <-ctx.Done():
			}
			return
		}
		backoff = cs.cfg.RetryBackoff
		if fb.NextOffset == off && len(fb.Records) == 0 {
			continue // long-poll ran out
		}
		off = fb.NextOffset
		select {
		case cs.out <- fetched{fb: fb}:
		case <-ctx.Done():
			return
		}
	}
}

func retriable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Retriable()
	}
	return errors.Is(err, ErrUnavailable)
}

// Poll returns the next fetched batch of any partition: its records (each
// with Partition and Offset), NextOffset and HighWatermark. It blocks until
// one arrives or ctx ends. An error names one partition that stopped (for
// example ErrOffsetOutOfRange after retention, or ErrPluginFailed); the
// others go on. A batch may hold no records when a processor dropped them
// all; its NextOffset still moves.
func (cs *Consumer) Poll(ctx context.Context) (*wire.FetchBatch, error) {
	cs.mu.Lock()
	closed, live := cs.closed, cs.live
	cs.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("poll: consumer %w", ErrClosed)
	}
	if live == 0 {
		return nil, fmt.Errorf("poll %s: every partition stopped", cs.cfg.Topic)
	}
	select {
	case f := <-cs.out:
		if f.err != nil {
			cs.mu.Lock()
			cs.live--
			cs.mu.Unlock()
			return nil, f.err
		}
		cs.mu.Lock()
		cs.positions[f.fb.Partition] = f.fb.NextOffset
		cs.mu.Unlock()
		return f.fb, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Positions returns, per partition, the offset after the last batch Poll
// returned (the start offset before the first): what to commit or resume
// from.
func (cs *Consumer) Positions() map[int32]int64 {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := make(map[int32]int64, len(cs.positions))
	for p, o := range cs.positions {
		out[p] = o
	}
	return out
}

// Close stops the fetches and waits for them.
func (cs *Consumer) Close() error {
	cs.mu.Lock()
	cs.closed = true
	cs.mu.Unlock()
	cs.cancel()
	cs.wg.Wait()
	return nil
}
