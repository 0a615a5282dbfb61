package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// A produce whose every record failed with unavailable (the forward target
// did not know the fresh topic yet) wrote nothing: the client sends it
// again without idempotence. One that partly succeeded is never resent.
func TestProduceRetriesAllUnavailable(t *testing.T) {
	unavailable := wire.ProduceResult{Partition: -1, Offset: -1, Error: wire.Errorf(wire.CodeUnavailable, "leader's metadata is behind")}
	for _, tc := range []struct {
		name     string
		first    []wire.ProduceResult
		attempts int32
	}{
		{"every record unavailable", []wire.ProduceResult{unavailable, unavailable}, 2},
		{"one record written", []wire.ProduceResult{{Partition: 0, Offset: 7}, unavailable}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				res := tc.first
				if calls.Add(1) > 1 {
					res = []wire.ProduceResult{{Partition: 1, Offset: 0}, {Partition: 1, Offset: 1}}
				}
				w.Header().Set("Content-Type", wire.MediaTypeJSON)
				_ = json.NewEncoder(w).Encode(wire.ProduceResponse{Results: res})
			}))
			defer srv.Close()
			c, err := client.New(srv.URL, client.WithRetryBackoff(time.Millisecond, 5*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			recs := []client.Record{{Value: []byte("a")}, {Value: []byte("b")}}
			if _, err := c.Produce(ctx, "t", recs, client.ProduceOptions{Acks: client.AcksLeader}); err != nil {
				t.Fatal(err)
			}
			if got := calls.Load(); got != tc.attempts {
				t.Fatalf("%d requests, want %d", got, tc.attempts)
			}
		})
	}
}

// A refusal with Retry-After (a backed-off plugin: unavailable, nothing
// written) is retried no sooner than the server asked, even with a short
// retry backoff; the header's value is on the error.
func TestRetryWaitsForRetryAfter(t *testing.T) {
	var calls atomic.Int32
	var first, second atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", wire.MediaTypeJSON)
		switch calls.Add(1) {
		case 1:
			first.Store(time.Now().UnixNano())
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(wire.ErrorResponse{Error: wire.Errorf(wire.CodeUnavailable, "plugin p@1: plugin backed off for 812ms; retry later")})
		default:
			second.Store(time.Now().UnixNano())
			_ = json.NewEncoder(w).Encode(wire.ProduceResponse{Results: []wire.ProduceResult{{Partition: 0, Offset: 0}}})
		}
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithRetryBackoff(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Produce(ctx, "t", []client.Record{{Value: []byte("a")}}, client.ProduceOptions{Acks: client.AcksLeader}); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Fatalf("%d requests, want 2", calls.Load())
	}
	if gap := time.Duration(second.Load() - first.Load()); gap < time.Second {
		t.Fatalf("retried after %v, before the Retry-After of 1s", gap)
	}

	// With retries off, the caller sees the wait on the error.
	calls.Store(0)
	once, err := client.New(srv.URL, client.WithDeliveryTimeout(0))
	if err != nil {
		t.Fatal(err)
	}
	defer once.Close()
	_, err = once.Produce(ctx, "t", []client.Record{{Value: []byte("a")}}, client.ProduceOptions{Acks: client.AcksLeader})
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Code != wire.CodeUnavailable || ae.RetryAfter != time.Second {
		t.Fatalf("err = %#v, want unavailable with RetryAfter 1s", err)
	}
}
