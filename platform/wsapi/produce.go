package wsapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// producer is one produce connection: a reader that decodes batches into a
// bounded queue (blocking when it is full: backpressure) and a worker that
// produces them one after another, answering in order, so records from one
// connection to one partition keep their order.
type producer struct {
	conn
	topic string
	acks  string
	// idem is the connection's idempotent producer (producer_id and
	// producer_epoch parameters); nil without. With one, every batch's
	// seq is the producer sequence of its first record.
	idem *broker.Producer

	inFlight, peakInFlight, produced atomic.Int64
}

// produceBatch is a decoded batch, or a per-batch error to answer.
type produceBatch struct {
	seq  int64
	recs []record.Record
	err  error
}

func (p *producer) stats() ConnStats {
	return ConnStats{Kind: "produce", Topic: p.topic,
		InFlight: p.inFlight.Load(), PeakInFlight: p.peakInFlight.Load(), RecordsProduced: p.produced.Load()}
}

func (h *Handler) serveProduce(w http.ResponseWriter, r *http.Request) {
	ws, ok := h.upgrade(w, r)
	if !ok {
		return
	}
	p := &producer{conn: conn{h: h, ws: ws}, topic: r.PathValue("topic")}
	id, ok := h.track(p)
	if !ok {
		p.fail(wire.Errorf(wire.CodeShuttingDown, "server is shutting down"), websocket.CloseGoingAway)
		ws.Close()
		return
	}
	defer h.untrack(id)
	defer h.watchAccess(r, ws)()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	ws.SetReadDeadline(time.Now().Add(h.cfg.IdleTimeout))
	// A batch takes a slot before its frame is read and gives it back once
	// answered: at the limit the reader stops reading.
	slots := make(chan struct{}, h.cfg.ProduceMaxInFlight)
	queue := make(chan produceBatch, h.cfg.ProduceMaxInFlight)
	readEnded := make(chan readEnd, 1)
	var fatal atomic.Pointer[error]
	readerStopped := make(chan struct{})
	go func() {
		defer close(readerStopped)
		defer close(queue)
		readEnded <- p.readLoop(ctx, slots, queue, &fatal)
	}()

	err := p.setup(ctx, r)
	var workerErr error
	if err == nil {
		workerErr = p.work(ctx, slots, queue)
	}
	// Why did it end? Setup and worker errors first, then a malformed
	// frame seen by the reader, then how reading ended.
	if err == nil {
		err = workerErr
	}
	if err == nil {
		if fe := fatal.Load(); fe != nil {
			err = *fe
		}
	}
	end := endVanished
	select {
	case end = <-readEnded:
		readEnded <- end
	default:
	}
	if err == nil && end == endIdle {
		err = wire.Errorf(wire.CodeIdleTimeout, "no message or pong for %v", h.cfg.IdleTimeout)
	}
	if err == nil && end == endTooBig {
		err = fmt.Errorf("%w: frame larger than %d bytes", errMalformed, h.cfg.MaxMessageBytes)
	}
	switch {
	case err != nil:
		e := h.toWire(err)
		status := closeCode(e.Code)
		if errorsIsMalformed(err) {
			status = websocket.CloseUnsupportedData
		}
		p.fail(e, status)
	case end == endClosed:
		p.sendClose(websocket.CloseNormalClosure, "")
	}
	cancel()
	select {
	case <-readerStopped:
	case <-time.After(h.cfg.CloseGrace):
	}
	ws.Close()
	<-readerStopped
	for range queue {
		// drain what the reader queued after the worker stopped
	}
}

