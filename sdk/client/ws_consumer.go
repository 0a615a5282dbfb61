package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/sdk/wire"
)

// WSConsumerConfig configures a WebSocket consumer.
type WSConsumerConfig struct {
	// Topic to consume. Required.
	Topic string
	// Group joins a consumer group (partitions assigned by the server);
	// empty reads Partitions (or all) without a group.
	Group string
	// From is where to start where the group has no committed offset:
	// "earliest", "latest" (default), "@<ms>" or "P:O,P:O".
	From string
	// Partitions to read without a group; nil means all.
	Partitions []int32
	// Processor ("name" or "name@N") runs on the server; Params are its
	// parameters.
	Processor string
	Params    map[string]string
	// Assignor: range, roundrobin or sticky (default).
	Assignor string
	// ClientID names the member in group descriptions.
	ClientID string
	// SessionTimeout of the group member; 0 means the server's default.
	SessionTimeout time.Duration
	// JSON asks for JSON record frames; the default is binary frames,
	// which cost less on both sides.
	JSON bool
	// Credit is how many records the consumer lets the server send ahead
	// of Poll. Default 1000.
	Credit int
	// CreditBytes, if > 0, also bounds the payload bytes sent ahead.
	CreditBytes int64
	// AutoCommitInterval, if > 0, commits the positions of what Poll has
	// returned at most this often (from within Poll), and before a
	// revocation is acknowledged.
	AutoCommitInterval time.Duration
	// OnAssigned and OnRevoked are called from Poll, in order with the
	// records, when the assignment changes. Revoked partitions' positions
	// are committed (with a group) right after OnRevoked returns.
	OnAssigned func(generation int32, partitions []wire.WSPartitionStart)
	OnRevoked  func(generation int32, partitions []int32)
	// Dialer overrides the WebSocket dialer (TLS, proxies, tests).
	Dialer *websocket.Dialer
}

// WSBatch is records of one partition, in offset order. NextOffset is the
// position to commit once they are processed (it moves past records a
// processor dropped; a batch may carry no records just to move it).
type WSBatch struct {
	Topic      string
	Partition  int32
	NextOffset int64
	Records    []wire.Record
}

// WSConsumer reads a topic over a WebSocket with credit-based flow control.
// Poll returns batches in order; Commit stores positions in the group.
// Poll, Commit and Close may be called from different goroutines, but Poll
// from one goroutine at a time.
type WSConsumer struct {
	ws      *websocket.Conn
	cfg     WSConsumerConfig
	welcome wire.WSWelcomeMsg

	wmu sync.Mutex // serialises writes

	mu        sync.Mutex
	events    []wsEvent
	signal    chan struct{}
	err       error // terminal; set once
	done      chan struct{}
	pending   map[string]chan wire.WSCommittedMsg
	nextID    int
	closing   bool
	closeOnce sync.Once

	// Owned by Poll.
	gen        int32
	positions  map[int32]int64
	assigned   map[int32]bool
	lastCommit time.Time
}

type wsEvent struct {
	assigned *wire.WSAssignedMsg
	revoked  *wire.WSRevokedMsg
	batch    *WSBatch
}

