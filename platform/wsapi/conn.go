package wsapi

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/sdk/wire"
)

// conn wraps a WebSocket with the write discipline both endpoints share:
// every write has a deadline and goes through one mutex; an error ends
// with an error frame and a close frame.
type conn struct {
	h       *Handler
	ws      *websocket.Conn
	wmu     sync.Mutex
	scratch []byte
}

func (c *conn) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.write(websocket.TextMessage, b)
}

func (c *conn) write(mt int, b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(c.h.cfg.WriteTimeout))
	if err := c.ws.WriteMessage(mt, b); err != nil {
		return &writeError{err}
	}
	return nil
}

// writeError marks a failed socket write: the client is gone or stalled
// past WriteTimeout.
type writeError struct{ err error }

func (e *writeError) Error() string { return "websocket write: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

func (c *conn) ping() error {
	return c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.h.cfg.WriteTimeout))
}

// fail sends the error frame and a close frame whose reason is the code.
// The caller then waits (bounded by CloseGrace) for the reader to see the
// client's close and closes the socket.
func (c *conn) fail(e *wire.Error, status int) {
	c.writeJSON(wire.WSErrorMsg{Type: wire.WSError, Error: e})
	c.sendClose(status, string(e.Code))
}

func (c *conn) sendClose(status int, reason string) {
	if len(reason) > 120 {
		reason = reason[:120]
	}
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(status, reason), time.Now().Add(c.h.cfg.WriteTimeout))
}

// readEnd classifies why reading stopped.
type readEnd int

const (
	endVanished readEnd = iota // the socket failed: TCP reset, EOF without close frame
	endClosed                  // the client sent a close frame
	endIdle                    // nothing arrived within the idle timeout
	endTooBig                  // a frame over MaxMessageBytes
)

func classifyReadErr(err error) readEnd {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		if ce.Code == websocket.CloseAbnormalClosure {
			return endVanished
		}
		return endClosed
	}
	if errors.Is(err, websocket.ErrReadLimit) {
		return endTooBig
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return endIdle
	}
	return endVanished
}

// writeHTTPError answers a plain HTTP request with the API's error body.
func writeHTTPError(w http.ResponseWriter, e *wire.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Code.HTTPStatus())
	json.NewEncoder(w).Encode(wire.ErrorResponse{Error: e})
}
