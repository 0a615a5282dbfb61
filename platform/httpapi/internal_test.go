package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

func TestInternalRoutesThroughPeer(t *testing.T) {
	ctl := newMemController(t)
	b, err := broker.Start(context.Background(), broker.Config{NodeID: 1, DataDir: t.TempDir(), Metadata: ctl, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv, err := New(Config{NodeID: 1, Broker: b, Controller: ctl, Metadata: ctl.Metadata})
	if err != nil {
		t.Fatal(err)
	}
	// The internal routes live on the cluster handler only (insecure: the
	// caller names itself in clusternet.NodeHeader, which Peer sends).
	hs := httptest.NewServer(srv.ClusterHandler(true))
	defer hs.Close()
	defer http.DefaultClient.CloseIdleConnections()
	peer := &Peer{NodeID: 1}
	defer peer.Close() // its produce stream to the server
	ctx := context.Background()

	// Propose through the internal route; a refused command comes back
	// with its API code.
	res, err := peer.Propose(ctx, hs.URL, meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{Name: "f", Partitions: 2}})
	if err != nil || res.Topic == nil || res.Version == 0 {
		t.Fatalf("propose: %+v %v", res, err)
	}
	_, err = peer.Propose(ctx, hs.URL, meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{Name: "f", Partitions: 2}})
	if we, ok := err.(*wire.Error); !ok || we.Code != wire.CodeTopicExists {
		t.Fatalf("second create: %v, want topic_exists", err)
	}

	// The metadata long-poll: newer metadata at once, nothing (nil) when
	// nothing newer comes within the wait.
	c, err := peer.WatchMetadata(ctx, hs.URL, 0, MaxWatchWait)
	if err != nil || c == nil || c.Version != res.Version {
		t.Fatalf("watch after 0: %+v %v", c, err)
	}
	if _, ok := c.Topic("f"); !ok {
		t.Fatal("watched metadata lacks the topic")
	}
	c, err = peer.WatchMetadata(ctx, hs.URL, res.Version, 20*time.Millisecond)
	if err != nil || c != nil {
		t.Fatalf("watch with nothing new: %+v %v, want nil, nil", c, err)
	}

	// A forwarded batch lands on the named partition.
	if err := b.WaitForVersion(ctx, res.Version); err != nil {
		t.Fatal(err)
	}
	leader := &meta.Broker{ID: 1, ClusterAddr: hs.URL}
	recs := []record.Record{{Value: []byte("a")}, {Key: []byte("k"), Value: []byte("b")}}
	for want := int64(0); want < 4; want += 2 {
		base, err := peer.Forward(ctx, leader, "f", 1, recs, broker.AcksAll)
		if err != nil || base != want {
			t.Fatalf("forward: base %d %v, want %d", base, err, want)
		}
	}
	if _, err := peer.Forward(ctx, leader, "f", 5, recs, broker.AcksLeader); err == nil || toWire(err).Code != wire.CodeUnknownPartition {
		t.Fatalf("forward to partition 5 of 2: %v", err)
	}
	info, _ := b.PartitionInfo("f", 1)
	if info.HighWatermark != 4 {
		t.Fatalf("partition 1 HW %d after two forwarded batches, want 4", info.HighWatermark)
	}
	raw, _ := json.Marshal(info)
	t.Logf("partition 1: %s", raw)
}
