package client

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
)

// ProducerConfig tunes a Producer. Zero values take the documented defaults.
type ProducerConfig struct {
	// Acks for every request; default AcksAll.
	Acks Acks
	// Partition, if set, sends every record of this producer to that
	// partition of its topic instead of the partitioner's choice.
	Partition *int32
	// Linger is how long a batch waits for more records before it is sent
	// (default 5 ms). A batch is sent earlier when it is full. With a
	// negative Linger a batch is ready at once; records still collect into
	// it while all MaxInFlight requests are busy.
	Linger time.Duration
	// BatchRecords caps the records of one request (default 1000).
	BatchRecords int
	// BatchBytes caps the encoded size of one request (default 1 MiB); a
	// single larger record is sent alone.
	BatchBytes int
	// MaxInFlight bounds concurrent requests (default 1). With 1, requests
	// are sent one after another, so records keep the order of Produce
	// calls within each partition (retries included); with more, throughput
	// grows but a later request may overtake an earlier one.
	MaxInFlight int
	// MaxBuffered bounds records produced but not yet answered (default
	// 32768); Produce blocks while it is reached.
	MaxBuffered int
	// Timeout is the server-side acks=all wait (default: server's, 30 s).
	Timeout time.Duration
	// Retries caps how often a request is sent again (default 0: as often
	// as DeliveryTimeout allows; negative: never).
	Retries int
	// RetryBackoff is the first wait before a retry (default: the
	// client's, DefaultRetryBackoff); it doubles per attempt up to
	// RetryMaxBackoff (default: the client's, DefaultRetryMaxBackoff),
	// jittered.
	RetryBackoff    time.Duration
	RetryMaxBackoff time.Duration
	// DeliveryTimeout bounds a request with its retries (default: the
	// client's, DefaultDeliveryTimeout): no attempt starts after it, and
	// its records then get the last attempt's error.
	DeliveryTimeout time.Duration
	// DisableIdempotence turns the idempotent producer off. By default
	// (acks 1 or all) the producer has a random 64-bit id and numbers its
	// records, and every request is sent again after any retriable
	// failure, a timeout or a lost answer included: the broker writes
	// each record once and answers a retry with the original offsets.
	// Without it, only failures that guarantee nothing was written are
	// retried (not_leader, not_enough_replicas, not_controller,
	// unavailable, a node that cannot be dialled), so a timeout reaches
	// the records.
	DisableIdempotence bool
}

func (c *ProducerConfig) setDefaults() {
	if c.Acks == "" {
		c.Acks = AcksAll
	}
	if c.Linger == 0 {
		c.Linger = 5 * time.Millisecond
	}
	if c.BatchRecords <= 0 {
		c.BatchRecords = 1000
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = 1 << 20
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 1
	}
	if c.MaxBuffered <= 0 {
		c.MaxBuffered = 32768
	}
}

// policy is the producer's retry policy over the client's.
func (c *ProducerConfig) policy(base retryPolicy) retryPolicy {
	if c.RetryBackoff > 0 {
		base.first = c.RetryBackoff
	}
	if c.RetryMaxBackoff > 0 {
		base.max = c.RetryMaxBackoff
	}
	base.max = max(base.max, base.first)
	if c.DeliveryTimeout > 0 {
		base.delivery = c.DeliveryTimeout
	}
	base.retries = c.Retries
	return base
}

// Producer batches records per topic and sends them with the binary format.
// Create one with Client.NewProducer; it is safe for concurrent use. Close
// sends what is buffered and stops it.
type Producer struct {
	c      *Client
	cfg    ProducerConfig
	opts   ProduceOptions
	policy retryPolicy
	// id and nextSeq number the records of an idempotent producer;
	// nextSeq is guarded by mu and taken when a batch is dispatched.
	id      int64
	nextSeq int64

	tokens  chan struct{}  // one per buffered record (MaxBuffered)
	slots   chan struct{}  // one per request in flight (MaxInFlight)
	wake    chan struct{}  // a batch became ready (capacity 1)
	stop    chan struct{}  // closed once Close has drained everything
	closing chan struct{}  // closed when Close starts
	wg      sync.WaitGroup // dispatcher and senders

	mu         sync.Mutex
	open       map[string]*batch   // per topic: the batch records go into
	ready      []*batch            // FIFO of batches to send
	unfinished map[*batch]struct{} // created and not yet answered
	closed     bool
}

