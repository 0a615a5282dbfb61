package client

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
)

func TestRetryWaitDoublesWithJitter(t *testing.T) {
	p := retryPolicy{first: 100 * time.Millisecond, max: time.Second, delivery: time.Minute}
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 50 {
			if w := p.wait(n); w < want/2 || w > want {
				t.Fatalf("wait(%d) = %v, want in [%v, %v]", n, w, want/2, want)
			}
		}
	}
}

func TestRetrierStopsAtCapAndDeadline(t *testing.T) {
	ctx := context.Background()
	p := retryPolicy{first: time.Microsecond, max: time.Microsecond, delivery: time.Minute, retries: 2}
	r := p.start()
	//lint:ignore SA4000 next is stateful: three calls, three answers
	if !r.next(ctx) || !r.next(ctx) || r.next(ctx) {
		t.Fatal("retries: 2 did not allow exactly two retries")
	}
	p = retryPolicy{first: time.Hour, max: time.Hour, delivery: time.Minute}
	if p.start().next(ctx) {
		t.Fatal("a retry whose wait ends past the delivery timeout was made")
	}
	p = retryPolicy{first: time.Microsecond, max: time.Microsecond, delivery: 0}
	if p.start().next(ctx) {
		t.Fatal("delivery timeout 0 retried")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	p = retryPolicy{first: time.Millisecond, max: time.Millisecond, delivery: time.Minute}
	if p.start().next(cctx) {
		t.Fatal("retried after the caller's context ended")
	}
}

func TestWhichErrorsAreRetried(t *testing.T) {
	api := func(c wire.Code) error { return &APIError{Code: c} }
	for _, c := range []struct {
		err         error
		nothingDone bool
		idempotent  bool
	}{
		{api(wire.CodeNotLeader), true, true},
		{api(wire.CodeNotController), true, true},
		{api(wire.CodeNotEnoughReplicas), true, true},
		{api(wire.CodeUnavailable), true, true},
		{api(wire.CodeTimeout), false, true},
		{api(wire.CodeUnknownTopic), false, false},
		{api(wire.CodeOutOfOrderSequence), false, false},
		{api(wire.CodeInternal), false, false},
		{ErrUnavailable, true, true},
		{errors.New("connection reset by peer"), false, true},
		{wire.ErrMalformed, false, false},
	} {
		if got := nothingDone(c.err); got != c.nothingDone {
			t.Errorf("nothingDone(%v) = %v", c.err, got)
		}
		if got := retriableIdempotent(context.Background(), c.err); got != c.idempotent {
			t.Errorf("retriableIdempotent(%v) = %v", c.err, got)
		}
	}
}

func TestUnknownTopicRetriedRightAfterOwnCreate(t *testing.T) {
	c, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	unknown := &APIError{Code: wire.CodeUnknownTopic}
	r := request{path: "/v1/topics/a%2Fb/records"}
	if c.justCreated(r, unknown) {
		t.Fatal("retried for a topic this client did not create")
	}
	c.created.Store("a/b", time.Now())
	if !c.justCreated(r, unknown) || c.justCreated(r, &APIError{Code: wire.CodeInvalidRequest}) {
		t.Fatal("wrong verdict right after the create")
	}
	c.created.Store("a/b", time.Now().Add(-CreatedTopicGrace))
	if c.justCreated(r, unknown) {
		t.Fatal("retried past the grace")
	}
}

// Retry-After is read in whole seconds, capped, and ignored when absent
// or not a number (a huge value must not wrap to a short wait).
func TestRetryAfterHeader(t *testing.T) {
	for v, want := range map[string]time.Duration{
		"": 0, "x": 0, "-3": 0, "0": 0, "1": time.Second, " 7 ": 7 * time.Second,
		"86400": maxRetryAfter, "9223372036854775807": maxRetryAfter,
		"Wed, 21 Oct 2026 07:28:00 GMT": 0,
	} {
		h := http.Header{}
		if v != "" {
			h.Set("Retry-After", v)
		}
		if got := retryAfter(h); got != want {
			t.Errorf("Retry-After %q: %v, want %v", v, got, want)
		}
	}
}
