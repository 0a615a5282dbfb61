package wsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/platform/groups"
	"github.com/sluicehq/sluice/sdk/wire"
)

// consumer is one consume connection. Its fields below the mutex-free line
// belong to the serving goroutine (run) alone.
type consumer struct {
	conn
	topic  string // from the path; set before the connection is tracked
	params consumeParams
	nparts int32
	proc   Processor
	member *groups.Member // nil without a group
	// joined is member for the reader goroutine's heartbeats: it runs from
	// the start, while serve is still joining the group.
	joined atomic.Pointer[groups.Member]

	ctx    context.Context // ends when the connection ends
	cancel context.CancelFunc

	msgs     chan clientMsg    // from the reader
	readDone chan readEnd      // the reader's end, once
	fetched  chan fetchOutcome // from fetch goroutines
	fetchers sync.WaitGroup

	// Stats, read by Handler.Stats from other goroutines.
	bufferedStat, peakStat, sentStat atomic.Int64

	// Owned by run.
	pingEvery  time.Duration // PingInterval, at most a third of the session timeout
	gen        int32
	parts      map[int32]*partState
	order      []int32 // served partitions, for round-robin sending
	rr         int
	credit     int64
	byteCredit int64
	byteMode   bool  // the client has granted bytes at least once
	buffered   int64 // bytes held: buffered records + fetch reservations
}

// clientMsg is a decoded client frame.
type clientMsg struct {
	err       error // a malformed frame: fatal
	typ       string
	credit    wire.WSCreditMsg
	commit    wire.WSCommitMsg
	revokeAck wire.WSRevokeAckMsg
}

func (c *consumer) stats() ConnStats {
	return ConnStats{Kind: "consume", Topic: c.topic,
		BufferedBytes: c.bufferedStat.Load(), PeakBufferedBytes: c.peakStat.Load(), RecordsSent: c.sentStat.Load()}
}

func (c *consumer) setBuffered(delta int64) {
	c.buffered += delta
	c.bufferedStat.Store(c.buffered)
	if c.buffered > c.peakStat.Load() {
		c.peakStat.Store(c.buffered)
	}
}

func (h *Handler) serveConsume(w http.ResponseWriter, r *http.Request) {
	if g := r.URL.Query().Get(wire.WSParamGroup); g != "" && h.toCoordinator(w, r, g) {
		return
	}
	ws, ok := h.upgrade(w, r)
	if !ok {
		return
	}
	c := &consumer{
		conn:     conn{h: h, ws: ws},
		msgs:     make(chan clientMsg),
		readDone: make(chan readEnd, 1),
		fetched:  make(chan fetchOutcome),
		parts:    map[int32]*partState{},
		topic:    r.PathValue("topic"),
	}
	id, ok := h.track(c)
	if !ok {
		c.fail(wire.Errorf(wire.CodeShuttingDown, "server is shutting down"), websocket.CloseGoingAway)
		ws.Close()
		return
	}
	defer h.untrack(id)
	defer h.watchAccess(r, ws)()
	c.ctx, c.cancel = context.WithCancel(context.Background())
	defer c.cancel()

	// The reader runs from the start so that pongs, close frames and
	// garbage are seen even while the connection is being set up.
	ws.SetReadDeadline(time.Now().Add(h.cfg.IdleTimeout))
	readerStopped := make(chan struct{})
	go func() {
		defer close(readerStopped)
		c.readLoop()
	}()

	end, werr := c.serve(r)
	c.cancel()
	c.fetchers.Wait()
	c.finish(end, werr, readerStopped)
}

// serve sets the connection up and runs it; it returns how the connection
// ended and, for a server-side failure, the error to send.
func (c *consumer) serve(r *http.Request) (readEnd, error) {
	h := c.h
	var err error
	if c.params, err = parseConsumeParams(r.PathValue("topic"), r.URL.Query()); err != nil {
		return 0, err
	}
	c.pingEvery = h.cfg.PingInterval
	setup, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	if c.nparts, err = h.cfg.Broker.Partitions(setup, c.params.topic); err != nil {
		return 0, fmt.Errorf("topic %q: %w", c.params.topic, err)
	}
	for _, p := range c.params.partitions {
		if p >= c.nparts {
			return 0, fmt.Errorf("%w: topic %s has %d partitions, no partition %d", errBadRequest, c.params.topic, c.nparts, p)
		}
	}
	if c.params.processor != "" {
		if h.cfg.Processors == nil {
			return 0, fmt.Errorf("%w: %s (this node runs no processors)", ErrUnknownProcessor, c.params.processor)
		}
		if c.proc, err = h.cfg.Processors.Processor(setup, c.params.processor, c.params.version, c.params.procParams); err != nil {
			return 0, fmt.Errorf("processor %s: %w", wire.PluginRef(c.params.processor, int32(c.params.version)), err)
		}
		defer closeProcessor(c.proc)
	}
	welcome := wire.WSWelcomeMsg{Type: wire.WSWelcome, Topic: c.params.topic, Partitions: c.nparts,
		Group: c.params.group, Format: wire.FormatJSON, MaxBufferedBytes: h.cfg.MaxBufferedBytes}
	if c.params.binary {
		welcome.Format = wire.FormatBinary
	}
	if c.params.group != "" {
		c.member, err = h.cfg.Groups.Join(setup, groups.JoinRequest{
			Group: c.params.group, Topic: c.params.topic, ClientID: c.params.clientID,
			Host: r.RemoteAddr, Assignor: c.params.assignor, SessionTimeout: c.params.sessionTimeout,
		})
		if err != nil {
			return 0, err
		}
		c.joined.Store(c.member)
		welcome.MemberID = c.member.ID()
		welcome.Assignor = c.params.assignor
		if welcome.Assignor == "" {
			welcome.Assignor = groups.DefaultAssignor
		}
		st := c.params.sessionTimeout
		if st == 0 {
			st = h.cfg.Groups.SessionTimeout()
		}
		welcome.SessionTimeoutMs = st.Milliseconds()
		// Pongs are the heartbeats of browsers: ping often enough that a
		// live member never misses its session.
		c.pingEvery = min(c.pingEvery, st/3)
	}
	if err := c.writeJSON(welcome); err != nil {
		return endVanished, nil
	}
	if c.member == nil {
		ps := c.params.partitions
		if ps == nil {
			for p := int32(0); p < c.nparts; p++ {
				ps = append(ps, p)
			}
		}
		if err := c.assign(0, ps); err != nil {
			return 0, err
		}
	}
	return c.run()
}