// ConsumeWS connects a WebSocket consumer. It returns once the server has
// welcomed it (and, with a group, the member has joined); an unknown topic,
// processor or a bad parameter fails here.
func (c *Client) ConsumeWS(ctx context.Context, cfg WSConsumerConfig) (*WSConsumer, error) {
	if cfg.Credit <= 0 {
		cfg.Credit = 1000
	}
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set(wire.WSParamGroup, cfg.Group)
	set(wire.WSParamFrom, cfg.From)
	set(wire.WSParamAssignor, cfg.Assignor)
	set(wire.WSParamClientID, cfg.ClientID)
	set(wire.ParamProcessor, cfg.Processor)
	if !cfg.JSON {
		q.Set(wire.ParamFormat, wire.FormatBinary)
	}
	if cfg.SessionTimeout > 0 {
		q.Set(wire.WSParamSessionTimeoutMs, strconv.FormatInt(cfg.SessionTimeout.Milliseconds(), 10))
	}
	if len(cfg.Partitions) > 0 {
		ps := make([]string, len(cfg.Partitions))
		for i, p := range cfg.Partitions {
			ps[i] = strconv.Itoa(int(p))
		}
		q.Set(wire.WSParamPartitions, strings.Join(ps, ","))
	}
	for k, v := range cfg.Params {
		q.Set(wire.ParamPrefix+k, v)
	}
	ws, err := c.dialWS(ctx, cfg.Dialer, "/v1/topics/"+seg(cfg.Topic)+"/consume", q)
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", cfg.Topic, err)
	}
	w := &WSConsumer{ws: ws, cfg: cfg, signal: make(chan struct{}, 1), done: make(chan struct{}),
		pending: map[string]chan wire.WSCommittedMsg{}, positions: map[int32]int64{}, assigned: map[int32]bool{}}
	// The first frame is the welcome or an error.
	if dl, ok := ctx.Deadline(); ok {
		ws.SetReadDeadline(dl)
	}
	_, data, err := ws.ReadMessage()
	ws.SetReadDeadline(time.Time{})
	if err != nil {
		ws.Close()
		return nil, fmt.Errorf("consume %s: waiting for welcome: %w", cfg.Topic, err)
	}
	if err := w.handleFirst(data); err != nil {
		ws.Close()
		return nil, fmt.Errorf("consume %s: %w", cfg.Topic, err)
	}
	// WriteControl may run beside other writes; answering pings never
	// waits for a data write.
	ws.SetPingHandler(func(s string) error {
		return ws.WriteControl(websocket.PongMessage, []byte(s), time.Now().Add(10*time.Second))
	})
	go w.readLoop()
	if err := w.grant(int64(cfg.Credit), cfg.CreditBytes); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

func (w *WSConsumer) handleFirst(data []byte) error {
	typ, err := wire.DecodeWSType(data)
	if err != nil {
		return err
	}
	switch typ {
	case wire.WSWelcome:
		return json.Unmarshal(data, &w.welcome)
	case wire.WSError:
		var m wire.WSErrorMsg
		if err := json.Unmarshal(data, &m); err != nil || m.Error == nil {
			return fmt.Errorf("%w: error frame: %s", wire.ErrMalformed, data)
		}
		return wsError(m.Error)
	}
	return fmt.Errorf("%w: expected welcome, got %q", wire.ErrMalformed, typ)
}

// Welcome returns the server's welcome (member id, partition count, ...).
func (w *WSConsumer) Welcome() wire.WSWelcomeMsg { return w.welcome }

func (w *WSConsumer) writeJSON(v any) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.ws.SetWriteDeadline(time.Now().Add(30 * time.Second))
	return w.ws.WriteJSON(v)
}

func (w *WSConsumer) grant(records, bytes int64) error {
	return w.writeJSON(wire.WSCreditMsg{Type: wire.WSCredit, Records: records, Bytes: bytes})
}

// readLoop queues frames for Poll and routes commit answers.
func (w *WSConsumer) readLoop() {
	for {
		mt, data, err := w.ws.ReadMessage()
		if err != nil {
			w.mu.Lock()
			closing := w.closing
			w.mu.Unlock()
			if closing {
				w.fail(ErrClosed)
			} else {
				w.fail(fmt.Errorf("%w: connection lost: %w", ErrUnavailable, err))
			}
			return
		}
		if mt == websocket.BinaryMessage {
			fb, err := wire.DecodeFetchBatch(data)
			if err != nil {
				w.fail(err)
				return
			}
			w.push(wsEvent{batch: &WSBatch{Topic: w.cfg.Topic, Partition: fb.Partition, NextOffset: fb.NextOffset, Records: fb.Records}})
			continue
		}
		if err := w.handleText(data); err != nil {
			w.fail(err)
			return
		}
	}
}