func (p *producer) setup(ctx context.Context, r *http.Request) error {
	q := r.URL.Query()
	for k := range q {
		if k != wire.WSParamAcks && k != wire.ParamProducerID && k != wire.ParamProducerEpoch {
			return fmt.Errorf("%w: unknown parameter %q", errBadRequest, k)
		}
	}
	var err error
	if p.idem, err = producerParam(q); err != nil {
		return err
	}
	if _, ok := p.h.cfg.Broker.(IdempotentBroker); p.idem != nil && !ok {
		return fmt.Errorf("%w: this server does not serve idempotent producers", errBadRequest)
	}
	p.acks = q.Get(wire.WSParamAcks)
	switch p.acks {
	case "":
		p.acks = wire.AcksAll
	case wire.AcksNone, wire.AcksLeader, wire.AcksAll, "-1":
	default:
		return fmt.Errorf("%w: acks=%q: want 0, 1 or all", errBadRequest, p.acks)
	}
	if strings.HasPrefix(p.topic, meta.InternalPrefix) {
		// meta reserves the prefix for internal topics, which the cluster
		// writes itself (committed offsets): a client's records would
		// corrupt them.
		return fmt.Errorf("%w: topic %s is internal: clients may not produce to it", errBadRequest, p.topic)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := p.h.cfg.Broker.Partitions(sctx, p.topic); err != nil {
		return fmt.Errorf("topic %q: %w", p.topic, err)
	}
	return nil
}

// readLoop decodes frames into queue until the socket ends or a frame is
// malformed (stored in fatal). Sending on a full queue blocks: the server
// stops reading and TCP pushes back on the client.
func (p *producer) readLoop(ctx context.Context, slots chan struct{}, queue chan<- produceBatch, fatal *atomic.Pointer[error]) readEnd {
	h := p.h
	p.ws.SetPongHandler(func(string) error {
		p.ws.SetReadDeadline(time.Now().Add(h.cfg.IdleTimeout))
		return nil
	})
	ping := time.NewTicker(h.cfg.PingInterval)
	defer ping.Stop()
	pingDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // pings keep flowing while the reader blocks on a full queue
		defer wg.Done()
		for {
			select {
			case <-ping.C:
				p.ping()
			case <-pingDone:
				return
			}
		}
	}()
	defer func() { close(pingDone); wg.Wait() }()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return endVanished
		}
		// The wait for a slot does not count as idleness.
		p.ws.SetReadDeadline(time.Now().Add(h.cfg.IdleTimeout))
		mt, data, err := p.ws.ReadMessage()
		if err != nil {
			return classifyReadErr(err)
		}
		b, ferr := decodeProduceFrame(mt, data)
		if ferr != nil {
			fatal.Store(&ferr)
			return endClosed
		}
		if b.recs == nil && b.err == nil {
			<-slots // a ping: nothing to answer
			p.writeJSON(wire.WSPingMsg{Type: wire.WSPong})
			continue
		}
		n := p.inFlight.Add(1)
		if n > p.peakInFlight.Load() {
			p.peakInFlight.Store(n)
		}
		queue <- b // never blocks: at most cap(slots) batches are queued
	}
}

