package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/replwire"
	"github.com/sluicehq/sluice/sdk/wire"
)

// RouteProduceStream opens a produce stream (docs/replication.md,
// "Forwarded produce"): a GET with "Connection: Upgrade" and "Upgrade:
// sluice-produce/1" on the cluster listener, answered 101, after which
// the forwarding node sends replwire.TypeProduce frames and this node,
// the partitions' leader, answers each with a replwire.TypeProduceResult
// carrying the same id, as soon as that append is done (answers to
// requests in flight together come in the order they finish). The
// caller is the verified node of the cluster listener, as on
// RouteForwardProduce; the client's own identity and ACLs were checked by
// the node the client sent its request to.
const RouteProduceStream = "GET /internal/v1/produce-stream"

// Produce stream limits.
const (
	// produceStreamIdle is how long a leader keeps a produce stream with
	// no request in flight and none arriving; a forwarding node stops
	// reusing a stream well before (produceStreamReuse).
	produceStreamIdle = 5 * time.Minute
	// produceStreamReuse is how long a forwarding node reuses an idle
	// stream; an older one is closed by the forwarder, never mid-request.
	produceStreamReuse = time.Minute
	// produceStreamInFlight bounds the requests one stream serves at
	// once; the leader stops reading frames while that many run.
	produceStreamInFlight = 256
	// produceStreamWrite bounds one frame's write either way.
	produceStreamWrite = 30 * time.Second
)

func (s *Server) produceStream(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Broker == nil {
		s.writeError(w, r, &broker.NotLeaderError{LeaderID: -1, Reason: "this node has no broker role"})
		return
	}
	from, err := caller(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	conn, rd, ok := s.upgradeStream(w, r, "produce stream", replwire.ProduceProtocol)
	if !ok {
		return
	}
	defer conn.Close()
	if !s.produceStreams.add(conn) {
		return // the server is closing
	}
	defer s.produceStreams.remove(conn)
	ls := &leaderProduceStream{s: s, conn: conn, rd: rd, log: s.log.With("forwarder", from)}
	ls.run(r.Context())
}

// upgradeStream checks that r asks for protocol (Upgrade), takes over its
// connection and answers 101 Switching Protocols: the start of a produce
// or replica stream. The connection outlives the server's request
// deadlines. When it reports false, r was answered with the error, or the
// connection failed and is closed.
func (s *Server) upgradeStream(w http.ResponseWriter, r *http.Request, what, protocol string) (net.Conn, *bufio.Reader, bool) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), protocol) {
		s.writeError(w, r, badRequest("%s: want Upgrade: %s", what, protocol))
		return nil, nil, false
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		s.writeError(w, r, fmt.Errorf("%s: %w", what, err))
		return nil, nil, false
	}
	_ = conn.SetDeadline(time.Time{})
	if _, err := brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + protocol + "\r\n\r\n"); err != nil {
		conn.Close()
		return nil, nil, false
	}
	if err := brw.Flush(); err != nil {
		conn.Close()
		return nil, nil, false
	}
	return conn, brw.Reader, true
}

// streamSet is the produce streams a server serves, closed by Close
// (http.Server.Shutdown does not wait for hijacked connections).
type streamSet struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (ss *streamSet) add(c net.Conn) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return false
	}
	if ss.conns == nil {
		ss.conns = map[net.Conn]struct{}{}
	}
	ss.conns[c] = struct{}{}
	return true
}

func (ss *streamSet) remove(c net.Conn) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.conns, c)
}

func (ss *streamSet) closeAll() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closed = true
	for c := range ss.conns {
		_ = c.Close()
	}
}

// leaderProduceStream is the leader's end of one produce stream: this
// goroutine reads frames; each request is served by a goroutine of its
// own (an acks=all wait must not hold the requests behind it) and
// answered under wmu.
type leaderProduceStream struct {
	s    *Server
	conn net.Conn
	rd   *bufio.Reader
	log  *slog.Logger

	wmu sync.Mutex // serialises writes to conn
	out []byte     // guarded by wmu
}

