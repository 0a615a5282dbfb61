package platform_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// TestIdempotentRetryAcrossLeaderChange: fault "the partition leader
// stops after it wrote and replicated a batch, before the producer got
// the answer"; guarantee "the producer's retry, answered by the new
// leader, is recognised as the same batch: its records are stored once,
// at their original offsets". The new leader knows the batch from the
// producer fields its replica copied byte for byte.
func TestIdempotentRetryAcrossLeaderChange(t *testing.T) {
	nodes := []*testnode.Node{testnode.Start(t)}
	nodes = append(nodes, testnode.Join(t, nodes[0], 2, nil), testnode.Join(t, nodes[0], 3, nil))
	byID := func(id int32) *testnode.Node { return nodes[id-1] }
	createReplicated(t, "idem", nodes...)
	p, _ := partitionMeta(nodes[0], "idem")
	old := byID(int32(p.Leader))
	var entry *testnode.Node // a surviving node the client talks to
	for _, n := range nodes {
		if n != old {
			entry = n
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), replicationWait)
	defer cancel()
	c, err := client.New(entry.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	recs := make([]client.Record, 10)
	for i := range recs {
		recs[i] = client.Record{Value: []byte(fmt.Sprintf("v%d", i))}
	}
	id := &client.Idempotent{ProducerID: client.NewProducerID(), Epoch: 0, Sequence: 0}
	first, err := c.Produce(ctx, "idem", recs, client.ProduceOptions{Idempotent: id})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range first {
		if r.Err != nil || r.Offset != int64(i) {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	replicasEqual(t, "idem", 10, nodes...)

	old.Stop(t)
	eventually(t, "new leader elected", func() (bool, string) {
		np, ok := partitionMeta(entry, "idem")
		return ok && np.Leader != meta.NoLeader && np.Leader != p.Leader && np.LeaderEpoch > p.LeaderEpoch, fmt.Sprintf("%+v", np)
	})
	// The retry (the answer was "lost"): the client rides out the
	// failover's not_leader / unavailable answers by itself.
	again, err := c.Produce(ctx, "idem", recs, client.ProduceOptions{Idempotent: id})
	if err != nil {
		t.Fatal(err)
	}
	for i := range first {
		if again[i] != first[i] {
			t.Fatalf("record %d: retry answered %+v, first %+v", i, again[i], first[i])
		}
	}
	next, err := c.Produce(ctx, "idem", recs[:2], client.ProduceOptions{Idempotent: &client.Idempotent{ProducerID: id.ProducerID, Sequence: 10}})
	if err != nil || next[0].Err != nil || next[0].Offset != 10 || next[1].Offset != 11 {
		t.Fatalf("next batch: %+v, %v", next, err)
	}
	if end, err := c.Offset(ctx, "idem", 0, wire.AtLatest); err != nil || end != 12 {
		t.Fatalf("log end %d, %v; want 12 (each record once)", end, err)
	}
}