// finish ends the connection: it tells the client why (unless the client
// is gone), leaves the group when the goodbye was clean, and closes.
func (c *consumer) finish(end readEnd, err error, readerStopped <-chan struct{}) {
	h := c.h
	switch {
	case err != nil:
		e := h.toWire(err)
		status := closeCode(e.Code)
		if errors.Is(err, errMalformed) {
			status = websocket.CloseUnsupportedData
		}
		if e.Code == wire.CodeInternal {
			h.cfg.Logger.Warn("websocket consumer failed", "topic", c.params.topic, "group", c.params.group, "err", err)
		}
		if c.member != nil && e.Code != wire.CodeIdleTimeout {
			c.member.Leave() // the server ended it: the member is gone for sure
		}
		c.fail(e, status)
	case end == endClosed:
		// Leave before answering the close: the client's Close returns
		// when the answer arrives, and by then the member must be gone
		// (a reset-offsets right after it must not see it).
		if c.member != nil {
			c.member.Leave()
		}
		c.sendClose(websocket.CloseNormalClosure, "")
	}
	// endVanished and endIdle: the member stays until its session expires,
	// as a consumer on a flaky network may come back... it cannot (a new
	// connection is a new member), but the group must not rebalance on
	// every blip of a healthy peer either.
	select {
	case <-readerStopped:
	case <-time.After(h.cfg.CloseGrace):
	}
	c.ws.Close()
	<-readerStopped
}

// readLoop decodes client frames until the socket fails or closes.
func (c *consumer) readLoop() {
	h := c.h
	c.ws.SetPongHandler(func(string) error {
		c.ws.SetReadDeadline(time.Now().Add(h.cfg.IdleTimeout))
		c.heartbeat()
		return nil
	})
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			c.readDone <- classifyReadErr(err)
			return
		}
		c.ws.SetReadDeadline(time.Now().Add(h.cfg.IdleTimeout))
		c.heartbeat()
		msg, perr := decodeClientMsg(mt, data)
		if perr != nil {
			select {
			case c.msgs <- clientMsg{err: perr}:
			case <-c.ctx.Done():
			}
			continue
		}
		if msg.typ == wire.WSPing {
			// Answered here: a pong needs no state, and a client pinging
			// while the server is blocked on a write still gets one.
			c.writeJSON(wire.WSPingMsg{Type: wire.WSPong})
			continue
		}
		select {
		case c.msgs <- msg:
		case <-c.ctx.Done():
		}
	}
}

func (c *consumer) heartbeat() {
	if m := c.joined.Load(); m != nil {
		m.Heartbeat()
	}
}

func decodeClientMsg(mt int, data []byte) (clientMsg, error) {
	if mt != websocket.TextMessage {
		return clientMsg{}, fmt.Errorf("%w: binary frame on a consume connection (client messages are JSON text)", errMalformed)
	}
	typ, err := wire.DecodeWSType(data)
	if err != nil {
		return clientMsg{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	m := clientMsg{typ: typ}
	switch typ {
	case wire.WSCredit:
		err = decodeStrict(data, &m.credit)
		if err == nil && (m.credit.Records < 0 || m.credit.Bytes < 0) {
			err = errors.New("negative credit")
		}
	case wire.WSCommit:
		err = decodeStrict(data, &m.commit)
	case wire.WSRevokeAck:
		err = decodeStrict(data, &m.revokeAck)
	case wire.WSPing:
	default:
		err = fmt.Errorf("unknown message type %q", typ)
	}
	if err != nil {
		return clientMsg{}, fmt.Errorf("%w: %s: %w", errMalformed, typ, err)
	}
	return m, nil
}

func decodeStrict(data []byte, v any) error { return json.Unmarshal(data, v) }

func closeProcessor(p Processor) {
	switch cl := p.(type) {
	case interface{ Close(context.Context) error }:
		cl.Close(context.Background())
	case interface{ Close() error }:
		cl.Close()
	}
}
