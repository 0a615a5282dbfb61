package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
)

// Retry defaults (Kafka's retry.backoff.ms, retry.backoff.max.ms and
// delivery.timeout.ms).
const (
	// DefaultRetryBackoff is the first wait before a retry; it doubles per
	// attempt up to DefaultRetryMaxBackoff.
	DefaultRetryBackoff = 100 * time.Millisecond
	// DefaultRetryMaxBackoff caps the wait between attempts.
	DefaultRetryMaxBackoff = 2 * time.Second
	// DefaultDeliveryTimeout bounds a call with its retries: no attempt
	// starts after it.
	DefaultDeliveryTimeout = 2 * time.Minute
)

// WithRetryBackoff sets the wait before the first retry (default
// DefaultRetryBackoff) and its cap (default DefaultRetryMaxBackoff). The
// wait doubles per attempt; each is jittered to between half and all of
// it, so clients that failed together do not retry together.
func WithRetryBackoff(first, max time.Duration) Option {
	return func(c *Client) {
		if first > 0 {
			c.retry.first = first
		}
		if max > 0 {
			c.retry.max = max
		}
	}
}

// WithDeliveryTimeout bounds every call of the client with its retries
// (default DefaultDeliveryTimeout); zero or negative disables retries.
// A call is retried when its error is retriable and nothing was done:
// not_leader, not_enough_replicas, not_controller, unavailable (a node
// starting, a leader unreachable), and a node that could not be
// dialled. Requests are also bounded by the caller's context.
func WithDeliveryTimeout(d time.Duration) Option {
	return func(c *Client) { c.retry.delivery = d }
}

// retryPolicy is when and how often to try a call again.
type retryPolicy struct {
	first, max time.Duration
	delivery   time.Duration // <= 0: no retries
	retries    int           // cap on retries; < 0: none; 0: unlimited within delivery
}

func defaultRetry() retryPolicy {
	return retryPolicy{first: DefaultRetryBackoff, max: DefaultRetryMaxBackoff, delivery: DefaultDeliveryTimeout}
}

// wait is the jittered backoff before retry number n (0 first).
func (r retryPolicy) wait(n int) time.Duration {
	d := r.first
	for i := 0; i < n && d < r.max; i++ {
		d *= 2
	}
	d = min(d, r.max)
	return d/2 + rand.N(d/2+1)
}

// retrier runs the attempts of one call.
type retrier struct {
	p        retryPolicy
	deadline time.Time
	n        int
	atLeast  time.Duration // the next wait's floor (the server's Retry-After)
}

// after takes the server's Retry-After from err, if any, as the floor of
// the next wait.
func (r *retrier) after(err error) *retrier {
	var ae *APIError
	if errors.As(err, &ae) {
		r.atLeast = ae.RetryAfter
	}
	return r
}

// retryAfter reads a Retry-After header in seconds (RFC 9110; the date
// form is not used by Sluice servers): 0 if absent or not a number, at
// most maxRetryAfter.
func retryAfter(h http.Header) time.Duration {
	secs, err := strconv.ParseInt(strings.TrimSpace(h.Get("Retry-After")), 10, 64)
	if err != nil || secs <= 0 {
		return 0
	}
	return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
}

// maxRetryAfter bounds a server's Retry-After (it cannot stall a client
// longer than this per retry; the delivery timeout still applies).
const maxRetryAfter = 5 * time.Minute

func (r retryPolicy) start() *retrier {
	return &retrier{p: r, deadline: time.Now().Add(r.delivery)}
}

// next waits before another attempt and reports whether to make it: not
// past the retry cap or the delivery timeout, not when ctx ended.
func (r *retrier) next(ctx context.Context) bool {
	if r.p.delivery <= 0 || r.p.retries < 0 || (r.p.retries > 0 && r.n >= r.p.retries) {
		return false
	}
	w := max(r.p.wait(r.n), r.atLeast)
	r.atLeast = 0
	if time.Now().Add(w).After(r.deadline) {
		return false
	}
	r.n++
	t := time.NewTimer(w)
	defer t.Stop()
	select {
	case <-t.C:
		return ctx.Err() == nil
	case <-ctx.Done():
		return false
	}
}

// CreatedTopicGrace is how long after this client created a topic an
// unknown_topic answer about it is taken for a node whose metadata has
// not caught up yet (read your own writes) and retried.
const CreatedTopicGrace = 10 * time.Second

// justCreated reports whether err is unknown_topic about a topic this
// client created within CreatedTopicGrace (the request's path names it).
func (c *Client) justCreated(r request, err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != wire.CodeUnknownTopic {
		return false
	}
	rest, ok := strings.CutPrefix(r.path, "/v1/topics/")
	if !ok {
		return false
	}
	name, _, _ := strings.Cut(rest, "/")
	name, perr := url.PathUnescape(name)
	if perr != nil {
		return false
	}
	at, ok := c.created.Load(name)
	return ok && time.Since(at.(time.Time)) < CreatedTopicGrace
}

// nothingDone reports whether err guarantees the request did nothing and
// may succeed when sent again: safe to retry for any request.
func nothingDone(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code.NothingWritten()
	}
	return errors.Is(err, ErrUnavailable)
}

// retriableIdempotent reports whether an idempotent produce may be sent
// again after err: any retriable code, and any transport failure (the
// answer may have been lost; the broker recognises the retry) unless the
// caller's ctx ended.
func retriableIdempotent(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code.Retriable()
	}
	return !errors.Is(err, wire.ErrMalformed)
}
