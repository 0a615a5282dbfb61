package e2e_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// losingTransport injects a fault: the first `lose` produce requests reach
// the node and are answered, but the answer is dropped, as if the
// connection broke after the node wrote the records.
type losingTransport struct {
	lose     int32
	produces atomic.Int32
	next     http.RoundTripper
}

func (rt *losingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rt.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodPost || rt.produces.Add(1) > rt.lose {
		return resp, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil, errors.New("injected fault: answer lost")
}

// TestIdempotentRetryAfterLostAnswer: the producer's first request is
// written but its answer is lost; the producer sends it again and the
// broker answers the original offsets: every record is stored once.
func TestIdempotentRetryAfterLostAnswer(t *testing.T) {
	n := testnode.Start(t)
	ctx := ctxT(t)
	admin, err := client.New(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	const parts, records = 3, 30
	if _, err := admin.CreateTopic(ctx, wire.CreateTopicRequest{Name: "idem", Partitions: parts}); err != nil {
		t.Fatal(err)
	}
	rt := &losingTransport{lose: 2, next: http.DefaultTransport}
	c, err := client.New(n.URL(), client.WithHTTPClient(&http.Client{Transport: rt}), client.WithRetryBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	p := c.NewProducer(client.ProducerConfig{Linger: time.Hour, BatchRecords: records})
	futs := make([]*client.Future, records)
	for i := range futs {
		key := []byte(nil)
		if i%2 == 0 {
			key = []byte(fmt.Sprintf("k%d", i)) // keyed and keyless records both
		}
		if futs[i], err = p.Produce(ctx, "idem", client.Record{Key: key, Value: []byte(fmt.Sprintf("v%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[[2]int64]bool{}
	for i, f := range futs {
		r, err := f.Wait(ctx)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		at := [2]int64{int64(r.Partition), r.Offset}
		if seen[at] {
			t.Fatalf("record %d answered %v twice", i, at)
		}
		seen[at] = true
	}
	p.Close()
	if got := rt.produces.Load(); got != 3 {
		t.Errorf("%d produce attempts, want 3 (two answers lost)", got)
	}
	total := int64(0)
	for part := range int32(parts) {
		end, err := admin.Offset(ctx, "idem", part, wire.AtLatest)
		if err != nil {
			t.Fatal(err)
		}
		total += end
	}
	if total != records {
		t.Fatalf("%d records stored, want %d (each once)", total, records)
	}
}

// TestIdempotentRetryAcrossRestart: the producer state is rebuilt from
// the log: a retry of a batch written before the node restarted is
// answered with the original offsets.
func TestIdempotentRetryAcrossRestart(t *testing.T) {
	n := testnode.Start(t)
	ctx := ctxT(t)
	c, err := client.New(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CreateTopic(ctx, wire.CreateTopicRequest{Name: "r", Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	recs := []client.Record{{Value: []byte("a")}, {Value: []byte("b")}, {Key: []byte("k"), Value: []byte("c")}}
	id := &client.Idempotent{ProducerID: client.NewProducerID(), Sequence: 0}
	first, err := c.Produce(ctx, "r", recs, client.ProduceOptions{Idempotent: id})
	if err != nil {
		t.Fatal(err)
	}
	n.Restart(t)
	again, err := c.Produce(ctx, "r", recs, client.ProduceOptions{Idempotent: id})
	if err != nil {
		t.Fatal(err)
	}
	for i := range first {
		if first[i].Err != nil || again[i] != first[i] {
			t.Fatalf("record %d: first %+v, retry %+v", i, first[i], again[i])
		}
	}
	// A request overlapping a written one is refused, not written.
	res, err := c.Produce(ctx, "r", recs[:1], client.ProduceOptions{Idempotent: &client.Idempotent{ProducerID: id.ProducerID, Sequence: 1}})
	if err != nil || !errors.Is(res[0].Err, client.ErrOutOfOrderSequence) {
		t.Fatalf("overlapping request: %+v, %v", res, err)
	}
	total := int64(0)
	for part := range int32(2) {
		end, err := c.Offset(ctx, "r", part, wire.AtLatest)
		if err != nil {
			t.Fatal(err)
		}
		total += end
	}
	if total != int64(len(recs)) {
		t.Fatalf("%d records stored, want %d", total, len(recs))
	}
}