type entry struct {
	fut *Future
	cb  func(ProduceResult)
}

type batch struct {
	seq   int64 // sequence of the first record (idempotent producers)
	topic string
	recs  []Record
	ents  []entry
	bytes int
	ready bool
	timer *time.Timer
	done  chan struct{}
}

// Future is the outcome of one produced record.
type Future struct {
	done chan struct{}
	res  ProduceResult
}

// Done is closed when the result is known.
func (f *Future) Done() <-chan struct{} { return f.done }

// Result is the outcome; valid once Done is closed.
func (f *Future) Result() ProduceResult { return f.res }

// Wait blocks until the result is known or ctx ends, and returns the result
// and its error.
func (f *Future) Wait(ctx context.Context) (ProduceResult, error) {
	select {
	case <-f.done:
		return f.res, f.res.Err
	case <-ctx.Done():
		return ProduceResult{Partition: -1, Offset: -1}, ctx.Err()
	}
}

// NewProducer starts a producer. Close it to release its goroutines.
func (c *Client) NewProducer(cfg ProducerConfig) *Producer {
	cfg.setDefaults()
	p := &Producer{
		c:          c,
		cfg:        cfg,
		opts:       ProduceOptions{Acks: cfg.Acks, Timeout: cfg.Timeout, Partition: cfg.Partition},
		policy:     cfg.policy(c.retry),
		tokens:     make(chan struct{}, cfg.MaxBuffered),
		slots:      make(chan struct{}, cfg.MaxInFlight),
		wake:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		closing:    make(chan struct{}),
		open:       make(map[string]*batch),
		unfinished: make(map[*batch]struct{}),
	}
	if !cfg.DisableIdempotence && cfg.Acks != AcksNone {
		p.id = NewProducerID()
	} else {
		p.id = -1
	}
	p.wg.Add(1)
	go p.dispatch()
	return p
}

// ProducerID is the producer's idempotent id, -1 without idempotence.
func (p *Producer) ProducerID() int64 { return p.id }

// Produce queues r for topic and returns a Future for its result. It blocks
// while MaxBuffered records are unanswered, until ctx ends (then it returns
// ctx's error and r is not produced). The producer keeps r's slices until
// the record is answered: do not modify them before.
func (p *Producer) Produce(ctx context.Context, topic string, r Record) (*Future, error) {
	f := &Future{done: make(chan struct{})}
	if err := p.add(ctx, topic, r, entry{fut: f}); err != nil {
		return nil, err
	}
	return f, nil
}

// ProduceFunc queues r like Produce and calls cb with its result. cb runs
// on the producer's sender goroutine: it must be quick and must not call
// Flush or Close.
func (p *Producer) ProduceFunc(ctx context.Context, topic string, r Record, cb func(ProduceResult)) error {
	return p.add(ctx, topic, r, entry{cb: cb})
}

