package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// ackDroppingConn injects a fault: while armed, the first read that
// carries a produce ack is thrown away and the connection is closed, as
// if it broke after the server wrote the batch and answered.
type ackDroppingConn struct {
	net.Conn
	armed *atomic.Bool
	tail  []byte // the end of the previous read: a marker may straddle reads
}

var ackMarker = []byte(`"type":"ack"`)

func (c *ackDroppingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	window := append(c.tail, b[:n]...)
	c.tail = append(c.tail[:0], window[max(0, len(window)-len(ackMarker)):]...)
	if n > 0 && bytes.Contains(window, ackMarker) && c.armed.CompareAndSwap(true, false) {
		c.Conn.Close()
		return 0, errors.New("injected fault: connection lost with the ack")
	}
	return n, err
}

// TestWSIdempotentResendAfterLostConnection: the connection breaks with
// the answer to a written batch; the producer reconnects, sends the batch
// again, and the broker answers the original offsets: stored once.
func TestWSIdempotentResendAfterLostConnection(t *testing.T) {
	n := testnode.Start(t)
	ctx := ctxT(t)
	c, err := client.New(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CreateTopic(ctx, wire.CreateTopicRequest{Name: "ws", Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	var armed atomic.Bool
	var dials atomic.Int32
	d := &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &ackDroppingConn{Conn: conn, armed: &armed}, nil
	}}
	pr, err := c.ProduceWS(ctx, client.WSProducerConfig{Topic: "ws", Dialer: d})
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	batch := func(tag string) []wire.Record {
		recs := make([]wire.Record, 5)
		for i := range recs {
			recs[i] = wire.Record{Value: []byte(fmt.Sprintf("%s-%d", tag, i))}
		}
		return recs
	}
	if _, err := pr.Send(ctx, batch("before")); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	res, err := pr.Send(ctx, batch("lost-ack"))
	if err != nil {
		t.Fatal(err)
	}
	if armed.Load() || dials.Load() != 2 {
		t.Fatalf("fault not injected: armed %v, %d dials", armed.Load(), dials.Load())
	}
	seen := map[[2]int64]bool{}
	for i, r := range res {
		if r.Error != nil || seen[[2]int64{int64(r.Partition), r.Offset}] {
			t.Fatalf("record %d: %+v", i, r)
		}
		seen[[2]int64{int64(r.Partition), r.Offset}] = true
	}
	if _, err := pr.Send(ctx, batch("after")); err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	for part := range int32(2) {
		end, err := c.Offset(ctx, "ws", part, wire.AtLatest)
		if err != nil {
			t.Fatal(err)
		}
		total += end
	}
	if total != 15 {
		t.Fatalf("%d records stored, want 15 (each once)", total)
	}
}

// TestWSProducerRidesOutRestart: the node restarts under an idempotent
// WebSocket producer; the producer reconnects (through the node's start,
// when it may not know the topic yet) and goes on.
func TestWSProducerRidesOutRestart(t *testing.T) {
	n := testnode.Start(t)
	ctx := ctxT(t)
	c, err := client.New(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CreateTopic(ctx, wire.CreateTopicRequest{Name: "wr", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	pr, err := c.ProduceWS(ctx, client.WSProducerConfig{Topic: "wr"})
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	if _, err := pr.Send(ctx, []wire.Record{{Value: []byte("before")}}); err != nil {
		t.Fatal(err)
	}
	n.Restart(t)
	res, err := pr.Send(ctx, []wire.Record{{Value: []byte("after")}})
	if err != nil || res[0].Error != nil || res[0].Offset != 1 {
		t.Fatalf("after the restart: %+v, %v", res, err)
	}
	if end, err := c.Offset(ctx, "wr", 0, wire.AtLatest); err != nil || end != 2 {
		t.Fatalf("log end %d, %v; want 2", end, err)
	}
}
