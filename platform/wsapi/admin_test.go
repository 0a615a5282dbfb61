package wsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// next reads frames until one of type typ, decoding it into v.
func next(t *testing.T, ws *websocket.Conn, typ string, v any) {
	t.Helper()
	for {
		m := readJSON(t, ws)
		if m["type"] == typ {
			b, _ := json.Marshal(m)
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatal(err)
			}
			return
		}
		if m["type"] == wire.WSError {
			t.Fatalf("error frame while waiting for %s: %v", typ, m)
		}
	}
}

func gen(g int32) *int32 { return &g }

func TestFencedCommitRefused(t *testing.T) {
	e := startEnv(t, nil)
	e.createTopic(t, "f", 2)
	a := e.dial(t, "/v1/topics/f/consume?group=fg&from=earliest")
	var aw wire.WSWelcomeMsg
	next(t, a, wire.WSWelcome, &aw)
	var as wire.WSAssignedMsg
	next(t, a, wire.WSAssigned, &as)
	if len(as.Partitions) != 2 {
		t.Fatalf("a assigned %+v", as)
	}
	commit := func(ws *websocket.Conn, id string, g *int32, p int32, off int64) wire.WSCommittedMsg {
		t.Helper()
		ws.WriteJSON(wire.WSCommitMsg{Type: wire.WSCommit, ID: id, Generation: g, Offsets: []wire.WSOffset{{Partition: p, Offset: off}}})
		var c wire.WSCommittedMsg
		next(t, ws, wire.WSCommitted, &c)
		if c.ID != id {
			t.Fatalf("committed answers %q, want %q", c.ID, id)
		}
		return c
	}
	if c := commit(a, "1", gen(as.Generation), 1, 0); c.Error != nil {
		t.Fatalf("commit by the owner: %+v", c.Error)
	}
	if c := commit(a, "2", gen(as.Generation+5), 1, 0); c.Error == nil || c.Error.Code != wire.CodeFencedGeneration {
		t.Fatalf("commit with a generation never given: %+v", c)
	}

	// b joins: a must give one partition up.
	b := e.dial(t, "/v1/topics/f/consume?group=fg&from=earliest")
	next(t, b, wire.WSWelcome, &wire.WSWelcomeMsg{})
	var rv wire.WSRevokedMsg
	next(t, a, wire.WSRevoked, &rv)
	if len(rv.Partitions) != 1 || rv.Generation <= as.Generation {
		t.Fatalf("revoked = %+v", rv)
	}
	p := rv.Partitions[0]
	// Before acknowledging, a may still commit the partition.
	if c := commit(a, "3", gen(rv.Generation), p, 0); c.Error != nil {
		t.Fatalf("commit before acknowledging the revocation: %+v", c.Error)
	}
	a.WriteJSON(wire.WSRevokeAckMsg{Type: wire.WSRevokeAck, Partitions: rv.Partitions})
	var bs wire.WSAssignedMsg
	next(t, b, wire.WSAssigned, &bs)
	if len(bs.Partitions) != 1 || bs.Partitions[0].Partition != p {
		t.Fatalf("b assigned %+v, want partition %d", bs, p)
	}
	// Now a is fenced off the partition, whatever generation it claims.
	for _, g := range []*int32{nil, gen(as.Generation), gen(rv.Generation)} {
		if c := commit(a, "4", g, p, 0); c.Error == nil || c.Error.Code != wire.CodeFencedGeneration {
			t.Fatalf("commit of a released partition (generation %v): %+v", g, c)
		}
	}
	if c := commit(b, "5", nil, p, 0); c.Error != nil {
		t.Fatalf("commit by the new owner: %+v", c.Error)
	}
	// A commit without a group is refused, not fatal.
	solo := e.dial(t, "/v1/topics/f/consume")
	next(t, solo, wire.WSWelcome, &wire.WSWelcomeMsg{})
	if c := commit(solo, "6", nil, 0, 0); c.Error == nil || c.Error.Code != wire.CodeInvalidRequest {
		t.Fatalf("commit without a group: %+v", c)
	}
}

