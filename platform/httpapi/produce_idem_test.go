package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/sdk/wire"
)

// A node that is starting cannot know that a topic does not exist: it
// answers unavailable (retriable), and unknown_topic once it is ready.
func TestUnknownTopicWhileStartingIsUnavailable(t *testing.T) {
	ctl := newMemController(t)
	b, err := broker.Start(context.Background(), broker.Config{NodeID: 1, DataDir: t.TempDir(), Metadata: ctl, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var health atomic.Value
	health.Store(HealthStarting)
	srv, err := New(Config{NodeID: 1, Broker: b, Admin: ctl, Metadata: ctl.Metadata, Health: func() string { return health.Load().(string) }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer func() { hs.Close(); b.Close() }()
	c := &apiClient{t: t, url: hs.URL}
	for _, path := range []string{"/v1/topics/nope", "/v1/topics/nope/partitions/0/records?offset=0"} {
		st, raw := c.do(http.MethodGet, path, "", nil, nil)
		var er wire.ErrorResponse
		if err := json.Unmarshal(raw, &er); err != nil || st != http.StatusServiceUnavailable || er.Error.Code != wire.CodeUnavailable {
			t.Fatalf("GET %s while starting: %d %s", path, st, raw)
		}
	}
	st, raw := c.do(http.MethodPost, "/v1/topics/nope/records", wire.MediaTypeJSON, []byte(`{"records":[{"value":"x"}]}`), nil)
	if st != http.StatusServiceUnavailable {
		t.Fatalf("produce while starting: %d %s", st, raw)
	}
	health.Store(HealthOK)
	if st, raw := c.do(http.MethodGet, "/v1/topics/nope", "", nil, nil); st != http.StatusNotFound {
		t.Fatalf("once ready: %d %s", st, raw)
	}
}

// The producer parameters go together and are range-checked; a retried
// idempotent request answers the original offsets.
func TestProduceIdempotentParams(t *testing.T) {
	c := startAPI(t, 0)
	if st, raw := c.do(http.MethodPost, "/v1/topics", wire.MediaTypeJSON, []byte(`{"name":"t","partitions":2}`), nil); st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, raw)
	}
	body := []byte(`{"records":[{"value":"a"},{"value":"b"},{"key":"k","value":"c"}]}`)
	for _, q := range []string{"producer_id=1", "producer_id=1&producer_epoch=0", "producer_id=-1&producer_epoch=0&sequence=0",
		"producer_id=1&producer_epoch=40000&sequence=0", "producer_id=1&producer_epoch=0&sequence=-3", "producer_id=x&producer_epoch=0&sequence=0"} {
		if st, raw := c.do(http.MethodPost, "/v1/topics/t/records?"+q, wire.MediaTypeJSON, body, nil); st != http.StatusBadRequest {
			t.Errorf("%s: %d %s", q, st, raw)
		}
	}
	q := "/v1/topics/t/records?producer_id=77&producer_epoch=0&sequence=5"
	var first, again wire.ProduceResponse
	if st, raw := c.do(http.MethodPost, q, wire.MediaTypeJSON, body, &first); st != http.StatusOK {
		t.Fatalf("produce: %d %s", st, raw)
	}
	if st, raw := c.do(http.MethodPost, q, wire.MediaTypeJSON, body, &again); st != http.StatusOK {
		t.Fatalf("retry: %d %s", st, raw)
	}
	for i := range first.Results {
		if first.Results[i].Error != nil || first.Results[i] != again.Results[i] {
			t.Fatalf("record %d: first %+v, retry %+v", i, first.Results[i], again.Results[i])
		}
	}
	// An overlapping request is refused per record; nothing is written.
	var bad wire.ProduceResponse
	c.do(http.MethodPost, "/v1/topics/t/records?producer_id=77&producer_epoch=0&sequence=6", wire.MediaTypeJSON, []byte(`{"records":[{"key":"k","value":"d"}]}`), &bad)
	if len(bad.Results) != 1 || bad.Results[0].Error == nil || bad.Results[0].Error.Code != wire.CodeOutOfOrderSequence {
		t.Fatalf("overlapping request: %+v", bad)
	}
}
