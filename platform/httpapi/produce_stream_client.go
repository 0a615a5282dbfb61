package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/sluicehq/sluice/platform/replwire"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// errProduceStreamUnsupported: the leader serves no produce stream (an
// older node); the forward goes over RouteForwardProduce.
var errProduceStreamUnsupported = errors.New("leader serves no produce stream")

// unsupportedRetry is how long a leader that served no produce stream is
// sent forwards over RouteForwardProduce before a stream is tried again.
const unsupportedRetry = time.Minute

// produceStreams are a Peer's produce streams, one per leader address.
// The zero value is ready; Close ends them.
type produceStreams struct {
	mu     sync.Mutex
	slots  map[string]*streamSlot
	closed bool
	wg     sync.WaitGroup // the streams' reader goroutines
}

// streamSlot holds the stream to one leader; mu serialises dialling it.
type streamSlot struct {
	mu          sync.Mutex
	conn        *produceConn
	unsupported time.Time // when the leader last refused a stream
}

// Close ends every produce stream and waits for their readers; requests
// in flight on them fail. Forwards after Close use RouteForwardProduce.
func (p *Peer) Close() error {
	ps := &p.streams
	ps.mu.Lock()
	ps.closed = true
	slots := ps.slots
	ps.slots = nil
	ps.mu.Unlock()
	for _, sl := range slots {
		sl.mu.Lock()
		if sl.conn != nil {
			sl.conn.close(errors.New("peer closed"))
		}
		sl.mu.Unlock()
	}
	ps.wg.Wait()
	return nil
}

// streamFor returns a live produce stream to the leader at base, opening
// one when there is none (or the last one broke or idled too long).
func (p *Peer) streamFor(ctx context.Context, base string) (*produceConn, error) {
	ps := &p.streams
	ps.mu.Lock()
	if ps.closed {
		ps.mu.Unlock()
		return nil, errProduceStreamUnsupported
	}
	if ps.slots == nil {
		ps.slots = map[string]*streamSlot{}
	}
	sl := ps.slots[base]
	if sl == nil {
		sl = &streamSlot{}
		ps.slots[base] = sl
	}
	ps.mu.Unlock()

	sl.mu.Lock()
	defer sl.mu.Unlock()
	if c := sl.conn; c != nil {
		if c.usable(time.Now()) {
			return c, nil
		}
		c.close(errors.New("idle produce stream retired"))
		sl.conn = nil
	}
	if time.Since(sl.unsupported) < unsupportedRetry {
		return nil, errProduceStreamUnsupported
	}
	c, err := p.openProduceStream(ctx, base)
	if errors.Is(err, errProduceStreamUnsupported) {
		sl.unsupported = time.Now()
	}
	if err != nil {
		return nil, err
	}
	ps.mu.Lock()
	if ps.closed {
		ps.mu.Unlock()
		c.close(errors.New("peer closed"))
		return nil, errProduceStreamUnsupported
	}
	ps.wg.Add(1)
	ps.mu.Unlock()
	go func() {
		defer ps.wg.Done()
		c.readLoop()
	}()
	sl.conn = c
	return c, nil
}

// openProduceStream upgrades a connection to base's RouteProduceStream,
// over the peer client's transport (its mTLS identity).
func (p *Peer) openProduceStream(ctx context.Context, base string) (*produceConn, error) {
	u := base + "/internal/v1/produce-stream"
	// The stream outlives this forward's context: it only bounds the dial.
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	req, err := http.NewRequestWithContext(dctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", replwire.ProduceProtocol)
	req.Header.Set(clusternet.NodeHeader, strconv.Itoa(int(p.NodeID)))
	resp, err := p.client().Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("open produce stream to %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer cancel()
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			return nil, fmt.Errorf("open produce stream to %s: %w: status %d", u, errProduceStreamUnsupported, resp.StatusCode)
		}
		var er wire.ErrorResponse
		if json.Unmarshal(raw, &er) == nil && er.Error != nil {
			return nil, er.Error
		}
		return nil, fmt.Errorf("open produce stream to %s: status %d: %.200s", u, resp.StatusCode, raw)
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("open produce stream to %s: %w: the upgraded connection is not writable", u, errProduceStreamUnsupported)
	}
	if !stop() {
		// ctx ended while the upgrade was answered: the stream is fine,
		// but its context is cancelled; do not use it.
		rwc.Close()
		cancel()
		return nil, fmt.Errorf("open produce stream to %s: %w", u, ctx.Err())
	}
	return &produceConn{rwc: rwc, rd: bufio.NewReaderSize(rwc, 64<<10), cancel: cancel,
		pending: map[uint64]chan produceAnswer{}, used: time.Now()}, nil
}

// produceConn is the forwarder's end of one produce stream.
type produceConn struct {
	rwc    io.ReadWriteCloser
	rd     *bufio.Reader
	cancel context.CancelFunc // ends the upgraded request

	wmu sync.Mutex // serialises writes
	out []byte     // guarded by wmu

	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan produceAnswer
	broken  error     // set once: no new requests
	used    time.Time // last request sent
}

type produceAnswer struct {
	base int64
	err  error
}

