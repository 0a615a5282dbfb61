package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memController is the controller seam (Admin + broker.MetadataSource)
// over meta's real state machine, without raft: what these tests need to
// drive the API. The node tests (package platform) run the real quorum.
type memController struct {
	mu      sync.Mutex
	cluster *meta.Cluster
	index   uint64
	changed chan struct{}
}

func newMemController(t testing.TB) *memController {
	c := &memController{cluster: meta.NewCluster(), changed: make(chan struct{})}
	if _, err := c.Propose(context.Background(), meta.Command{Op: meta.OpRegisterBroker, RegisterBroker: &meta.RegisterBroker{
		Broker: meta.Broker{ID: 1, HTTPAddr: "http://127.0.0.1:1", Roles: []string{meta.RoleBroker, meta.RoleController}}}}); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *memController) Metadata() *meta.Cluster {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cluster
}

func (c *memController) Watch(ctx context.Context, after uint64) (*meta.Cluster, error) {
	for {
		c.mu.Lock()
		cur, ch := c.cluster, c.changed
		c.mu.Unlock()
		if cur.Version > after {
			return cur, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (c *memController) ProposeFrom(ctx context.Context, _ meta.NodeID, cmd meta.Command) (meta.Result, error) {
	return c.Propose(ctx, cmd)
}

func (c *memController) Propose(ctx context.Context, cmd meta.Command) (meta.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.index++
	next, res, err := meta.Apply(c.cluster, c.index, cmd, cmd.At)
	if err != nil {
		return res, err
	}
	c.cluster = next
	close(c.changed)
	c.changed = make(chan struct{})
	return res, nil
}

type apiClient struct {
	t   *testing.T
	url string
}

func startAPI(t *testing.T, maxRequest int64) *apiClient {
	t.Helper()
	ctl := newMemController(t)
	b, err := broker.Start(context.Background(), broker.Config{NodeID: 1, DataDir: t.TempDir(), Metadata: ctl, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{NodeID: 1, Broker: b, Admin: ctl, Metadata: ctl.Metadata, MaxRequestBytes: maxRequest})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		b.Close()
	})
	return &apiClient{t: t, url: hs.URL}
}

// do sends a request and decodes a JSON answer into out (if not nil); it
// returns the status and the raw body.
func (c *apiClient) do(method, path, contentType string, body []byte, out any) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType == "" && method == http.MethodPost {
		// The browser check refuses a POST without a non-simple type.
		contentType = wire.MediaTypeJSON
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, raw
}

// wantError checks a failed answer's status and code.
func (c *apiClient) wantError(status int, raw []byte, wantStatus int, code wire.Code) *wire.Error {
	c.t.Helper()
	var er wire.ErrorResponse
	if err := json.Unmarshal(raw, &er); err != nil || er.Error == nil {
		c.t.Fatalf("error body %q is not {\"error\":{...}}: %v", raw, err)
	}
	if status != wantStatus || er.Error.Code != code {
		c.t.Fatalf("got %d %s (%s), want %d %s", status, er.Error.Code, er.Error.Message, wantStatus, code)
	}
	if er.Error.Message == "" {
		c.t.Fatalf("error %s has no message", code)
	}
	return er.Error
}

func (c *apiClient) createTopic(name string, partitions int32, config map[string]string) wire.Topic {
	c.t.Helper()
	// Replication factor 1: the other brokers these tests register never
	// run, so a follower replica would hold the high watermark back.
	body, _ := json.Marshal(wire.CreateTopicRequest{Name: name, Partitions: partitions, ReplicationFactor: 1, Config: config})
	var tp wire.Topic
	if st, raw := c.do("POST", "/v1/topics", wire.MediaTypeJSON, body, &tp); st != http.StatusCreated {
		c.t.Fatalf("create %s: %d %s", name, st, raw)
	}
	return tp
}

func TestTopicLifecycle(t *testing.T) {
	c := startAPI(t, 0)
	tp := c.createTopic("orders", 3, map[string]string{"retention.ms": "86400000"})
	if tp.PartitionCount != 3 || tp.Config["retention.ms"] != "86400000" || len(tp.Config) != 1 || tp.Partitions[2].Leader != 1 || tp.Partitions[0].HighWatermark != 0 {
		t.Fatalf("created topic %+v", tp)
	}
	st, raw := c.do("POST", "/v1/topics", wire.MediaTypeJSON, []byte(`{"name":"orders","partitions":1}`), nil)
	c.wantError(st, raw, http.StatusConflict, wire.CodeTopicExists)
	st, raw = c.do("POST", "/v1/topics", wire.MediaTypeJSON, []byte(`{"name":"bad/name","partitions":1}`), nil)
	c.wantError(st, raw, http.StatusBadRequest, wire.CodeInvalidRequest)
	st, raw = c.do("POST", "/v1/topics", wire.MediaTypeJSON, []byte(`{"name":"x","partitions":1,"config":{"nope":"1"}}`), nil)
	c.wantError(st, raw, http.StatusBadRequest, wire.CodeInvalidConfig)

	var list wire.TopicList
	if st, _ := c.do("GET", "/v1/topics", "", nil, &list); st != 200 || len(list.Topics) != 1 || list.Topics[0].Partitions != 3 {
		t.Fatalf("list: %d %+v", st, list)
	}
	var altered wire.Topic
	st, raw = c.do("PATCH", "/v1/topics/orders", wire.MediaTypeJSON, []byte(`{"config":{"retention.ms":"","durability":"replicated"},"partitioner":"roundrobin"}`), &altered)
	if st != 200 || altered.Config["durability"] != "replicated" || altered.Config["retention.ms"] != "" || altered.Partitioner != "roundrobin" {
		t.Fatalf("alter: %d %s", st, raw)
	}
	if st, raw := c.do("DELETE", "/v1/topics/orders", "", nil, nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d %s", st, raw)
	}
	st, raw = c.do("GET", "/v1/topics/orders", "", nil, nil)
	c.wantError(st, raw, http.StatusNotFound, wire.CodeUnknownTopic)
	st, raw = c.do("POST", "/v1/topics/orders/records", wire.MediaTypeJSON, []byte(`{"records":[{"value":"x"}]}`), nil)
	c.wantError(st, raw, http.StatusNotFound, wire.CodeUnknownTopic)
}

func TestProduceFetchJSONAndBinary(t *testing.T) {
	c := startAPI(t, 0)
	c.createTopic("t", 4, nil)

	var pr wire.ProduceResponse
	st, raw := c.do("POST", "/v1/topics/t/records?acks=1", wire.MediaTypeJSON,
		[]byte(`{"records":[{"key":"user-1","value":"hello","headers":[{"key":"h","value":"AP8=","encoding":"base64"}]},{"key":"AP8=","value":"3q2+7w==","encoding":"base64"}]}`), &pr)
	if st != 200 || len(pr.Results) != 2 {
		t.Fatalf("JSON produce: %d %s", st, raw)
	}
	if want := partitioner.HashPartition([]byte("user-1"), 4); pr.Results[0].Partition != want {
		t.Fatalf("user-1 went to %d, murmur2 says %d", pr.Results[0].Partition, want)
	}

	recs := make([]wire.Record, 100)
	for i := range recs {
		recs[i] = wire.Record{Key: []byte("user-1"), Value: fmt.Appendf(nil, "bin-%d", i)}
	}
	req, _ := http.NewRequest("POST", c.url+"/v1/topics/t/records", bytes.NewReader(wire.AppendRecords(nil, recs)))
	req.Header.Set("Content-Type", wire.MediaTypeRecords)
	req.Header.Set("Accept", wire.MediaTypeResults)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	results, err := wire.DecodeProduceResults(body)
	if err != nil || resp.StatusCode != 200 || len(results) != 100 {
		t.Fatalf("binary produce: %d %v %d results", resp.StatusCode, err, len(results))
	}
	p := results[0].Partition
	for i, r := range results {
		if r.Error != nil || r.Partition != p || r.Offset != int64(i+1) {
			t.Fatalf("result %d: %+v (want partition %d offset %d)", i, r, p, i+1)
		}
	}

	var fr wire.FetchResponse
	path := fmt.Sprintf("/v1/topics/t/partitions/%d/records?offset=0", p)
	if st, raw := c.do("GET", path, "", nil, &fr); st != 200 || len(fr.Records) != 101 || fr.NextOffset != 101 || fr.HighWatermark != 101 {
		t.Fatalf("JSON fetch: %d %.300s", st, raw)
	}
	if *fr.Records[0].Key != "user-1" || fr.Records[0].Value != "hello" || fr.Records[0].Headers[0].Encoding != "base64" || fr.Records[100].Value != "bin-99" {
		t.Fatalf("fetched %+v ... %+v", fr.Records[0], fr.Records[100])
	}
	st, raw = c.do("GET", path+"&format=binary&max_bytes=1", "", nil, nil)
	fb, err := wire.DecodeFetchBatch(raw)
	if st != 200 || err != nil || len(fb.Records) == 0 || fb.Records[0].Offset != 0 {
		t.Fatalf("binary fetch: %d %v %+v", st, err, fb)
	}
	var off wire.OffsetResponse
	if st, raw := c.do("GET", fmt.Sprintf("/v1/topics/t/partitions/%d/offsets?at=latest", p), "", nil, &off); st != 200 || off.Offset != 101 {
		t.Fatalf("offsets latest: %d %s", st, raw)
	}
	// acks=0 answers 202 with no results.
	st, raw = c.do("POST", "/v1/topics/t/records?acks=0", "", []byte(`{"records":[{"value":"fire and forget"}]}`), &pr)
	if st != http.StatusAccepted || len(pr.Results) != 0 {
		t.Fatalf("acks=0: %d %s", st, raw)
	}
}

func TestBadInputGetsClearErrorsAndWritesNothing(t *testing.T) {
	c := startAPI(t, 64<<10)
	c.createTopic("t", 2, map[string]string{"max.message.bytes": "1000"})
	st, raw := c.do("POST", "/v1/topics/t/records", "", []byte(`{"records":[{"key":"a","value":"kept"}]}`), nil)
	if st != 200 {
		t.Fatalf("first produce: %d %s", st, raw)
	}
	big := strings.Repeat("x", 1001)
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		code                            wire.Code
	}{
		{"malformed JSON", "POST", "/v1/topics/t/records", "", `{"records":[{"value":`, 400, wire.CodeInvalidRequest},
		{"bad base64", "POST", "/v1/topics/t/records", "", `{"records":[{"value":"ok"},{"value":"!!","encoding":"base64"}]}`, 400, wire.CodeInvalidRequest},
		{"record over max.message.bytes", "POST", "/v1/topics/t/records", "", `{"records":[{"value":"ok"},{"value":"` + big + `"}]}`, 413, wire.CodeRecordTooLarge},
		{"body over the request limit", "POST", "/v1/topics/t/records", "", `{"records":[{"value":"` + strings.Repeat("y", 70<<10) + `"}]}`, 413, wire.CodeRecordTooLarge},
		{"malformed binary", "POST", "/v1/topics/t/records", wire.MediaTypeRecords, "\x01\x05\x00", 400, wire.CodeInvalidRequest},
		{"unsupported media type", "POST", "/v1/topics/t/records", "application/xml", "<r/>", 400, wire.CodeInvalidRequest},
		{"bad acks", "POST", "/v1/topics/t/records?acks=2", "", `{"records":[{"value":"x"}]}`, 400, wire.CodeInvalidRequest},
		{"unknown topic", "POST", "/v1/topics/nope/records", "", `{"records":[{"value":"x"}]}`, 404, wire.CodeUnknownTopic},
		{"unknown partition", "GET", "/v1/topics/t/partitions/2/records?offset=0", "", "", 404, wire.CodeUnknownPartition},
		{"negative partition", "GET", "/v1/topics/t/partitions/-1/records?offset=0", "", "", 404, wire.CodeUnknownPartition},
		{"missing offset", "GET", "/v1/topics/t/partitions/0/records", "", "", 400, wire.CodeInvalidRequest},
		{"no such route", "GET", "/v1/nothing", "", "", 404, wire.CodeNotFound},
		{"wrong method", "PUT", "/v1/topics/t", "", "", 405, wire.CodeMethodNotAllowed},
	}
	for _, tc := range cases {
		st, raw := c.do(tc.method, tc.path, tc.ctype, []byte(tc.body), nil)
		e := c.wantError(st, raw, tc.status, tc.code)
		if tc.name == "record over max.message.bytes" && (e.Details == nil || e.Details.Index == nil || *e.Details.Index != 1) {
			t.Errorf("%s: details %+v, want index 1", tc.name, e.Details)
		}
	}
	st, raw = c.do("GET", "/v1/topics/t/partitions/0/records?offset=99", "", nil, nil)
	e := c.wantError(st, raw, 416, wire.CodeOffsetOutOfRange)
	if e.Details == nil || e.Details.LogEnd == nil || e.Details.LogStart == nil {
		t.Fatalf("offset_out_of_range without the range: %+v", e.Details)
	}
	total := 0
	for p := range 2 {
		var fr wire.FetchResponse
		c.do("GET", fmt.Sprintf("/v1/topics/t/partitions/%d/records?offset=0", p), "", nil, &fr)
		total += len(fr.Records)
	}
	if total != 1 {
		t.Fatalf("%d records after the failed requests, want only the first one", total)
	}
}

func TestLongPollFetchWakesOnProduce(t *testing.T) {
	c := startAPI(t, 0)
	c.createTopic("lp", 1, nil)
	type answer struct {
		st int
		fr wire.FetchResponse
	}
	done := make(chan answer, 1)
	start := time.Now()
	go func() {
		var a answer
		a.st, _ = c.do("GET", "/v1/topics/lp/partitions/0/records?offset=0&max_wait_ms=20000", "", nil, &a.fr)
		done <- a
	}()
	select {
	case a := <-done:
		t.Fatalf("long-poll answered before any produce: %+v", a)
	case <-time.After(100 * time.Millisecond):
	}
	if st, raw := c.do("POST", "/v1/topics/lp/records", "", []byte(`{"records":[{"value":"ping"}]}`), nil); st != 200 {
		t.Fatalf("produce: %d %s", st, raw)
	}
	a := <-done
	if a.st != 200 || len(a.fr.Records) != 1 || a.fr.Records[0].Value != "ping" {
		t.Fatalf("long-poll answer %d %+v", a.st, a.fr)
	}
	t.Logf("long-poll answered %v after it started", time.Since(start))
}

func TestMetricsAndHealth(t *testing.T) {
	c := startAPI(t, 0)
	c.createTopic("m", 2, nil)
	c.do("POST", "/v1/topics/m/records", "", []byte(`{"records":[{"value":"a"},{"value":"b"},{"value":"c"}]}`), nil)
	var h wire.Health
	if st, _ := c.do("GET", "/healthz", "", nil, &h); st != 200 || h.Status != "ok" || h.NodeID != 1 {
		t.Fatalf("healthz: %d %+v", st, h)
	}
	var cl wire.Cluster
	if st, _ := c.do("GET", "/v1/cluster", "", nil, &cl); st != 200 || len(cl.Brokers) != 1 || cl.MetadataVersion == 0 {
		t.Fatalf("cluster: %d %+v", st, cl)
	}
	_, raw := c.do("GET", "/metrics", "", nil, nil)
	for _, want := range []string{
		`sluice_produce_records_total{topic="m"} 3`,
		`sluice_partition_high_watermark{partition="0",topic="m"}`,
		`sluice_partition_replicas{role="leader"} 2`,
		`sluice_http_request_duration_seconds_bucket{route="POST /v1/topics/{topic}/records"`,
	} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestAcksAllWithTooSmallISRIsRefused(t *testing.T) {
	ctl := newMemController(t)
	propose := func(cmd meta.Command) {
		t.Helper()
		if _, err := ctl.Propose(context.Background(), cmd); err != nil {
			t.Fatal(err)
		}
	}
	propose(meta.Command{Op: meta.OpRegisterBroker, RegisterBroker: &meta.RegisterBroker{Broker: meta.Broker{ID: 2, HTTPAddr: "http://127.0.0.1:2"}}})
	propose(meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{Name: "safe", Partitions: 1, ReplicationFactor: 2,
		Config: map[string]string{"min.insync.replicas": "2"}}})
	tp, _ := ctl.Metadata().Topic("safe")
	if tp.Partitions[0].Leader != 1 {
		t.Fatalf("node 1 does not lead safe-0: %+v", tp.Partitions[0])
	}
	// Broker 2 fails: the ISR shrinks to {1}, below min.insync.replicas.
	propose(meta.Command{Op: meta.OpFenceBroker, FenceBroker: &meta.FenceBroker{ID: 2}})

	b, err := broker.Start(context.Background(), broker.Config{NodeID: 1, DataDir: t.TempDir(), Metadata: ctl, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv, err := New(Config{NodeID: 1, Broker: b, Admin: ctl, Metadata: ctl.Metadata})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c := &apiClient{t: t, url: hs.URL}

	st, raw := c.do("POST", "/v1/topics/safe/records?acks=all", "", []byte(`{"records":[{"value":"must not be written"}]}`), nil)
	c.wantError(st, raw, http.StatusServiceUnavailable, wire.CodeNotEnoughReplicas)
	// acks=1 does not need the ISR.
	if st, raw := c.do("POST", "/v1/topics/safe/records?acks=1", "", []byte(`{"records":[{"value":"ok"}]}`), nil); st != 200 {
		t.Fatalf("acks=1: %d %s", st, raw)
	}
	var fr wire.FetchResponse
	c.do("GET", "/v1/topics/safe/partitions/0/records?offset=0", "", nil, &fr)
	if len(fr.Records) != 1 || fr.Records[0].Value != "ok" || fr.LogEnd != 1 {
		t.Fatalf("log after the refused produce: %+v", fr)
	}
}

// quiet discards the logs of brokers under test.
var quiet = slog.New(slog.DiscardHandler)
