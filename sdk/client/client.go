// Package client is the Go client of Sluice's HTTP API: admin calls
// (topics, cluster, plugins, groups), a batching Producer that speaks the
// binary record format, and a long-polling Consumer.
//
// It imports only sdk/wire, never a server package. Errors the server
// reports come back as *APIError values that match the named errors of this
// package with errors.Is:
//
//	_, err := c.DescribeTopic(ctx, "orders")
//	if errors.Is(err, client.ErrUnknownTopic) { ... }
//
// Calls ride out transient states: an answer that guarantees nothing was
// done (not_leader, not_controller, not_enough_replicas, unavailable, a
// node that cannot be dialled) is retried with jittered exponential
// backoff within a delivery timeout (WithRetryBackoff,
// WithDeliveryTimeout). The Producer and the WebSocket producer are
// idempotent by default: a random producer id and per-record sequences
// let the broker recognise a retry, so they also retry timeouts and lost
// answers without writing a record twice (docs/api.md, "Idempotent
// produce").
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
)

// DefaultAddr is the address New uses when given "": where `sluice dev`
// listens by default.
const DefaultAddr = "http://127.0.0.1:8080"

// maxIdleConns bounds the idle connections the client keeps per node.
const maxIdleConns = 1024

// Defaults of the Option values.
const (
	// DefaultRequestTimeout bounds an admin call or a produce request
	// (a fetch adds its long-poll wait on top).
	DefaultRequestTimeout = 30 * time.Second
	// DefaultUserAgent is sent with every request.
	DefaultUserAgent = "sluice-go-client/1"
)

// Client talks to one Sluice node over HTTP. Any node serves any request
// (it forwards to leaders and the controller), so one address is enough.
// A Client is safe for concurrent use. Close releases idle connections.
type Client struct {
	base      *url.URL
	http      *http.Client
	ownHTTP   bool
	timeout   time.Duration
	userAgent string
	retry     retryPolicy
	created   sync.Map    // topic name -> time.Time this client created it
	token     string      // WithToken
	tls       *tls.Config // WithTLSConfig
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client use h (its Timeout should be zero or
// larger than the longest long-poll). Close does not close h's transport.
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) { c.http, c.ownHTTP = h, false }
}

// WithRequestTimeout bounds each request (default DefaultRequestTimeout);
// a fetch gets its long-poll wait added. Zero means no bound beyond the
// caller's context.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *Client) { c.timeout = d }
}

// WithUserAgent sets the User-Agent header (default DefaultUserAgent).
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client for the node at addr: a base URL
// ("http://host:8080") or "host:port" (http is assumed). "" means
// DefaultAddr. New does not contact the node.
func New(addr string, opts ...Option) (*Client, error) {
	u, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// A Consumer long-polls every partition on its own connection; keep
	// them all for reuse rather than redialling after each poll.
	tr.MaxIdleConns = maxIdleConns
	tr.MaxIdleConnsPerHost = maxIdleConns
	c := &Client{
		base:      u,
		http:      &http.Client{Transport: tr},
		ownHTTP:   true,
		timeout:   DefaultRequestTimeout,
		userAgent: DefaultUserAgent,
		retry:     defaultRetry(),
	}
	for _, o := range opts {
		o(c)
	}
	if c.tls != nil && c.ownHTTP {
		// A copy: the transport writes to its configuration (HTTP/2's
		// NextProtos) on first use, and one configuration is commonly
		// shared by many clients (and by this one's WebSocket dialer).
		tr.TLSClientConfig = c.tls.Clone()
	}
	return c, nil
}

