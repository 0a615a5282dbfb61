package platform_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// TestCommitBeyondHighWatermarkRefused: a member's commit past the high
// watermark is refused with offset_out_of_range (before, it was stored
// and the group skipped the records written up to it); a commit at the
// high watermark is taken, and the next member's assigned frame names it.
func TestCommitBeyondHighWatermarkRefused(t *testing.T) {
	n := testnode.Start(t)
	cl, err := client.New(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := cl.CreateTopic(ctx, wire.CreateTopicRequest{Name: "c", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Produce(ctx, "c", []client.Record{{Value: []byte("a")}, {Value: []byte("b")}, {Value: []byte("c")}}, client.ProduceOptions{}); err != nil {
		t.Fatal(err)
	}
	join := func() (*client.WSConsumer, chan []wire.WSPartitionStart) {
		assigned := make(chan []wire.WSPartitionStart, 4)
		ws, err := cl.ConsumeWS(ctx, client.WSConsumerConfig{Topic: "c", Group: "cg", From: "earliest",
			OnAssigned: func(_ int32, ps []wire.WSPartitionStart) { assigned <- ps }})
		if err != nil {
			t.Fatal(err)
		}
		// Poll runs the assignment callback; it then waits for records,
		// which a member at the high watermark has none of: short polls.
		for len(ws.Assignment()) != 1 {
			pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
			_, err := ws.Poll(pctx)
			pcancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatal(err)
			}
			if ctx.Err() != nil {
				t.Fatal("no assignment")
			}
		}
		return ws, assigned
	}
	ws, _ := join()
	err = ws.Commit(ctx, ws.Generation(), map[int32]int64{0: 99})
	if !errors.Is(err, client.ErrOffsetOutOfRange) || !strings.Contains(err.Error(), "high watermark 3") {
		t.Fatalf("commit of 99 with a high watermark of 3: %v", err)
	}
	if err := ws.Commit(ctx, ws.Generation(), map[int32]int64{0: 3}); err != nil {
		t.Fatalf("commit at the high watermark: %v", err)
	}
	ws.Close()
	g, err := cl.DescribeGroup(ctx, "cg")
	if err != nil || len(g.Offsets) != 1 || g.Offsets[0].Committed != 3 {
		t.Fatalf("group after commits: %+v, %v", g, err)
	}
	ws2, assigned := join()
	defer ws2.Close()
	ps := <-assigned
	if len(ps) != 1 || ps[0].Offset != 3 {
		t.Errorf("assigned %+v, want partition 0 at 3", ps)
	}
}