func (w *WSConsumer) handleText(data []byte) error {
	typ, err := wire.DecodeWSType(data)
	if err != nil {
		return err
	}
	switch typ {
	case wire.WSRecords:
		var m wire.WSRecordsMsg
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("%w: records frame: %w", wire.ErrMalformed, err)
		}
		b := &WSBatch{Topic: m.Topic, Partition: m.Partition, NextOffset: m.NextOffset, Records: make([]wire.Record, len(m.Records))}
		for i := range m.Records {
			if b.Records[i], err = m.Records[i].Decode(); err != nil {
				return err
			}
		}
		w.push(wsEvent{batch: b})
	case wire.WSAssigned:
		var m wire.WSAssignedMsg
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("%w: assigned frame: %w", wire.ErrMalformed, err)
		}
		w.push(wsEvent{assigned: &m})
	case wire.WSRevoked:
		var m wire.WSRevokedMsg
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("%w: revoked frame: %w", wire.ErrMalformed, err)
		}
		w.push(wsEvent{revoked: &m})
	case wire.WSCommitted:
		var m wire.WSCommittedMsg
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("%w: committed frame: %w", wire.ErrMalformed, err)
		}
		w.mu.Lock()
		ch := w.pending[m.ID]
		delete(w.pending, m.ID)
		w.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	case wire.WSError:
		var m wire.WSErrorMsg
		if err := json.Unmarshal(data, &m); err != nil || m.Error == nil {
			return fmt.Errorf("%w: error frame: %s", wire.ErrMalformed, data)
		}
		return wsError(m.Error)
	case wire.WSPong:
	}
	return nil
}

func (w *WSConsumer) push(e wsEvent) {
	w.mu.Lock()
	w.events = append(w.events, e)
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

func (w *WSConsumer) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
		close(w.done)
	}
	w.mu.Unlock()
}

