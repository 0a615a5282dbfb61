package client_test

import (
	"context"
	"encoding/json"
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