func (l *leaderProduceStream) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { l.conn.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer func() {
		cancel() // nobody reads the answers of requests still waiting
		wg.Wait()
	}()
	slots := make(chan struct{}, produceStreamInFlight)
	for {
		_ = l.conn.SetReadDeadline(time.Now().Add(produceStreamIdle))
		bufp := getBuffer()
		typ, body, buf, err := replwire.ReadFrame(l.rd, (*bufp)[:0])
		*bufp = buf[:0]
		if err != nil {
			putBuffer(bufp)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && len(slots) > 0 && !errors.Is(err, replwire.ErrFrame) {
				continue // between frames, idle only counts with nothing in flight
			}
			if errors.Is(err, replwire.ErrFrame) {
				l.fail(err)
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && ctx.Err() == nil {
				l.log.Debug("produce stream ended", "err", err)
			}
			return
		}
		if typ != replwire.TypeProduce {
			putBuffer(bufp)
			l.fail(fmt.Errorf("%w: frame type %d on a produce stream", replwire.ErrFrame, typ))
			return
		}
		var p replwire.Produce
		if err := replwire.DecodeProduce(body, &p); err != nil {
			putBuffer(bufp)
			l.fail(err)
			return
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			putBuffer(bufp)
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			defer putBuffer(bufp) // p.Records aliases it
			res := l.serve(ctx, &p)
			if err := l.answer(res); err != nil {
				cancel()
			}
		}()
	}
}

// serve appends one forwarded request, with the checks and the error
// mapping of RouteForwardProduce.
func (l *leaderProduceStream) serve(ctx context.Context, p *replwire.Produce) *replwire.ProduceResult {
	res := &replwire.ProduceResult{ID: p.ID, BaseOffset: -1}
	base, err := l.produce(ctx, p)
	if err == nil {
		res.BaseOffset = base
		return res
	}
	we := toWire(l.s.notReady(err))
	if we.Code == wire.CodeInternal {
		l.log.Error("forwarded produce failed", "topic", p.Topic, "partition", p.Partition, "err", err)
	}
	res.Code, res.Message = string(we.Code), we.Message
	if we.Details != nil {
		res.Details, _ = json.Marshal(we.Details)
	}
	return res
}

func (l *leaderProduceStream) produce(ctx context.Context, p *replwire.Produce) (int64, error) {
	if p.Partition < 0 {
		return -1, wire.Errorf(wire.CodeUnknownPartition, "partition %d does not exist", p.Partition)
	}
	acks, err := broker.ParseAcks(p.Acks)
	if err != nil {
		return -1, err
	}
	var prod *broker.Producer
	var lastSeq int64
	if p.Idempotent {
		prod = &broker.Producer{ID: p.ProducerID, Epoch: p.ProducerEpoch, BaseSequence: p.BaseSequence}
		switch {
		case prod.ID < 0:
			return -1, badRequest("%s=%d: want an integer in [0, 2^63)", wire.ParamProducerID, prod.ID)
		case prod.Epoch < 0:
			return -1, badRequest("%s=%d: want an integer in [0, 32767]", wire.ParamProducerEpoch, prod.Epoch)
		case prod.BaseSequence < 0:
			return -1, badRequest("%s=%d: want an integer >= 0", wire.ParamSequence, prod.BaseSequence)
		case p.LastSequence < prod.BaseSequence:
			return -1, badRequest("%s=%d: want an integer >= %s", paramLastSequence, p.LastSequence, wire.ParamSequence)
		}
		lastSeq = p.LastSequence
	}
	if int64(len(p.Records)) > l.s.cfg.MaxRequestBytes {
		return -1, &http.MaxBytesError{Limit: l.s.cfg.MaxRequestBytes}
	}
	sc := produceScratchPool.Get().(*produceScratch)
	defer sc.release()
	if sc.recs, err = decodeRecords(sc.recs[:0], p.Records); err != nil {
		return -1, err
	}
	timeout := time.Duration(p.TimeoutMs) * time.Millisecond
	return l.s.cfg.Broker.ProducePartitionAs(ctx, p.Topic, p.Partition, sc.recs, acks, timeout, prod, lastSeq)
}

func (l *leaderProduceStream) answer(res *replwire.ProduceResult) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.out = replwire.AppendProduceResult(l.out[:0], res)
	_ = l.conn.SetWriteDeadline(time.Now().Add(produceStreamWrite))
	_, err := l.conn.Write(l.out)
	return err
}

// fail sends the forwarder a TypeError frame saying why the stream ends.
func (l *leaderProduceStream) fail(err error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	_ = l.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = l.conn.Write(replwire.AppendError(nil, err.Error()))
}
