package wsapi

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/platform/auth"
	"github.com/sluicehq/sluice/sdk/wire"
)

// Handler serves the WebSocket endpoints and the group admin routes.
// Create it with NewHandler, mount Routes on the node's HTTP server, and
// Close it before the broker and the coordinator: Close ends every
// connection (with a shutting_down error frame) and waits for them.
type Handler struct {
	cfg      Config
	upgrader websocket.Upgrader

	mu     sync.Mutex
	conns  map[uint64]connStats
	closed bool
	stop   chan struct{}
	wg     sync.WaitGroup
	nextID atomic.Uint64
}

// connStats is what a live connection reports to Stats.
type connStats interface{ stats() ConnStats }

// ConnStats describes one live connection.
type ConnStats struct {
	ID    uint64
	Kind  string // "consume" or "produce"
	Topic string
	// BufferedBytes is what a consume connection holds now (records
	// fetched and not sent, plus fetch reservations); PeakBufferedBytes
	// is the most it ever held.
	BufferedBytes, PeakBufferedBytes int64
	// InFlight and PeakInFlight count a produce connection's batches read
	// and not yet answered.
	InFlight, PeakInFlight int64
	// RecordsSent counts records sent to a consumer; RecordsProduced
	// records appended for a producer.
	RecordsSent, RecordsProduced int64
}

// NewHandler validates cfg and returns a Handler.
func NewHandler(cfg Config) (*Handler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, conns: map[uint64]connStats{}, stop: make(chan struct{})}
	h.upgrader = websocket.Upgrader{
		ReadBufferSize:  32 << 10,
		WriteBufferSize: 64 << 10,
		CheckOrigin:     cfg.CheckOrigin,
		// Offered by browsers together with the sluice.token.* subprotocol
		// that carries their token (checked by the HTTP API's auth guard);
		// the server must select one the client offered.
		Subprotocols: []string{wire.WSSubprotocol},
	}
	return h, nil
}

// Routes returns the handler of every route, keyed by its ServeMux pattern
// (wire.RouteWSConsume, wire.RouteWSProduce and the four group routes).
func (h *Handler) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		wire.RouteWSConsume:     http.HandlerFunc(h.serveConsume),
		wire.RouteWSProduce:     http.HandlerFunc(h.serveProduce),
		wire.RouteListGroups:    http.HandlerFunc(h.listGroups),
		wire.RouteDescribeGroup: http.HandlerFunc(h.describeGroup),
		wire.RouteResetOffsets:  http.HandlerFunc(h.resetOffsets),
		wire.RouteDeleteGroup:   http.HandlerFunc(h.deleteGroup),
	}
}

// Register mounts Routes on mux.
func (h *Handler) Register(mux interface {
	Handle(pattern string, handler http.Handler)
}) {
	for pattern, hh := range h.Routes() {
		mux.Handle(pattern, hh)
	}
}

// Stats returns the live connections, by id.
func (h *Handler) Stats() []ConnStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]ConnStats, 0, len(h.conns))
	for id, c := range h.conns {
		st := c.stats()
		st.ID = id
		out = append(out, st)
	}
	return out
}

// Close ends every connection with a shutting_down error frame and waits
// for their goroutines. New upgrades are refused afterwards.
func (h *Handler) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	close(h.stop)
	h.mu.Unlock()
	h.wg.Wait()
	if t, ok := h.cfg.ProxyTransport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
	return nil
}

// track registers a connection; false when the handler is closed.
func (h *Handler) track(c connStats) (uint64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, false
	}
	id := h.nextID.Add(1)
	h.conns[id] = c
	h.wg.Add(1)
	return id, true
}

func (h *Handler) untrack(id uint64) {
	h.mu.Lock()
	delete(h.conns, id)
	h.mu.Unlock()
	h.wg.Done()
}

// watchAccess checks the connection's credential and ACLs again every
// interval the HTTP API's auth check attached to r (auth.Recheck); when
// they no longer allow it, the connection is closed with 1008 (policy
// violation) and the reason. The returned stop ends the watcher and waits
// for it; call it before untracking the connection.
func (h *Handler) watchAccess(r *http.Request, ws *websocket.Conn) (stop func()) {
	rc, ok := auth.RecheckFrom(r.Context())
	if !ok {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(rc.Every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			err := rc.Check()
			if err == nil {
				continue
			}
			h.cfg.Logger.Info("closing a websocket its credential or ACLs no longer allow", "path", r.URL.Path, "err", err)
			reason := err.Error()
			if len(reason) > 120 { // a close frame's reason is at most 123 bytes
				reason = reason[:120]
			}
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, reason), time.Now().Add(time.Second))
			_ = ws.Close()
			return
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// upgrade switches the request to a WebSocket; on failure the upgrader has
// already answered with an HTTP error.
func (h *Handler) upgrade(w http.ResponseWriter, r *http.Request) (*websocket.Conn, bool) {
	if !websocket.IsWebSocketUpgrade(r) {
		writeHTTPError(w, wire.Errorf(wire.CodeInvalidRequest, "%s needs a WebSocket upgrade", r.URL.Path))
		return nil, false
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		h.cfg.Logger.Debug("websocket upgrade failed", "path", r.URL.Path, "err", err)
		return nil, false
	}
	ws.SetReadLimit(h.cfg.MaxMessageBytes)
	// The client's close frame is answered by the endpoint's finish, once
	// the connection's effects are done (a consumer has left its group, a
	// producer's acks are sent), not by gorilla's default handler inside
	// ReadMessage: a client whose close handshake completed may rely on
	// the server having let go of it.
	ws.SetCloseHandler(func(int, string) error { return nil })
	return ws, true
}
