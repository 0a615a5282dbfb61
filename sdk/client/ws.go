package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/sdk/wire"
)

// Errors of the WebSocket API beyond the HTTP ones (errors.Is matches an
// *APIError carrying their code).
var (
	// ErrUnknownMember: the consumer is no longer a member of its group
	// (its session expired); the connection is closed. Connect again.
	ErrUnknownMember = errors.New("unknown group member")
	// ErrFencedGeneration: a commit named partitions this member no longer
	// holds; nothing was committed.
	ErrFencedGeneration = errors.New("fenced generation")
	// ErrIdleTimeout: the server closed a connection that sent nothing.
	ErrIdleTimeout = errors.New("idle timeout")
	// ErrShuttingDown: the server is stopping; connect again.
	ErrShuttingDown = errors.New("server shutting down")
)

var wsCodeErrors = map[wire.Code]error{
	wire.CodeUnknownMember:    ErrUnknownMember,
	wire.CodeFencedGeneration: ErrFencedGeneration,
	wire.CodeIdleTimeout:      ErrIdleTimeout,
	wire.CodeShuttingDown:     ErrShuttingDown,
}

// wsError turns an error from a WebSocket frame into an error that
// errors.Is matches against both the HTTP and the WebSocket named errors.
func wsError(we *wire.Error) error {
	ae := fromWire(0, we)
	if s, ok := wsCodeErrors[we.Code]; ok {
		return fmt.Errorf("%w: %w", s, ae)
	}
	return ae
}

// wsURL builds the ws:// (or wss://) URL of an endpoint.
func (c *Client) wsURL(path string, q url.Values) string {
	u := *c.base
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path += path
	u.RawQuery = q.Encode()
	return u.String()
}

// dialWS opens a WebSocket; an HTTP refusal becomes its API error.
func (c *Client) dialWS(ctx context.Context, d *websocket.Dialer, path string, q url.Values) (*websocket.Conn, error) {
	if d == nil {
		d = &websocket.Dialer{ReadBufferSize: 64 << 10, WriteBufferSize: 64 << 10, Proxy: http.ProxyFromEnvironment, TLSClientConfig: c.tls}
	}
	h := http.Header{"User-Agent": {c.userAgent}}
	c.authorize(h)
	ws, resp, err := d.DialContext(ctx, c.wsURL(path, q), h)
	if err != nil {
		if resp != nil && resp.Body != nil {
			defer resp.Body.Close()
			var body [4096]byte
			n, _ := resp.Body.Read(body[:])
			return nil, decodeError("GET", path, resp.StatusCode, body[:n])
		}
		return nil, fmt.Errorf("%w: websocket %s: %w", ErrUnavailable, path, err)
	}
	return ws, nil
}