// decodeProduceFrame reads one client frame. A frame that cannot be read
// at all is fatal; a batch whose records are bad gets an error answer.
func decodeProduceFrame(mt int, data []byte) (produceBatch, error) {
	if mt == websocket.BinaryMessage {
		seq, recs, err := wire.DecodeWSProduce(data)
		if err != nil {
			return produceBatch{}, fmt.Errorf("%w: %w", errMalformed, err)
		}
		out := make([]record.Record, len(recs))
		for i, r := range recs {
			out[i] = toRecord(r)
		}
		if len(out) == 0 {
			return produceBatch{seq: seq, err: fmt.Errorf("%w: empty batch", errBadRequest)}, nil
		}
		return produceBatch{seq: seq, recs: out}, nil
	}
	typ, err := wire.DecodeWSType(data)
	if err != nil {
		return produceBatch{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	switch typ {
	case wire.WSPing:
		return produceBatch{}, nil
	case wire.WSProduce:
	default:
		return produceBatch{}, fmt.Errorf("%w: unknown message type %q", errMalformed, typ)
	}
	var m wire.WSProduceMsg
	if err := decodeStrict(data, &m); err != nil {
		return produceBatch{}, fmt.Errorf("%w: produce: %w", errMalformed, err)
	}
	if len(m.Records) == 0 {
		return produceBatch{seq: m.Seq, err: fmt.Errorf("%w: empty batch", errBadRequest)}, nil
	}
	out := make([]record.Record, len(m.Records))
	for i := range m.Records {
		r, err := m.Records[i].Decode()
		if err != nil {
			return produceBatch{seq: m.Seq, err: fmt.Errorf("%w: record %d: %w", errBadRequest, i, err)}, nil
		}
		out[i] = toRecord(r)
	}
	return produceBatch{seq: m.Seq, recs: out}, nil
}

func toRecord(r wire.Record) record.Record {
	out := record.Record{Timestamp: r.Timestamp, Key: r.Key, Value: r.Value}
	if len(r.Headers) > 0 {
		out.Headers = make([]record.Header, len(r.Headers))
		for i, h := range r.Headers {
			out.Headers[i] = record.Header{Key: h.Key, Value: h.Value}
		}
	}
	return out
}

// maxCoalesceRecords bounds the records of batches produced together.
const maxCoalesceRecords = 10000

// work produces queued batches in order and answers each. Batches that
// are waiting together are produced in one broker call (in order, so each
// partition keeps the connection's order) and share its storage commit:
// a connection pipelining small batches does not pay one commit per batch.
// If that call fails as a whole, its batches are produced one by one so
// each gets its own answer.
func (p *producer) work(ctx context.Context, slots <-chan struct{}, queue <-chan produceBatch) error {
	h := p.h
	var group []produceBatch
	for {
		group = group[:0]
		select {
		case b, ok := <-queue:
			if !ok {
				return nil
			}
			group = append(group, b)
		case <-h.stop:
			return wire.Errorf(wire.CodeShuttingDown, "server is shutting down")
		}
		n := len(group[0].recs)
		// An idempotent producer's batches are produced one by one: each
		// is the unit a retry names (its sequence), so each must be one
		// batch per partition in storage.
		for group[0].err == nil && p.idem == nil && n < maxCoalesceRecords {
			var b produceBatch
			var ok bool
			select {
			case b, ok = <-queue:
			default:
			}
			if !ok {
				break
			}
			group = append(group, b)
			n += len(b.recs)
			if b.err != nil {
				break
			}
		}
		acks, err := p.produceGroup(ctx, group)
		if err != nil {
			return nil
		}
		for _, ack := range acks {
			if err := p.writeJSON(ack); err != nil {
				return nil
			}
			p.inFlight.Add(-1)
			<-slots
		}
	}
}

// produceGroup answers a run of batches; only the last may carry a decode
// error. It returns an error only when the connection is ending.
func (p *producer) produceGroup(ctx context.Context, group []produceBatch) ([]wire.WSAckMsg, error) {
	h := p.h
	acks := make([]wire.WSAckMsg, len(group))
	good := group
	if last := group[len(group)-1]; last.err != nil {
		acks[len(group)-1] = wire.WSAckMsg{Type: wire.WSAck, Seq: last.seq, Error: h.toWire(last.err)}
		good = group[:len(group)-1]
	}
	if len(good) == 0 {
		return acks, nil
	}
	var all []record.Record
	if len(good) == 1 {
		all = good[0].recs
	} else {
		for _, b := range good {
			all = append(all, b.recs...)
		}
	}
	var (
		res []ProduceResult
		err error
	)
	if p.idem != nil {
		res, err = p.produceIdempotent(ctx, good[0])
	} else {
		res, err = h.cfg.Broker.Produce(ctx, p.topic, all, p.acks)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil && len(good) > 1 {
		for i, b := range good {
			one, err := p.produceGroup(ctx, []produceBatch{b})
			if err != nil {
				return nil, err
			}
			acks[i] = one[0]
		}
		return acks, nil
	}
	for i, b := range good {
		ack := wire.WSAckMsg{Type: wire.WSAck, Seq: b.seq}
		if err != nil {
			ack.Error = h.toWire(err)
		} else {
			ack.Results = make([]wire.ProduceResult, len(b.recs))
			var ok int64
			for j, r := range res[:len(b.recs)] {
				ack.Results[j] = wire.ProduceResult{Partition: r.Partition, Offset: r.Offset}
				if r.Err != nil {
					ack.Results[j].Error = h.toWire(r.Err)
				} else {
					ok++
				}
			}
			res = res[len(b.recs):]
			p.produced.Add(ok)
		}
		acks[i] = ack
	}
	return acks, nil
}

func errorsIsMalformed(err error) bool { return errors.Is(err, errMalformed) }

// IdempotentBroker is a Broker that serves idempotent producers
// (docs/websocket.md); FromBroker's adapter is one. A produce connection
// that names a producer on a Broker without it is refused.
type IdempotentBroker interface {
	ProduceIdempotent(ctx context.Context, topic string, recs []record.Record, acks string, prod broker.Producer) ([]ProduceResult, error)
}

// ProduceIdempotent produces recs as the idempotent request prod.
func (a brokerAdapter) ProduceIdempotent(ctx context.Context, topic string, recs []record.Record, acks string, prod broker.Producer) ([]ProduceResult, error) {
	ak, err := broker.ParseAcks(acks)
	if err != nil {
		return nil, err
	}
	res, err := a.b.Produce(ctx, broker.ProduceRequest{Topic: topic, Records: recs, Acks: ak, Timeout: 30 * time.Second, Producer: &prod}, nil)
	if err != nil {
		return nil, err
	}
	out := make([]ProduceResult, len(res))
	for i, r := range res {
		out[i] = ProduceResult{Partition: r.Partition, Offset: r.Offset, Err: r.Err}
	}
	return out, nil
}

// producerParam reads the connection's idempotent producer: producer_id
// (required for one) and producer_epoch (default 0).
func producerParam(q url.Values) (*broker.Producer, error) {
	id, epoch := q.Get(wire.ParamProducerID), q.Get(wire.ParamProducerEpoch)
	if id == "" {
		if epoch != "" {
			return nil, fmt.Errorf("%w: %s needs %s", errBadRequest, wire.ParamProducerEpoch, wire.ParamProducerID)
		}
		return nil, nil
	}
	pid, err := strconv.ParseInt(id, 10, 64)
	if err != nil || pid < 0 {
		return nil, fmt.Errorf("%w: %s=%q: want an integer in [0, 2^63)", errBadRequest, wire.ParamProducerID, id)
	}
	var e int64
	if epoch != "" {
		if e, err = strconv.ParseInt(epoch, 10, 16); err != nil || e < 0 {
			return nil, fmt.Errorf("%w: %s=%q: want an integer in [0, 32767]", errBadRequest, wire.ParamProducerEpoch, epoch)
		}
	}
	return &broker.Producer{ID: pid, Epoch: int16(e)}, nil
}

// produceIdempotent produces one batch of the connection's idempotent
// producer: its seq is the sequence of its first record.
func (p *producer) produceIdempotent(ctx context.Context, b produceBatch) ([]ProduceResult, error) {
	ib, ok := p.h.cfg.Broker.(IdempotentBroker)
	if !ok {
		return nil, fmt.Errorf("%w: this server does not serve idempotent producers", errBadRequest)
	}
	if b.seq < 0 {
		return nil, fmt.Errorf("%w: batch seq %d: an idempotent producer's seq is the sequence of its first record, >= 0", errBadRequest, b.seq)
	}
	prod := *p.idem
	prod.BaseSequence = b.seq
	return ib.ProduceIdempotent(ctx, p.topic, b.recs, p.acks, prod)
}
