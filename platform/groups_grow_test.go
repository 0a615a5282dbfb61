package platform_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// TestGroupTopicGainsPartitions: a WebSocket group member (starting at
// latest) of a topic that grows from 2 to 4 partitions while it is
// connected is assigned the new partitions without rejoining, and receives
// every keyed record produced after the growth, also those written to a
// new partition before the rebalance reached the member (a new partition
// starts at its log start).
func TestGroupTopicGainsPartitions(t *testing.T) {
	n := testnode.Start(t)
	cl, err := client.New(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := cl.CreateTopic(ctx, wire.CreateTopicRequest{Name: "grow", Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	ws, err := cl.ConsumeWS(ctx, client.WSConsumerConfig{Topic: "grow", Group: "gg", From: "latest"})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	poll := func() *client.WSBatch {
		pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer pcancel()
		b, err := ws.Poll(pctx)
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		if ctx.Err() != nil {
			t.Fatalf("timed out; assignment %v", ws.Assignment())
		}
		return b
	}
	for len(ws.Assignment()) != 2 {
		poll()
	}
	if _, err := cl.CreatePartitions(ctx, "grow", 4); err != nil {
		t.Fatal(err)
	}
	const total = 40
	var recs []client.Record
	for i := range total {
		recs = append(recs, client.Record{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i)})
	}
	res, err := cl.Produce(ctx, "grow", recs, client.ProduceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	onNew := 0
	for _, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		if r.Partition >= 2 {
			onNew++
		}
	}
	if onNew == 0 {
		t.Fatalf("no key of %d went to a new partition: %+v", total, res)
	}
	seen := map[string]int32{}
	for len(seen) < total {
		if b := poll(); b != nil {
			for _, r := range b.Records {
				seen[string(r.Value)] = b.Partition
			}
		}
	}
	if a := ws.Assignment(); len(a) != 4 {
		t.Errorf("assignment %v, want 4 partitions", a)
	}
	for i, r := range res {
		if p := seen[fmt.Sprintf("v%d", i)]; p != r.Partition {
			t.Errorf("record %d arrived from partition %d, produced to %d", i, p, r.Partition)
		}
	}
	t.Logf("%d of %d records on the new partitions", onNew, total)
}