func (p *Producer) add(ctx context.Context, topic string, r Record, e entry) error {
	select {
	case p.tokens <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("produce to %s: %w", topic, ctx.Err())
	case <-p.closing:
		return fmt.Errorf("produce to %s: producer %w", topic, ErrClosed)
	}
	size := wire.RecordSize(&r)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		<-p.tokens
		return fmt.Errorf("produce to %s: producer %w", topic, ErrClosed)
	}
	b := p.open[topic]
	if b != nil && len(b.recs) > 0 && b.bytes+size > p.cfg.BatchBytes {
		// Would overflow: close this batch and start another.
		p.markReady(b)
		delete(p.open, topic)
		b = nil
	}
	if b == nil {
		b = &batch{topic: topic, done: make(chan struct{})}
		p.open[topic] = b
		p.unfinished[b] = struct{}{}
		if p.cfg.Linger > 0 {
			b.timer = time.AfterFunc(p.cfg.Linger, func() { p.lingerDone(b) })
		} else {
			p.markReady(b)
		}
	}
	b.recs = append(b.recs, r)
	b.ents = append(b.ents, e)
	b.bytes += size
	if len(b.recs) >= p.cfg.BatchRecords || b.bytes >= p.cfg.BatchBytes {
		p.markReady(b)
		delete(p.open, topic)
	}
	return nil
}

func (p *Producer) lingerDone(b *batch) {
	p.mu.Lock()
	p.markReady(b)
	p.mu.Unlock()
}

// markReady queues b for sending. A ready batch stays open for more records
// until the dispatcher takes it. Called with p.mu held.
func (p *Producer) markReady(b *batch) {
	if b.ready {
		return
	}
	b.ready = true
	if b.timer != nil {
		b.timer.Stop()
	}
	p.ready = append(p.ready, b)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// dispatch takes ready batches in order, one per free in-flight slot.
func (p *Producer) dispatch() {
	defer p.wg.Done()
	for {
		select {
		case p.slots <- struct{}{}:
		case <-p.stop:
			return
		}
		var b *batch
		for b == nil {
			p.mu.Lock()
			if len(p.ready) > 0 {
				b = p.ready[0]
				p.ready[0] = nil
				p.ready = p.ready[1:]
				if p.open[b.topic] == b {
					delete(p.open, b.topic)
				}
				// Numbered once, when it can grow no more: a retry
				// resends the same records with the same sequences.
				b.seq = p.nextSeq
				p.nextSeq += int64(len(b.recs))
			}
			p.mu.Unlock()
			if b != nil {
				break
			}
			select {
			case <-p.wake:
			case <-p.stop:
				<-p.slots
				return
			}
		}
		p.wg.Add(1)
		go p.send(b)
	}
}

// send performs one request and completes the batch's records.
func (p *Producer) send(b *batch) {
	defer p.wg.Done()
	defer func() { <-p.slots }()
	// The request is not tied to any caller's context: a record accepted by
	// Produce is always sent; the delivery timeout bounds its retries.
	opts := p.opts
	if p.id >= 0 {
		opts.Idempotent = &Idempotent{ProducerID: p.id, Sequence: b.seq}
	}
	results, err := p.c.produce(context.Background(), b.topic, b.recs, opts, p.policy)
	for i, e := range b.ents {
		var r ProduceResult
		if err != nil {
			r = ProduceResult{Partition: -1, Offset: -1, Err: err}
		} else {
			r = results[i]
		}
		if e.fut != nil {
			e.fut.res = r
			close(e.fut.done)
		} else {
			e.cb(r)
		}
		<-p.tokens
	}
	p.mu.Lock()
	delete(p.unfinished, b)
	p.mu.Unlock()
	close(b.done)
}

// Flush sends every buffered record and waits until all records produced
// before the call are answered, or ctx ends.
func (p *Producer) Flush(ctx context.Context) error {
	p.mu.Lock()
	for _, b := range p.open {
		p.markReady(b)
	}
	waits := make([]chan struct{}, 0, len(p.unfinished))
	for b := range p.unfinished {
		waits = append(waits, b.done)
	}
	p.mu.Unlock()
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return fmt.Errorf("flush: %w", ctx.Err())
		}
	}
	return nil
}

// Close sends what is buffered, waits for every answer, and stops the
// producer. Produce calls after (or blocked during) Close fail with
// ErrClosed. Close is bounded by the client's request timeout.
func (p *Producer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.closing)
	p.mu.Unlock()
	err := p.Flush(context.Background())
	close(p.stop)
	p.wg.Wait()
	return err
}
