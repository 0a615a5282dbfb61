package platform_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// forwardPOSTs is how many RouteForwardProduce requests n has answered,
// whatever their status.
func forwardPOSTs(t *testing.T, n *testnode.Node) float64 {
	var sum float64
	for k, v := range scrape(t, n.URL()) {
		if strings.HasPrefix(k, "sluice_http_requests_total{") && strings.Contains(k, `route="POST /internal/v1/topics/{topic}/partitions/{partition}/records"`) {
			sum += v
		}
	}
	return sum
}

// TestForwardedProduceOverStream: records sent to a node that does not
// lead their partition reach the leader over the produce stream (binary
// frames on one persistent cluster connection, no POST per batch) on real
// nodes with mTLS: acks=all answers once the records are replicated; an
// idempotent producer retrying through the non-leader is answered with
// the original offsets and its records are stored once; the leader's
// refusals (a request overlapping a written one) come back with the code the leader
// answers directly.
func TestForwardedProduceOverStream(t *testing.T) {
	nodes := []*testnode.Node{testnode.Start(t)}
	nodes = append(nodes, testnode.Join(t, nodes[0], 2, nil), testnode.Join(t, nodes[0], 3, nil))
	createReplicated(t, "fwd", nodes...)
	p, _ := partitionMeta(nodes[0], "fwd")
	leader := nodes[int(p.Leader)-1]
	var entry *testnode.Node
	for _, n := range nodes {
		if n != leader {
			entry = n
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), replicationWait)
	defer cancel()
	via, err := client.New(entry.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer via.Close()
	direct, err := client.New(leader.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	recs := func(from, n int) []client.Record {
		out := make([]client.Record, n)
		for i := range out {
			out[i] = client.Record{Key: fmt.Appendf(nil, "k%d", from+i), Value: fmt.Appendf(nil, "v%d", from+i)}
		}
		return out
	}

	// acks=all through the non-leader, several requests.
	for i := range 5 {
		res, err := via.Produce(ctx, "fwd", recs(10*i, 10), client.ProduceOptions{Acks: client.AcksAll})
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range res {
			if r.Err != nil || r.Offset != int64(10*i+j) {
				t.Fatalf("request %d record %d: %+v", i, j, r)
			}
		}
	}
	replicasEqual(t, "fwd", 50, nodes...)
	if n := forwardPOSTs(t, leader); n != 0 {
		t.Fatalf("the leader answered %v forward POSTs; want every forward on the produce stream", n)
	}

	// An idempotent producer through the non-leader, and its retry.
	id := &client.Idempotent{ProducerID: client.NewProducerID(), Sequence: 0}
	first, err := via.Produce(ctx, "fwd", recs(50, 10), client.ProduceOptions{Idempotent: id})
	if err != nil {
		t.Fatal(err)
	}
	again, err := via.Produce(ctx, "fwd", recs(50, 10), client.ProduceOptions{Idempotent: id})
	if err != nil {
		t.Fatal(err)
	}
	for i := range first {
		if first[i].Err != nil || first[i].Offset != int64(50+i) || again[i] != first[i] {
			t.Fatalf("record %d: first %+v, retry %+v; want offset %d both times", i, first[i], again[i], 50+i)
		}
	}
	if end, err := direct.Offset(ctx, "fwd", 0, wire.AtLatest); err != nil || end != 60 {
		t.Fatalf("log end %d, %v; want 60 (the retry stored nothing)", end, err)
	}

	// A request overlapping a written one (sequences 5..6 of 0..9): the
	// leader refuses it, directly and forwarded alike.
	gap := &client.Idempotent{ProducerID: id.ProducerID, Sequence: 5}
	codeOf := func(c *client.Client) string {
		res, err := c.Produce(ctx, "fwd", recs(60, 2), client.ProduceOptions{Idempotent: gap})
		if err == nil {
			if err = res[0].Err; err == nil {
				t.Fatalf("an overlapping request was accepted: %+v", res)
			}
		}
		var ae *client.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("overlapping request: %v is not an API error", err)
		}
		return string(ae.Code)
	}
	d, f := codeOf(direct), codeOf(via)
	if d != string(wire.CodeOutOfOrderSequence) || f != d {
		t.Fatalf("overlapping request: leader answered %q, the non-leader %q; want both %q", d, f, wire.CodeOutOfOrderSequence)
	}
	if n := forwardPOSTs(t, leader); n != 0 {
		t.Fatalf("the leader answered %v forward POSTs", n)
	}
}