// Err returns why the consumer stopped, or nil while it runs.
func (w *WSConsumer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Poll returns the next batch of records, waiting for one until ctx ends.
// Assignment changes run their callbacks from here, in order. Records
// returned count as processed by the next Poll or Commit call: their
// positions are what CommitPositions and auto-commit store.
func (w *WSConsumer) Poll(ctx context.Context) (*WSBatch, error) {
	for {
		if w.cfg.AutoCommitInterval > 0 && w.cfg.Group != "" && time.Since(w.lastCommit) >= w.cfg.AutoCommitInterval {
			w.lastCommit = time.Now()
			w.commitAsync(w.positionsOf(nil))
		}
		w.mu.Lock()
		var e wsEvent
		have := len(w.events) > 0
		if have {
			e = w.events[0]
			w.events[0] = wsEvent{}
			w.events = w.events[1:]
		}
		err := w.err
		w.mu.Unlock()
		if !have {
			if err != nil {
				return nil, err
			}
			select {
			case <-w.signal:
				continue
			case <-w.done:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		switch {
		case e.assigned != nil:
			w.gen = e.assigned.Generation
			for _, p := range e.assigned.Partitions {
				w.assigned[p.Partition] = true
				w.positions[p.Partition] = p.Offset
			}
			if w.cfg.OnAssigned != nil {
				w.cfg.OnAssigned(e.assigned.Generation, e.assigned.Partitions)
			}
		case e.revoked != nil:
			w.gen = e.revoked.Generation
			if w.cfg.OnRevoked != nil {
				w.cfg.OnRevoked(e.revoked.Generation, e.revoked.Partitions)
			}
			if w.cfg.Group != "" {
				// Commit what was processed, then let the partitions go. A
				// refused commit (the partition already moved) is not fatal.
				if offs := w.positionsOf(e.revoked.Partitions); len(offs) > 0 {
					w.commit(ctx, w.gen, offs)
				}
				if err := w.writeJSON(wire.WSRevokeAckMsg{Type: wire.WSRevokeAck, Partitions: e.revoked.Partitions}); err != nil {
					return nil, fmt.Errorf("acknowledge revocation: %w", err)
				}
			}
			for _, p := range e.revoked.Partitions {
				delete(w.assigned, p)
				delete(w.positions, p)
			}
		case e.batch != nil:
			b := e.batch
			if n := len(b.Records); n > 0 {
				var bytes int64
				if w.cfg.CreditBytes > 0 {
					for i := range b.Records {
						bytes += int64(len(b.Records[i].Key) + len(b.Records[i].Value))
						for _, h := range b.Records[i].Headers {
							bytes += int64(len(h.Key) + len(h.Value))
						}
					}
				}
				if err := w.grant(int64(n), bytes); err != nil {
					return nil, fmt.Errorf("grant credit: %w", err)
				}
			}
			if !w.assigned[b.Partition] {
				continue // cannot happen with a conforming server
			}
			w.positions[b.Partition] = b.NextOffset
			return b, nil
		}
	}
}

// Assignment returns the partitions this consumer serves now, sorted.
func (w *WSConsumer) Assignment() []int32 {
	var out []int32
	for p := range w.assigned {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Generation is the group generation of the latest assignment change Poll
// processed.
func (w *WSConsumer) Generation() int32 { return w.gen }

// Positions returns the position after the last batch Poll returned, per
// assigned partition (where a commit would resume).
func (w *WSConsumer) Positions() map[int32]int64 {
	out := make(map[int32]int64, len(w.positions))
	for p, o := range w.positions {
		out[p] = o
	}
	return out
}

func (w *WSConsumer) positionsOf(ps []int32) []wire.WSOffset {
	var out []wire.WSOffset
	if ps == nil {
		for p := range w.positions {
			ps = append(ps, p)
		}
		slices.Sort(ps)
	}
	for _, p := range ps {
		if o, ok := w.positions[p]; ok {
			out = append(out, wire.WSOffset{Partition: p, Offset: o})
		}
	}
	return out
}

// CommitPositions commits the positions after every batch Poll returned
// (call it from the Poll goroutine, or between Polls).
func (w *WSConsumer) CommitPositions(ctx context.Context) error {
	offs := w.positionsOf(nil)
	if len(offs) == 0 {
		return nil
	}
	return w.commit(ctx, w.gen, offs)
}

// Commit stores positions (partition -> next offset to read) in the group,
// claiming generation gen (Generation() for the current one), and waits for
// the server's answer: ErrFencedGeneration when a partition is no longer
// this member's.
func (w *WSConsumer) Commit(ctx context.Context, gen int32, positions map[int32]int64) error {
	offs := make([]wire.WSOffset, 0, len(positions))
	for p, o := range positions {
		offs = append(offs, wire.WSOffset{Partition: p, Offset: o})
	}
	slices.SortFunc(offs, func(a, b wire.WSOffset) int { return int(a.Partition - b.Partition) })
	return w.commit(ctx, gen, offs)
}

func (w *WSConsumer) commit(ctx context.Context, gen int32, offs []wire.WSOffset) error {
	ch, err := w.sendCommit(gen, offs)
	if err != nil {
		return err
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("commit: %w", wsError(m.Error))
		}
		return nil
	case <-w.done:
		return fmt.Errorf("commit: %w", w.Err())
	case <-ctx.Done():
		return fmt.Errorf("commit: %w", ctx.Err())
	}
}

func (w *WSConsumer) commitAsync(offs []wire.WSOffset) {
	if len(offs) > 0 {
		w.sendCommit(w.gen, offs)
	}
}

func (w *WSConsumer) sendCommit(gen int32, offs []wire.WSOffset) (chan wire.WSCommittedMsg, error) {
	ch := make(chan wire.WSCommittedMsg, 1)
	w.mu.Lock()
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return nil, fmt.Errorf("commit: %w", err)
	}
	w.nextID++
	id := strconv.Itoa(w.nextID)
	w.pending[id] = ch
	w.mu.Unlock()
	g := gen
	if err := w.writeJSON(wire.WSCommitMsg{Type: wire.WSCommit, ID: id, Generation: &g, Offsets: offs}); err != nil {
		w.mu.Lock()
		delete(w.pending, id)
		w.mu.Unlock()
		return nil, fmt.Errorf("commit: %w", err)
	}
	return ch, nil
}

// Close leaves the group at once (a clean goodbye) and closes the
// connection. It does not commit: call CommitPositions first if needed.
// The server answers the close frame only after the member left, so once
// Close returns (within 5 s of a live server) the member is no longer in
// the group: group admin calls that need an empty group succeed at once.
func (w *WSConsumer) Close() error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closing = true
		w.mu.Unlock()
		w.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(5*time.Second))
		select {
		case <-w.done:
		case <-time.After(5 * time.Second):
		}
		w.ws.Close()
		w.fail(ErrClosed)
	})
	return nil
}