// usable reports whether new requests may go on c at now.
func (c *produceConn) usable(now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broken == nil && (len(c.pending) > 0 || now.Sub(c.used) < produceStreamReuse)
}

// close ends the stream; requests in flight fail with err (as
// ErrForwardFailed: the leader may have appended them).
func (c *produceConn) close(err error) {
	c.mu.Lock()
	if c.broken == nil {
		c.broken = err
	}
	pending := c.pending
	c.pending = map[uint64]chan produceAnswer{}
	c.mu.Unlock()
	_ = c.rwc.Close()
	c.cancel()
	for _, ch := range pending {
		ch <- produceAnswer{base: -1, err: fmt.Errorf("%w: produce stream: %v", broker.ErrForwardFailed, err)}
	}
}

// readLoop delivers answers until the stream ends.
func (c *produceConn) readLoop() {
	var buf []byte
	for {
		typ, body, nb, err := replwire.ReadFrame(c.rd, buf)
		buf = nb
		if err != nil {
			c.close(err)
			return
		}
		switch typ {
		case replwire.TypeProduceResult:
			var r replwire.ProduceResult
			if err := replwire.DecodeProduceResult(body, &r); err != nil {
				c.close(err)
				return
			}
			c.mu.Lock()
			ch := c.pending[r.ID]
			delete(c.pending, r.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- answerOf(&r)
			}
		case replwire.TypeError:
			c.close(fmt.Errorf("the leader ended the produce stream: %.500s", body))
			return
		default:
			c.close(fmt.Errorf("%w: frame type %d from a leader", replwire.ErrFrame, typ))
			return
		}
	}
}

// answerOf turns a result frame into the answer RouteForwardProduce
// would have given: the base offset, or the leader's *wire.Error.
func answerOf(r *replwire.ProduceResult) produceAnswer {
	if r.Code == "" {
		return produceAnswer{base: r.BaseOffset}
	}
	we := &wire.Error{Code: wire.Code(r.Code), Message: r.Message}
	if len(r.Details) > 0 {
		var d wire.ErrorDetails
		if json.Unmarshal(r.Details, &d) == nil {
			we.Details = &d
		}
	}
	return produceAnswer{base: -1, err: we}
}

// errStreamBroken: the stream broke before the request's frame was
// whole on it; nothing was written and a new stream may carry it.
var errStreamBroken = errors.New("produce stream broken before the request went out")

// produce sends p (its ID is set here) and waits for its answer or ctx.
func (c *produceConn) produce(ctx context.Context, p *replwire.Produce) (int64, error) {
	ch := make(chan produceAnswer, 1)
	c.mu.Lock()
	if c.broken != nil {
		c.mu.Unlock()
		return -1, errStreamBroken
	}
	c.next++
	p.ID = c.next
	c.pending[p.ID] = ch
	c.used = time.Now()
	c.mu.Unlock()

	c.wmu.Lock()
	c.out = replwire.AppendProduce(c.out[:0], p)
	watchdog := time.AfterFunc(produceStreamWrite, func() { c.close(errors.New("write to the leader timed out")) })
	n, err := c.rwc.Write(c.out)
	watchdog.Stop()
	whole := n == len(c.out)
	if cap(c.out) > 4<<20 {
		c.out = nil // do not keep one huge request's buffer for the stream's life
	}
	c.wmu.Unlock()
	if err != nil {
		c.close(err)
		if !whole {
			// The leader cannot decode a partial frame: nothing was
			// written. close answered ch; drain it.
			<-ch
			return -1, errStreamBroken
		}
	}
	select {
	case a := <-ch:
		return a.base, a.err
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, p.ID)
		c.mu.Unlock()
		return -1, ctx.Err()
	}
}

// forwardStream forwards one share over the produce stream to base;
// errProduceStreamUnsupported means: use RouteForwardProduce.
func (p *Peer) forwardStream(ctx context.Context, base string, pr *replwire.Produce) (int64, error) {
	for attempt := 0; ; attempt++ {
		c, err := p.streamFor(ctx, base)
		if err != nil {
			return -1, err
		}
		off, err := c.produce(ctx, pr)
		if errors.Is(err, errStreamBroken) && attempt == 0 {
			continue // a stream that broke under us: once more on a new one
		}
		if errors.Is(err, errStreamBroken) {
			return -1, fmt.Errorf("%w: %v", broker.ErrLeaderUnreachable, err)
		}
		return off, err
	}
}

// produceFrame builds the frame of one forwarded share.
func produceFrame(topic string, partition int32, recs []record.Record, acks broker.Acks, timeout time.Duration, prod *broker.Producer, lastSeq int64) *replwire.Produce {
	pr := &replwire.Produce{Topic: topic, Partition: partition, Acks: acks.String(), TimeoutMs: max(timeout.Milliseconds(), 0),
		Records: appendRecords(nil, recs)}
	if prod != nil {
		pr.Idempotent = true
		pr.ProducerID, pr.ProducerEpoch, pr.BaseSequence, pr.LastSequence = prod.ID, prod.Epoch, prod.BaseSequence, lastSeq
	}
	return pr
}
