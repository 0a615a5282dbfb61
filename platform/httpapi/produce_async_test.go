package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// heldForwarder stands in for the leader of partitions on broker 2: every
// forward waits until release is closed (a slow leader).
type heldForwarder struct {
	release chan struct{}
	calls   atomic.Int32
}

func (f *heldForwarder) Forward(ctx context.Context, _ *meta.Broker, _ string, _ int32, recs []record.Record, _ broker.Acks) (int64, error) {
	f.calls.Add(1)
	select {
	case <-f.release:
		return 0, nil
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// asyncAPI is startAPI that also returns the Server (to Close it) and
// takes a forwarder for partitions led by broker 2.
func asyncAPI(t *testing.T, fw broker.Forwarder) (*apiClient, *Server, *memController) {
	t.Helper()
	ctl := newMemController(t)
	b, err := broker.Start(context.Background(), broker.Config{NodeID: 1, DataDir: t.TempDir(), Metadata: ctl, Logger: quiet, Forwarder: fw})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{NodeID: 1, Broker: b, Admin: ctl, Metadata: ctl.Metadata, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close()
		b.Close()
	})
	return &apiClient{t: t, url: hs.URL}, srv, ctl
}

// TestAcksZeroAppendsInOrderAfterAnswering: acks=0 answers 202 with no
// results; the records are appended afterwards, in the order the requests
// were answered, and Close waits for them.
func TestAcksZeroAppendsInOrderAfterAnswering(t *testing.T) {
	c, srv, _ := asyncAPI(t, nil)
	c.createTopic("t", 1, nil)
	const n = 50
	for i := range n {
		st, raw := c.do("POST", "/v1/topics/t/records?acks=0", "", []byte(fmt.Sprintf(`{"records":[{"value":"v%d"}]}`, i)), nil)
		if st != http.StatusAccepted || strings.TrimSpace(string(raw)) != `{"results":[]}` {
			t.Fatalf("request %d: %d %s, want 202 {\"results\":[]}", i, st, raw)
		}
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	var fr wire.FetchResponse
	if st, raw := c.do("GET", "/v1/topics/t/partitions/0/records?offset=0", "", nil, &fr); st != http.StatusOK {
		t.Fatalf("fetch: %d %s", st, raw)
	}
	if len(fr.Records) != n {
		t.Fatalf("%d records after Close, want %d", len(fr.Records), n)
	}
	for i, r := range fr.Records {
		if want := fmt.Sprintf("v%d", i); r.Value != want {
			t.Fatalf("record %d is %q, want %q: acks=0 requests were reordered", i, r.Value, want)
		}
	}
	// After Close the node no longer takes acks=0 work.
	st, raw := c.do("POST", "/v1/topics/t/records?acks=0", "", []byte(`{"records":[{"value":"late"}]}`), nil)
	c.wantError(st, raw, http.StatusServiceUnavailable, wire.CodeNotLeader)
}

// TestAcksZeroAnswersBeforeTheAppend: with the partition leader stalled,
// an acks=0 produce is answered at once while the append is still
// waiting; invalid requests are still refused up front; a failure found
// during the append is not reported and writes nothing.
func TestAcksZeroAnswersBeforeTheAppend(t *testing.T) {
	fw := &heldForwarder{release: make(chan struct{})}
	c, srv, ctl := asyncAPI(t, fw)
	if _, err := ctl.Propose(context.Background(), meta.Command{Op: meta.OpRegisterBroker, RegisterBroker: &meta.RegisterBroker{
		Broker: meta.Broker{ID: 2, HTTPAddr: "http://127.0.0.1:2", Roles: []string{meta.RoleBroker}}}}); err != nil {
		t.Fatal(err)
	}
	tp := c.createTopic("spread", 2, map[string]string{"max.message.bytes": "100"})
	remote := int32(-1)
	for _, p := range tp.Partitions {
		if p.Leader == 2 {
			remote = p.Index
		}
	}
	if remote < 0 {
		t.Fatalf("no partition led by broker 2: %+v", tp.Partitions)
	}
	// Broker 2 never runs: were it a follower of the local partition, it
	// would hold that partition's high watermark (what a fetch sees) at 0.
	if r := tp.Partitions[1-remote].Replicas; len(r) != 1 || r[0] != 1 {
		t.Fatalf("local partition replicas %v, want [1] (replication factor 1)", r)
	}
	body, _ := json.Marshal(wire.ProduceRequest{Records: []wire.ProduceRecord{{Value: "a"}, {Value: "b"}}})
	done := make(chan int, 1)
	go func() {
		st, _ := c.do("POST", "/v1/topics/spread/records?acks=0", "", body, nil)
		done <- st
	}()
	select {
	case st := <-done:
		if st != http.StatusAccepted {
			t.Fatalf("acks=0: %d, want 202", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("acks=0 waited for the stalled leader")
	}
	deadline := time.Now().Add(10 * time.Second)
	for fw.calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if fw.calls.Load() == 0 {
		t.Fatal("the accepted records never reached the leader")
	}

	for _, tc := range []struct {
		path, body string
		status     int
		code       wire.Code
	}{
		{"/v1/topics/nope/records?acks=0", `{"records":[{"value":"x"}]}`, 404, wire.CodeUnknownTopic},
		{"/v1/topics/spread/records?acks=0", `{"records":[{"valu":"x"}]}`, 400, wire.CodeInvalidRequest},
		{"/v1/topics/spread/records?acks=0", `{"records":[{"value":"x","timestamp":-1}]}`, 400, wire.CodeInvalidRequest},
	} {
		st, raw := c.do("POST", tc.path, "", []byte(tc.body), nil)
		c.wantError(st, raw, tc.status, tc.code)
	}
	// Too large for the topic: accepted, then refused by the broker.
	st, raw := c.do("POST", "/v1/topics/spread/records?acks=0", "", []byte(`{"records":[{"value":"`+strings.Repeat("x", 200)+`"}]}`), nil)
	if st != http.StatusAccepted {
		t.Fatalf("oversized acks=0: %d %s", st, raw)
	}
	close(fw.release)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	local := 1 - remote
	var fr wire.FetchResponse
	if st, raw := c.do("GET", fmt.Sprintf("/v1/topics/spread/partitions/%d/records?offset=0", local), "", nil, &fr); st != http.StatusOK {
		t.Fatalf("fetch the local partition: %d %s", st, raw)
	}
	for _, r := range fr.Records {
		if len(r.Value) > 1 {
			t.Fatalf("the oversized record was written: %d bytes", len(r.Value))
		}
	}
	if len(fr.Records) != 1 {
		// Tell a lost append (log_end 0) from a held-back HW (log_end 1).
		var now wire.Topic
		c.do("GET", "/v1/topics/spread", "", nil, &now)
		t.Fatalf("%d records on the local partition, want the one of the accepted request; partition now %+v", len(fr.Records), now.Partitions[local])
	}
}

// TestCloneRecordsOwnsItsBytes: the background copy survives the request's
// buffer being reused.
func TestCloneRecordsOwnsItsBytes(t *testing.T) {
	buf := []byte("keyvaluehdr")
	recs := []record.Record{{Timestamp: 7, Key: buf[:3], Value: buf[3:8], Headers: []record.Header{{Key: "h", Value: buf[8:]}}}, {Value: []byte{}}}
	out := cloneRecords(recs)
	for i := range buf {
		buf[i] = 'X'
	}
	if string(out[0].Key) != "key" || string(out[0].Value) != "value" || string(out[0].Headers[0].Value) != "hdr" || out[0].Timestamp != 7 {
		t.Fatalf("clone changed with the source: %+v", out[0])
	}
	if out[1].Key != nil || out[1].Value == nil {
		t.Fatalf("nil key / empty value not kept: %+v", out[1])
	}
}
