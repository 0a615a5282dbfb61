package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/sdk/wire"
)

// WSProducerConfig configures a WebSocket producer.
type WSProducerConfig struct {
	// Topic to produce to. Required.
	Topic string
	// Acks: "0", "1" or "all" (default "all").
	Acks string
	// MaxInFlight bounds batches sent and not yet answered; Send blocks
	// beyond it. Default 32.
	MaxInFlight int
	// Dialer overrides the WebSocket dialer.
	Dialer *websocket.Dialer
}

// WSProducer sends batches over one WebSocket, pipelined: many batches may
// be in flight; the server answers them in order, and records to one
// partition keep the order they were sent in. Safe for concurrent use.
type WSProducer struct {
	ws  *websocket.Conn
	sem chan struct{}

	wmu sync.Mutex // held across enqueue+write, so frames go out in seq order
	buf []byte     // guarded by wmu

	mu      sync.Mutex // guards seq, queue, err, closing; never held while writing
	seq     int64
	queue   []*wsPending
	err     error
	done    chan struct{}
	closing bool
	once    sync.Once
}

type wsPending struct {
	seq      int64
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
	ws, err := c.dialWS(ctx, cfg.Dialer, "/v1/topics/"+seg(cfg.Topic)+"/produce", q)
	if err != nil {
		return nil, fmt.Errorf("produce %s: %w", cfg.Topic, err)
	}
	p := &WSProducer{ws: ws, sem: make(chan struct{}, cfg.MaxInFlight), done: make(chan struct{})}
	ws.SetPingHandler(func(s string) error {
		return ws.WriteControl(websocket.PongMessage, []byte(s), time.Now().Add(10*time.Second))
	})
	go p.readLoop()
	return p, nil
}

// SendAsync sends a batch; callback runs (on the producer's reader
// goroutine; keep it short) with a result per record or the batch's error.
// It blocks while MaxInFlight batches are unanswered, or until ctx ends.
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
	p.seq++
	pend := &wsPending{seq: p.seq, callback: callback}
	p.queue = append(p.queue, pend)
	p.mu.Unlock()
	// The reader may take answers meanwhile: a write blocked by the
	// server's backpressure never stops acks from being read.
	p.buf = wire.AppendWSProduce(p.buf[:0], pend.seq, recs)
	p.ws.SetWriteDeadline(time.Now().Add(30 * time.Second))
	err := p.ws.WriteMessage(websocket.BinaryMessage, p.buf)
	p.wmu.Unlock()
	if err != nil {
		p.fail(fmt.Errorf("%w: send: %w", ErrUnavailable, err))
		return p.Err()
	}
	return nil
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
			if closing {
				p.fail(ErrClosed)
			} else {
				p.fail(fmt.Errorf("%w: connection lost: %w", ErrUnavailable, err))
			}
			return
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
			<-p.sem
			if m.Error != nil {
				pend.callback(nil, wsError(m.Error))
			} else {
				pend.callback(m.Results, nil)
			}
		case wire.WSError:
			var m wire.WSErrorMsg
			if err := json.Unmarshal(data, &m); err != nil || m.Error == nil {
				p.fail(fmt.Errorf("%w: error frame: %s", wire.ErrMalformed, data))
				return
			}
			p.fail(wsError(m.Error))
			return
		}
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
		p.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(5*time.Second))
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
		p.ws.Close()
		p.fail(ErrClosed)
	})
	return nil
}
