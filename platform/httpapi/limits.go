package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/sdk/wire"
)

// Limits bound what a node's HTTP server holds for its clients: how long a
// client may take to send headers and body, how long an idle keep-alive
// connection stays open, and how many request body bytes all requests
// together may hold (docs/operations.md, "Limits"). The zero value of a
// field takes the default named next to it.
type Limits struct {
	// ReadHeaderTimeout bounds the time to read a request's headers.
	// Default DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// BodyReadTimeout bounds the time from a handler's first read of a
	// request body to its end; a body still arriving after it is refused
	// with 408 request_timeout and the connection is closed. Requests
	// without a body (long-poll fetches, WebSocket upgrades) have no such
	// deadline, and once a body has been read the deadline is lifted, so a
	// replica fetch may long-poll after reading its request. Default
	// DefaultBodyReadTimeout.
	BodyReadTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long. Default
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's header bytes (431 past it).
	// Default DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// MaxInFlightBodyBytes bounds the request body bytes all of the node's
	// requests hold at once: bytes are counted as they arrive (an
	// announced Content-Length costs nothing) and returned when the
	// request's handler returns. A request whose next bytes do not fit is
	// refused with 503 overloaded and Retry-After. Default
	// DefaultMaxInFlightBodyBytes.
	MaxInFlightBodyBytes int64
}

// Defaults of Limits.
const (
	DefaultReadHeaderTimeout    = 10 * time.Second
	DefaultBodyReadTimeout      = 60 * time.Second
	DefaultIdleTimeout          = 2 * time.Minute
	DefaultMaxHeaderBytes       = 64 << 10
	DefaultMaxInFlightBodyBytes = 256 << 20
)

// maxBodyRead caps one read of a request body, so that the in-flight
// count is charged in small steps and a request over the limit is refused
// before it has read much past it.
const maxBodyRead = 256 << 10

// WithDefaults returns l with zero fields set to their defaults.
func (l Limits) WithDefaults() Limits {
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if l.BodyReadTimeout <= 0 {
		l.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxInFlightBodyBytes <= 0 {
		l.MaxInFlightBodyBytes = DefaultMaxInFlightBodyBytes
	}
	return l
}

// ConfigureHTTPServer sets srv's header, idle and header-size limits from
// the server's Limits. The body deadline and the in-flight byte count are
// applied by the Server itself, per request.
func (s *Server) ConfigureHTTPServer(srv *http.Server) {
	l := s.cfg.Limits
	srv.ReadHeaderTimeout = l.ReadHeaderTimeout
	srv.IdleTimeout = l.IdleTimeout
	srv.MaxHeaderBytes = l.MaxHeaderBytes
}

// InFlightBodyBytes is how many request body bytes the server's requests
// hold now.
func (s *Server) InFlightBodyBytes() int64 { return s.inflight.used.Load() }

// registerLimitMetrics adds the limits' series: body bytes in flight and
// the requests refused for a slow body or a full budget.
func (s *Server) registerLimitMetrics() error {
	s.bodyRefusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_http_body_refusals_total",
		Help: "Requests refused while their body was read: reason timeout (408 request_timeout) or overloaded (503 overloaded).",
	}, []string{"reason"})
	inflight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sluice_http_inflight_body_bytes",
		Help: "Request body bytes held by running requests (limit: Limits.MaxInFlightBodyBytes).",
	}, func() float64 { return float64(s.inflight.used.Load()) })
	for _, c := range []prometheus.Collector{s.bodyRefusals, inflight} {
		if err := s.cfg.Registry.Register(c); err != nil {
			return fmt.Errorf("httpapi: register limit metrics: %w", err)
		}
	}
	return nil
}

// byteBudget is a counting semaphore of bytes that never blocks: take
// fails when the bytes do not fit.
type byteBudget struct {
	limit int64
	used  atomic.Int64
}

func (b *byteBudget) take(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

func (b *byteBudget) give(n int64) { b.used.Add(-n) }

// limitBody replaces r's body with one that enforces the body deadline and
// the in-flight budget; the returned function, called when the handler has
// returned, gives the body's bytes back. Requests without a body are left
// alone.
func (s *Server) limitBody(w http.ResponseWriter, r *http.Request) (*http.Request, func()) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return r, func() {}
	}
	lb := &limitedBody{
		rc:       r.Body,
		w:        w,
		ctl:      http.NewResponseController(w),
		budget:   &s.inflight,
		timeout:  s.cfg.Limits.BodyReadTimeout,
		refusals: s.bodyRefusals,
	}
	r2 := *r
	r2.Body = lb
	return &r2, lb.release
}

// limitedBody is a request body read under Limits. Not safe for
// concurrent reads (nor is any request body).
type limitedBody struct {
	rc       io.ReadCloser
	w        http.ResponseWriter
	ctl      *http.ResponseController
	budget   *byteBudget
	timeout  time.Duration
	refusals *prometheus.CounterVec
	deadline bool  // the read deadline is set
	taken    int64 // bytes charged to budget
	err      error // sticky refusal
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if !b.deadline {
		b.deadline = true
		// Without deadline support (a wrapped writer that does not
		// unwrap) the body is read without one: not worse than before.
		_ = b.ctl.SetReadDeadline(time.Now().Add(b.timeout))
	}
	if len(p) > maxBodyRead {
		p = p[:maxBodyRead]
	}
	n, err := b.rc.Read(p)
	if n > 0 {
		if !b.budget.take(int64(n)) {
			b.w.Header().Set("Retry-After", "1")
			b.err = wire.Errorf(wire.CodeOverloaded,
				"the node holds its limit of %d bytes of request bodies in flight; retry later", b.budget.limit)
			b.refusals.WithLabelValues("overloaded").Inc()
			b.clearDeadline()
			return 0, b.err
		}
		b.taken += int64(n)
	}
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		b.clearDeadline()
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.err = wire.Errorf(wire.CodeRequestTimeout, "request body not received within %v", b.timeout)
		b.refusals.WithLabelValues("timeout").Inc()
		return n, b.err
	}
	return n, err
}

// clearDeadline lifts the body deadline once the body is read (or
// refused), so a handler that long-polls after its body (a replica fetch)
// is not cut off by it. net/http also clears the connection's deadline
// when it starts its background read at the body's EOF; this does not
// rely on that.
func (b *limitedBody) clearDeadline() {
	_ = b.ctl.SetReadDeadline(time.Time{})
}

func (b *limitedBody) Close() error { return b.rc.Close() }

func (b *limitedBody) release() {
	if b.taken > 0 {
		b.budget.give(b.taken)
		b.taken = 0
	}
}