func parseAddr(addr string) (*url.URL, error) {
	if addr == "" {
		addr = DefaultAddr
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("server address %q: %w", addr, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("server address %q: scheme must be http or https", addr)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("server address %q: no host", addr)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// Addr is the base URL the client talks to.
func (c *Client) Addr() string { return c.base.String() }

// Close releases idle connections of the client's own transport.
func (c *Client) Close() error {
	if c.ownHTTP {
		c.http.CloseIdleConnections()
	}
	return nil
}

// request is one HTTP exchange.
type request struct {
	method  string
	path    string // escaped path under the base, e.g. "/v1/topics/orders"
	query   url.Values
	body    []byte
	ctype   string
	accept  string
	extra   time.Duration // added to the request timeout (long-poll)
	baseURL *url.URL      // overrides c.base (leader redirect)
}

// do sends r and returns the response body of a 2xx answer; any other
// status becomes an *APIError. A request that failed with an error that
// guarantees nothing was done (nothingDone: no leader yet, no controller
// yet, a node starting, a node that cannot be dialled) is sent again
// with backoff within the client's delivery timeout.
func (c *Client) do(ctx context.Context, r request) (status int, header http.Header, body []byte, err error) {
	rt := c.retry.start()
	for {
		status, header, body, err = c.doRedirect(ctx, r)
		if err == nil || !(nothingDone(err) || c.justCreated(r, err)) || !rt.after(err).next(ctx) {
			return status, header, body, err
		}
	}
}

// doRedirect is one attempt of do. A request answered not_controller (any
// method) or not_leader (GET: fetch, offsets) with the leader's address is
// sent once more to that leader: nothing was done the first time, so the
// retry is safe. A produce is not redirected: its records may belong to
// several leaders.
func (c *Client) doRedirect(ctx context.Context, r request) (status int, header http.Header, body []byte, err error) {
	status, header, body, err = c.doOnce(ctx, r)
	var ae *APIError
	if r.baseURL == nil && errors.As(err, &ae) && ae.Details != nil && ae.Details.LeaderAddr != "" &&
		(ae.Code == wire.CodeNotController || ae.Code == wire.CodeNotLeader && r.method == http.MethodGet) {
		if u, perr := parseAddr(ae.Details.LeaderAddr); perr == nil && u.String() != c.base.String() {
			r.baseURL = u
			return c.doOnce(ctx, r)
		}
	}
	return status, header, body, err
}

func (c *Client) doOnce(ctx context.Context, r request) (status int, header http.Header, body []byte, err error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout+r.extra)
		defer cancel()
	}
	base := c.base
	if r.baseURL != nil {
		base = r.baseURL
	}
	target := base.String() + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var rd io.Reader
	if r.body != nil {
		rd = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	if r.ctype == "" && r.method == http.MethodPost {
		r.ctype = wire.MediaTypeJSON // servers refuse a POST of a simple type (CSRF)
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	} else {
		req.Header.Set("Accept", wire.MediaTypeJSON)
	}
	req.Header.Set("User-Agent", c.userAgent)
	c.authorize(req.Header)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, c.transportError(r, err)
	}
	defer resp.Body.Close()
	body, err = readAnswer(resp)
	if err != nil {
		return resp.StatusCode, resp.Header, nil, fmt.Errorf("%s %s: read answer: %w", r.method, r.path, err)
	}
	if resp.StatusCode/100 != 2 {
		err := decodeError(r.method, r.path, resp.StatusCode, body)
		if ae, ok := err.(*APIError); ok {
			ae.RetryAfter = retryAfter(resp.Header)
		}
		return resp.StatusCode, resp.Header, body, err
	}
	return resp.StatusCode, resp.Header, body, nil
}

// maxPresized bounds the buffer readAnswer allocates from an announced
// Content-Length; a larger answer grows as it arrives.
const maxPresized = 64 << 20

// readAnswer reads a whole answer body. With a Content-Length (a fetch
// answer's is exact) the body is read into one buffer of that size: no
// regrowth and copying of a multi-megabyte fetch as io.ReadAll does.
func readAnswer(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= maxPresized {
		body := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(resp.Body)
}

func (c *Client) transportError(r request, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		base := c.base
		if r.baseURL != nil {
			base = r.baseURL
		}
		return fmt.Errorf("%w at %s: %w", ErrUnavailable, base, oe)
	}
	return fmt.Errorf("%s %s: %w", r.method, r.path, err)
}

// doJSON sends in (if not nil) as JSON and decodes a JSON answer into out
// (if not nil).
func (c *Client) doJSON(ctx context.Context, method, path string, query url.Values, in, out any) error {
	r := request{method: method, path: path, query: query}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		r.body, r.ctype = b, wire.MediaTypeJSON
	}
	_, _, body, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

func jsonUnmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}
