package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
)

// ProducerConfig tunes a Producer. Zero values take the documented defaults.
type ProducerConfig struct {
	// Acks for every request; default AcksAll.
	Acks Acks
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
	// Retries is how often a request that failed as a whole with an error
	// that guarantees nothing was written (not leader, not enough replicas,
	// not controller, node unreachable) is sent again, after RetryBackoff,
	// doubled each time (default 3; negative: never). Timeouts are not
	// retried: with acks=all the records may have been written.
	Retries int
	// RetryBackoff is the first wait before a retry (default 100 ms).
	RetryBackoff time.Duration
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
	if c.Retries == 0 {
		c.Retries = 3
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 100 * time.Millisecond
	}
}

// Producer batches records per topic and sends them with the binary format.
// Create one with Client.NewProducer; it is safe for concurrent use. Close
// sends what is buffered and stops it.
type Producer struct {
	c    *Client
	cfg  ProducerConfig
	opts ProduceOptions

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
		opts:       ProduceOptions{Acks: cfg.Acks, Timeout: cfg.Timeout},
		tokens:     make(chan struct{}, cfg.MaxBuffered),
		slots:      make(chan struct{}, cfg.MaxInFlight),
		wake:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		closing:    make(chan struct{}),
		open:       make(map[string]*batch),
		unfinished: make(map[*batch]struct{}),
	}
	p.wg.Add(1)
	go p.dispatch()
	return p
}

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
	// Produce is always sent; the request timeout bounds it.
	results, err := p.c.Produce(context.Background(), b.topic, b.recs, p.opts)
	backoff := p.cfg.RetryBackoff
	for try := 0; try < p.cfg.Retries && err != nil && safeToRetry(err); try++ {
		<-time.After(backoff) // bounded: Retries × doubling backoff
		backoff *= 2
		results, err = p.c.Produce(context.Background(), b.topic, b.recs, p.opts)
	}
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

// safeToRetry reports whether err guarantees the request wrote nothing and
// may succeed when sent again.
func safeToRetry(err error) bool {
	return errors.Is(err, ErrNotLeader) || errors.Is(err, ErrNotEnoughReplicas) ||
		errors.Is(err, ErrNotController) || errors.Is(err, ErrUnavailable)
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
