package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/sdk/wire"
)

// WSProducerConfig configures a WebSocket producer. Zero values take the
// documented defaults.
type WSProducerConfig struct {
	// Topic to produce to. Required.
	Topic string
	// Acks: "0", "1" or "all" (default "all").
	Acks string
	// MaxInFlight bounds batches sent and not yet answered (retries
	// included); Send blocks beyond it. Default 32.
	MaxInFlight int
	// Dialer overrides the WebSocket dialer.
	Dialer *websocket.Dialer
	// DisableIdempotence turns the idempotent producer off. By default
	// (acks 1 or all) the connection names a random producer id, each
	// batch's seq is the producer sequence of its first record, and a
	// batch is sent again after any retriable failure, a lost connection
	// included (the producer reconnects and resends what was not
	// answered): the broker writes each record once. Without it, a batch
	// is sent again only after a failure that guarantees nothing was
	// written, and a lost connection fails the batches in flight.
	DisableIdempotence bool
	// DeliveryTimeout bounds a batch with its retries and reconnects
	// (default: the client's, DefaultDeliveryTimeout).
	DeliveryTimeout time.Duration
	// RetryBackoff and RetryMaxBackoff are the first and the largest
	// wait between attempts (default: the client's), jittered.
	RetryBackoff, RetryMaxBackoff time.Duration
}

// WSProducer sends batches over one WebSocket, pipelined: many batches may
// be in flight; the server answers them in order, and records to one
// partition keep the order they were sent in (a batch sent again after a
// failure may land after batches sent later). Safe for concurrent use.
type WSProducer struct {
	c      *Client
	path   string
	query  url.Values
	dialer *websocket.Dialer
	policy retryPolicy
	idem   bool
	sem    chan struct{}

	// wmu is held across enqueue+write, so frames go out in queue order,
	// and across a reconnect. ws and buf are guarded by it; the reader
	// also reads ws, which only it replaces (holding wmu).
	wmu sync.Mutex
	ws  *websocket.Conn
	buf []byte

	// lostAt is when the connection was last lost, zero once a batch was
	// answered on its replacement; only the reader uses it.
	lostAt time.Time

	mu      sync.Mutex // guards the fields below; never held while writing
	seq     int64
	queue   []*wsPending            // sent, answers awaited, in order
	waiting map[*wsPending]struct{} // answered retriably, to be sent again
	err     error
	done    chan struct{}
	closing bool
	once    sync.Once
}

type wsPending struct {
	seq      int64
	frame    []byte // the batch's bytes, for sending again
	deadline time.Time
	tries    int
	timer    *time.Timer // while waiting to be sent again
	callback func([]wire.ProduceResult, error)
}

// ProduceWS opens a WebSocket producer.
func (c *Client) ProduceWS(ctx context.Context, cfg WSProducerConfig) (*WSProducer, error) {
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 32
	}
	q := url.Values{}
	if cfg.Acks != "" {
		q.Set(wire.WSParamAcks, cfg.Acks)
	}
	p := &WSProducer{
		c: c, path: "/v1/topics/" + seg(cfg.Topic) + "/produce", dialer: cfg.Dialer,
		policy: (&ProducerConfig{RetryBackoff: cfg.RetryBackoff, RetryMaxBackoff: cfg.RetryMaxBackoff, DeliveryTimeout: cfg.DeliveryTimeout}).policy(c.retry),
		idem:   !cfg.DisableIdempotence && cfg.Acks != wire.AcksNone,
		sem:    make(chan struct{}, cfg.MaxInFlight), waiting: map[*wsPending]struct{}{}, done: make(chan struct{}),
	}
	if p.idem {
		q.Set(wire.ParamProducerID, strconv.FormatInt(NewProducerID(), 10))
	}
	p.query = q
	ws, err := c.dialWS(ctx, cfg.Dialer, p.path, q)
	if err != nil {
		return nil, fmt.Errorf("produce %s: %w", cfg.Topic, err)
	}
	p.setConn(ws)
	go p.readLoop()
	return p, nil
}

func (p *WSProducer) setConn(ws *websocket.Conn) {
	ws.SetPingHandler(func(s string) error {
		return ws.WriteControl(websocket.PongMessage, []byte(s), time.Now().Add(10*time.Second))
	})
	p.ws = ws
}

