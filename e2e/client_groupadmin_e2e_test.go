package e2e_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// TestGroupAdmin commits an offset as a group member (WebSocket consumer),
// then lists, describes, resets and deletes the group through the admin
// calls.
func TestGroupAdmin(t *testing.T) {
	c := startNode(t)
	ctx := ctxT(t)
	if _, err := c.CreateTopic(ctx, wire.CreateTopicRequest{Name: "g", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Produce(ctx, "g", []client.Record{{Value: []byte("a")}, {Value: []byte("b")}, {Value: []byte("c")}}, client.ProduceOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.DescribeGroup(ctx, "billing")
	if !errors.Is(err, client.ErrUnknownGroup) {
		t.Fatalf("describe before any member: %v", err)
	}
	ws, err := c.ConsumeWS(ctx, client.WSConsumerConfig{Topic: "g", Group: "billing", From: "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	// Take records until two have arrived, commit offset 2, leave.
	var n int
	for n < 2 {
		b, err := ws.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(b.Records)
	}
	if err := ws.Commit(ctx, ws.Generation(), map[int32]int64{0: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ResetGroupOffsets(ctx, "billing", wire.ResetOffsetsRequest{Topic: "g", To: "earliest"}); !errors.Is(err, client.ErrGroupNotEmpty) {
		t.Errorf("reset with a member connected: %v", err)
	}
	if err := ws.Close(); err != nil {
		t.Fatal(err)
	}
	// The member leaves when the server sees the connection close.
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, err := c.DescribeGroup(ctx, "billing")
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Members) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("member still in the group after Close: %+v", g.Members)
		}
		time.Sleep(10 * time.Millisecond)
	}

	gs, err := c.ListGroups(ctx)
	if err != nil || len(gs) != 1 || gs[0].Group != "billing" {
		t.Fatalf("list groups: %+v, %v", gs, err)
	}
	g, err := c.DescribeGroup(ctx, "billing")
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Offsets) != 1 || g.Offsets[0].Committed != 2 || g.Offsets[0].LogEnd != 3 || g.Offsets[0].Lag != 1 {
		t.Errorf("offsets = %+v", g.Offsets)
	}
	offs, err := c.ResetGroupOffsets(ctx, "billing", wire.ResetOffsetsRequest{Topic: "g", To: "earliest"})
	if err != nil || len(offs) != 1 || offs[0].Committed != 0 {
		t.Fatalf("reset: %+v, %v", offs, err)
	}
	if err := c.DeleteGroup(ctx, "billing"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeGroup(ctx, "billing"); !errors.Is(err, client.ErrUnknownGroup) {
		t.Errorf("describe after delete: %v", err)
	}
}