func TestOffsetsSurviveRestartAndReset(t *testing.T) {
	e := startEnv(t, nil)
	e.createTopic(t, "r", 2)
	e.produce(t, "r", "x", 100)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	c, err := e.cl.ConsumeWS(ctx, client.WSConsumerConfig{Topic: "r", Group: "rg", From: "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for got < 100 {
		b, err := c.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got += len(b.Records)
	}
	if err := c.Commit(ctx, c.Generation(), map[int32]int64{0: 30, 1: 20}); err != nil {
		t.Fatal(err)
	}
	// Reset is refused while the member is connected.
	if _, err := e.cl.ResetGroupOffsets(ctx, "rg", wire.ResetOffsetsRequest{Topic: "r", To: "earliest"}); !errors.Is(err, client.ErrGroupNotEmpty) {
		t.Fatalf("reset with a member: %v", err)
	}
	if err := e.cl.DeleteGroup(ctx, "rg"); !errors.Is(err, client.ErrGroupNotEmpty) {
		t.Fatalf("delete with a member: %v", err)
	}
	c.Close()

	e.restart(t)
	d, err := e.cl.DescribeGroup(ctx, "rg")
	if err != nil {
		t.Fatal(err)
	}
	if d.State != "empty" || len(d.Offsets) != 2 || d.Offsets[0].Committed != 30 || d.Offsets[1].Committed != 20 ||
		d.Offsets[0].Lag != 20 || d.Offsets[1].Lag != 30 {
		t.Fatalf("after restart: %+v", d)
	}
	// A new member starts from the committed offsets.
	var starts []wire.WSPartitionStart
	c2, err := e.cl.ConsumeWS(ctx, client.WSConsumerConfig{Topic: "r", Group: "rg", From: "latest",
		OnAssigned: func(_ int32, ps []wire.WSPartitionStart) { starts = append(starts, ps...) }})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c2.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int64{0: 30, 1: 20}
	if len(starts) != 2 || starts[0].Offset != want[starts[0].Partition] || starts[1].Offset != want[starts[1].Partition] {
		t.Fatalf("starts = %+v, want %v", starts, want)
	}
	if b.Records[0].Offset != want[b.Partition] {
		t.Fatalf("first record %d of partition %d, want %d", b.Records[0].Offset, b.Partition, want[b.Partition])
	}
	c2.Close()

	// Reset works on the empty group.
	eventually(t, 10*time.Second, "the group is empty", func() bool {
		d, err := e.cl.DescribeGroup(ctx, "rg")
		return err == nil && len(d.Members) == 0
	})
	offs, err := e.cl.ResetGroupOffsets(ctx, "rg", wire.ResetOffsetsRequest{Topic: "r", To: "earliest"})
	if err != nil || len(offs) != 2 || offs[0].Committed != 0 || offs[1].Committed != 0 {
		t.Fatalf("reset to earliest = %+v, %v", offs, err)
	}
	offs, err = e.cl.ResetGroupOffsets(ctx, "rg", wire.ResetOffsetsRequest{Topic: "r", To: "latest", Partitions: []int32{1}})
	if err != nil || len(offs) != 1 || offs[0].Committed != 50 {
		t.Fatalf("reset partition 1 to latest = %+v, %v", offs, err)
	}
	if _, err := e.cl.ResetGroupOffsets(ctx, "rg", wire.ResetOffsetsRequest{Topic: "r", To: "sometime"}); !errors.Is(err, client.ErrInvalidRequest) {
		t.Fatalf("reset to garbage: %v", err)
	}
	if _, err := e.cl.ResetGroupOffsets(ctx, "rg", wire.ResetOffsetsRequest{Topic: "nope", To: "earliest"}); !errors.Is(err, client.ErrUnknownTopic) {
		t.Fatalf("reset of an unknown topic: %v", err)
	}
	list, err := e.cl.ListGroups(ctx)
	if err != nil || len(list) != 1 || list[0].Group != "rg" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if err := e.cl.DeleteGroup(ctx, "rg"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cl.DescribeGroup(ctx, "rg"); !errors.Is(err, client.ErrUnknownGroup) {
		t.Fatalf("describe after delete: %v", err)
	}
	e.restart(t)
	if list, err := e.cl.ListGroups(ctx); err != nil || len(list) != 0 {
		t.Fatalf("groups after delete and restart: %+v, %v", list, err)
	}
}