// SendAsync sends a batch; callback runs (on the producer's reader
// goroutine; keep it short) with a result per record or the batch's error,
// once the batch is answered for good (retries done). It blocks while
// MaxInFlight batches are unanswered, or until ctx ends.
func (p *WSProducer) SendAsync(ctx context.Context, recs []wire.Record, callback func([]wire.ProduceResult, error)) error {
	select {
	case p.sem <- struct{}{}:
	case <-p.done:
		return p.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
	p.wmu.Lock()
	p.mu.Lock()
	if p.err != nil {
		err := p.err
		p.mu.Unlock()
		p.wmu.Unlock()
		<-p.sem
		return err
	}
	pend := &wsPending{deadline: time.Now().Add(p.policy.delivery), callback: callback}
	if p.idem {
		// The seq of an idempotent batch is its first record's sequence.
		pend.seq = p.seq
		p.seq += int64(len(recs))
	} else {
		p.seq++
		pend.seq = p.seq
	}
	p.queue = append(p.queue, pend)
	p.mu.Unlock()
	// The reader may take answers meanwhile: a write blocked by the
	// server's backpressure never stops acks from being read.
	p.buf = wire.AppendWSProduce(p.buf[:0], pend.seq, recs)
	pend.frame = append([]byte(nil), p.buf...)
	err := p.write(pend.frame)
	p.wmu.Unlock()
	if err != nil && !p.idem {
		p.fail(fmt.Errorf("%w: send: %w", ErrUnavailable, err))
		return p.Err()
	}
	return nil
}

// write sends a frame on the current connection; wmu is held. An
// idempotent producer's failed write closes the connection, so the reader
// reconnects and sends the frame again.
func (p *WSProducer) write(frame []byte) error {
	p.ws.SetWriteDeadline(time.Now().Add(30 * time.Second))
	err := p.ws.WriteMessage(websocket.BinaryMessage, frame)
	if err != nil && p.idem {
		p.ws.Close()
	}
	return err
}

// Send sends a batch and waits for its answer.
func (p *WSProducer) Send(ctx context.Context, recs []wire.Record) ([]wire.ProduceResult, error) {
	type answer struct {
		res []wire.ProduceResult
		err error
	}
	ch := make(chan answer, 1)
	if err := p.SendAsync(ctx, recs, func(r []wire.ProduceResult, err error) { ch <- answer{r, err} }); err != nil {
		return nil, err
	}
	select {
	case a := <-ch:
		return a.res, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *WSProducer) readLoop() {
	for {
		_, data, err := p.ws.ReadMessage()
		if err != nil {
			p.mu.Lock()
			closing := p.closing
			p.mu.Unlock()
			if p.lostAt.IsZero() {
				p.lostAt = time.Now()
			}
			switch {
			case closing:
				p.fail(ErrClosed)
			case p.idem && p.reconnect():
				continue
			default:
				p.fail(fmt.Errorf("%w: connection lost: %w", ErrUnavailable, err))
			}
			if p.Err() != nil {
				return
			}
			continue
		}
		typ, err := wire.DecodeWSType(data)
		if err != nil {
			p.fail(err)
			return
		}
		switch typ {
		case wire.WSAck:
			var m wire.WSAckMsg
			if err := json.Unmarshal(data, &m); err != nil {
				p.fail(fmt.Errorf("%w: ack frame: %w", wire.ErrMalformed, err))
				return
			}
			p.mu.Lock()
			if len(p.queue) == 0 || p.queue[0].seq != m.Seq {
				p.mu.Unlock()
				p.fail(fmt.Errorf("%w: ack for batch %d out of order", wire.ErrMalformed, m.Seq))
				return
			}
			pend := p.queue[0]
			p.queue = p.queue[1:]
			p.mu.Unlock()
			p.lostAt = time.Time{}
			p.answer(pend, m)
		case wire.WSError:
			var m wire.WSErrorMsg
			if err := json.Unmarshal(data, &m); err != nil || m.Error == nil {
				p.fail(fmt.Errorf("%w: error frame: %s", wire.ErrMalformed, data))
				return
			}
			// The server ends the connection: an idempotent producer
			// reconnects when the reason is transient, on the read error
			// that follows: shutting down, a retriable code, or (for
			// CreatedTopicGrace after the connection was lost) an
			// unknown topic, which a restarting node answers before its
			// metadata caught up.
			if !p.idem || !p.transient(m.Error.Code) {
				p.fail(wsError(m.Error))
				return
			}
		}
	}
}

// transient reports whether a connection's error frame is worth a
// reconnect.
func (p *WSProducer) transient(c wire.Code) bool {
	switch {
	case c.Retriable(), c == wire.CodeShuttingDown:
		return true
	case c == wire.CodeUnknownTopic:
		return !p.lostAt.IsZero() && time.Since(p.lostAt) < CreatedTopicGrace
	}
	return false
}

// answer completes a batch, or schedules it to be sent again.
func (p *WSProducer) answer(pend *wsPending, m wire.WSAckMsg) {
	var err error
	if m.Error != nil {
		err = wsError(m.Error)
	}
	if p.retriable(m.Results, err) && p.mayRetry(pend) {
		w := p.policy.wait(pend.tries)
		if time.Now().Add(w).Before(pend.deadline) {
			pend.tries++
			p.mu.Lock()
			if p.err == nil {
				p.waiting[pend] = struct{}{}
				pend.timer = time.AfterFunc(w, func() { p.resend(pend) })
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
		}
	}
	<-p.sem
	if err != nil {
		pend.callback(nil, err)
		return
	}
	res := m.Results
	for i := range res {
		if res[i].Error != nil {
			res[i].Partition, res[i].Offset = -1, -1
		}
	}
	pend.callback(res, nil)
}

// mayRetry reports whether the policy allows pend another attempt.
func (p *WSProducer) mayRetry(pend *wsPending) bool {
	r := p.policy
	return r.delivery > 0 && r.retries >= 0 && (r.retries == 0 || pend.tries < r.retries)
}

// retriable reports whether a batch's answer calls for sending it again.
func (p *WSProducer) retriable(res []wire.ProduceResult, err error) bool {
	if err != nil {
		if p.idem {
			return retriableIdempotent(context.Background(), err)
		}
		return nothingDone(err)
	}
	if !p.idem {
		return false
	}
	for _, r := range res {
		if r.Error != nil && r.Error.Code.Retriable() {
			return true
		}
	}
	return false
}

// resend sends a waiting batch again, behind the batches in flight.
func (p *WSProducer) resend(pend *wsPending) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.mu.Lock()
	if _, ok := p.waiting[pend]; !ok || p.err != nil {
		p.mu.Unlock()
		return
	}
	delete(p.waiting, pend)
	pend.timer = nil
	p.queue = append(p.queue, pend)
	p.mu.Unlock()
	if err := p.write(pend.frame); err != nil && !p.idem {
		go p.fail(fmt.Errorf("%w: send: %w", ErrUnavailable, err))
	}
}

// reconnect replaces a lost connection and sends every unanswered batch
// again, in order, with its sequence: the broker answers those it wrote
// before with their original offsets. It tries, with backoff, until the
// oldest unanswered batch's delivery timeout (or, with none, one delivery
// timeout), and reports whether it succeeded.
func (p *WSProducer) reconnect() bool {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.ws.Close()
	deadline := time.Now().Add(p.policy.delivery)
	p.mu.Lock()
	if len(p.queue) > 0 {
		deadline = p.queue[0].deadline
	}
	p.mu.Unlock()
	rt := &retrier{p: p.policy, deadline: deadline}
	rt.p.retries = 0
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for {
		if !rt.next(ctx) {
			return false
		}
		p.mu.Lock()
		closing := p.closing
		p.mu.Unlock()
		if closing {
			return false
		}
		ws, err := p.c.dialWS(ctx, p.dialer, p.path, p.query)
		if err != nil {
			if !nothingDone(err) {
				return false
			}
			continue
		}
		p.setConn(ws)
		p.mu.Lock()
		frames := make([][]byte, len(p.queue))
		for i, pend := range p.queue {
			frames[i] = pend.frame
		}
		p.mu.Unlock()
		for _, f := range frames {
			if p.write(f) != nil {
				break // the reader sees the broken connection
			}
		}
		return true
	}
}

// fail stops the producer: unanswered batches get err.
func (p *WSProducer) fail(err error) {
	p.mu.Lock()
	if p.err != nil {
		p.mu.Unlock()
		return
	}
	p.err = err
	q := p.queue
	p.queue = nil
	for pend := range p.waiting {
		if pend.timer != nil {
			pend.timer.Stop()
		}
		q = append(q, pend)
	}
	clear(p.waiting)
	close(p.done)
	p.mu.Unlock()
	for _, pend := range q {
		pend.callback(nil, err)
	}
}

// Err returns why the producer stopped, or nil.
func (p *WSProducer) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Flush waits until every batch sent has been answered.
func (p *WSProducer) Flush(ctx context.Context) error {
	for i := 0; i < cap(p.sem); i++ {
		select {
		case p.sem <- struct{}{}:
		case <-p.done:
			for ; i > 0; i-- {
				<-p.sem
			}
			return p.Err()
		case <-ctx.Done():
			for ; i > 0; i-- {
				<-p.sem
			}
			return ctx.Err()
		}
	}
	for i := 0; i < cap(p.sem); i++ {
		<-p.sem
	}
	return nil
}

// Close waits (up to 10s) for unanswered batches, then closes the
// connection.
func (p *WSProducer) Close() error {
	p.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		p.Flush(ctx)
		cancel()
		p.mu.Lock()
		p.closing = true
		p.mu.Unlock()
		p.wmu.Lock()
		ws := p.ws
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(5*time.Second))
		p.wmu.Unlock()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
		ws.Close()
		p.fail(ErrClosed)
	})
	return nil
}
