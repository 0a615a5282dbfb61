package platform_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/httpapi"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/replwire"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// TestForgedReplicaStreamIsRefused is TestForgedReplicaFetchIsRefused on
// the replication stream: the leader counts a stream's fetches and
// positions only as the stream's verified caller. Node 3's certificate
// fetching or reporting positions as node 2 ends the stream with a
// forbidden error and leaves the HW where it was; node 3 fetching as
// itself gets the partition's error. With node 2's own certificate, a
// positions frame and then a fetch move the HW, each to the offset it
// claims.
func TestForgedReplicaStreamIsRefused(t *testing.T) {
	slowShrink := testnode.WithConfig(func(c *platform.Config) { c.Timing.ReplicaLagMax = time.Hour })
	n1 := testnode.Start(t, slowShrink)
	secondBroker(t, n1)
	a1 := api{t, n1.URL()}
	a1.json("POST", "/v1/topics", wire.CreateTopicRequest{Name: "f", Partitions: 2, ReplicationFactor: 2}, nil)
	var p meta.Partition
	eventually(t, "a partition led by node 1 on its broker", func() (bool, string) {
		tp, ok := n1.Broker().Cluster().Topic("f")
		if !ok {
			return false, "no topic"
		}
		for _, q := range tp.Partitions {
			if q.Leader == 1 {
				p = q
				return true, ""
			}
		}
		return false, "no partition led by node 1"
	})
	ctx := context.Background()
	if _, err := n1.Broker().ProducePartition(ctx, "f", p.Index, []record.Record{{Value: []byte("a")}, {Value: []byte("b")}}, broker.AcksLeader, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	hw := func() int64 {
		info, err := n1.Broker().PartitionInfo("f", p.Index)
		if err != nil {
			t.Fatal(err)
		}
		return info.HighWatermark
	}
	if got := hw(); got != 0 {
		t.Fatalf("HW %d before node 2 fetched, want 0 (node 2 is in the ISR)", got)
	}
	leader := &meta.Broker{ID: 1, ClusterAddr: n1.ClusterURL()}
	ca := testCA(t)
	open := func(certID, as int32) broker.ReplicaStream {
		c := clientWith(t, ca, issueNode(t, ca, certID))
		c.Timeout = 0 // a client timeout wraps the upgraded body, which then cannot be written
		peer := &httpapi.Peer{HTTP: c, NodeID: as}
		st, err := peer.OpenReplicaStream(ctx, leader)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	fetch := func(as int32, acked int64) *broker.ReplicaFetchRequest {
		return &broker.ReplicaFetchRequest{ReplicaID: as, MaxBytes: 1 << 20, Partitions: []broker.ReplicaFetchPartition{{
			Topic: "f", Partition: p.Index, LeaderEpoch: p.LeaderEpoch, FetchOffset: 2, AckedOffset: acked, EpochQuery: -1}}}
	}
	position := []broker.ReplicaPosition{{Topic: "f", Partition: p.Index, LeaderEpoch: p.LeaderEpoch, Offset: 2}}
	refused := func(what string, st broker.ReplicaStream) {
		t.Helper()
		_, err := st.Recv(10 * time.Second)
		if err == nil || !strings.Contains(err.Error(), "forbidden") {
			t.Fatalf("%s: %v, want the stream ended as forbidden", what, err)
		}
	}

	st := open(3, 2)
	if err := st.Fetch(fetch(2, 2)); err != nil {
		t.Fatal(err)
	}
	refused("node 3 fetching as node 2", st)
	st = open(3, 2) // NodeID 2 names node 2 in the positions frame
	if err := st.Positions(position); err != nil {
		t.Fatal(err)
	}
	refused("node 3 reporting positions as node 2", st)
	st = open(3, 3)
	if err := st.Fetch(fetch(3, 2)); err != nil {
		t.Fatal(err)
	}
	if resp, err := st.Recv(10 * time.Second); err != nil || len(resp.Partitions) != 1 || resp.Partitions[0].Error == "" {
		t.Fatalf("node 3 fetching a partition it holds no replica of: %+v %v, want a partition error", resp, err)
	}
	if got := hw(); got != 0 {
		t.Fatalf("HW %d after forged fetches, want 0", got)
	}

	st = open(2, 2)
	if err := st.Positions([]broker.ReplicaPosition{{Topic: "f", Partition: p.Index, LeaderEpoch: p.LeaderEpoch, Offset: 1}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "HW 1 after node 2's own position at 1", func() (bool, string) {
		got := hw()
		return got == 1, fmt.Sprintf("HW %d", got)
	})
	if err := st.Fetch(fetch(2, 2)); err != nil {
		t.Fatal(err)
	}
	if resp, err := st.Recv(10 * time.Second); err != nil || len(resp.Partitions) != 1 || resp.Partitions[0].Error != "" || resp.Partitions[0].HighWatermark != 2 {
		t.Fatalf("node 2's own fetch: %+v %v", resp, err)
	}
	if got := hw(); got != 2 {
		t.Fatalf("HW %d after node 2's own fetch acknowledging 2, want 2", got)
	}
}

// TestReplicationProtocolsMixed: leaders serve both follower protocols at
// once. Node 2 follows over one request per round, nodes 1 and 3 over
// streams; 500 acks=all records reach all three replicas byte for byte,
// whichever node leads.
func TestReplicationProtocolsMixed(t *testing.T) {
	requests := testnode.WithConfig(func(c *platform.Config) { c.ReplicationProtocol = platform.ReplicationRequest })
	nodes := []*testnode.Node{testnode.Start(t)}
	nodes = append(nodes, testnode.Join(t, nodes[0], 2, nil, requests), testnode.Join(t, nodes[0], 3, nil))
	a := api{t, nodes[0].URL()}
	createReplicated(t, "mixed", nodes...)
	seen := map[int64]bool{}
	for i := 0; i < 500; i += 100 {
		for _, r := range produceAll(t, a, "mixed", i, 100) {
			seen[r.Offset] = true
		}
	}
	if len(seen) != 500 {
		t.Fatalf("%d distinct offsets acknowledged, want 500", len(seen))
	}
	replicasEqual(t, "mixed", 500, nodes...)
}

func TestReplicationProtocolIsValidated(t *testing.T) {
	c := platform.DefaultConfig()
	c.ReplicationProtocol = "carrier-pigeon"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "replication protocol") {
		t.Fatalf("Validate: %v, want a replication protocol error", err)
	}
	for _, ok := range []string{"", platform.ReplicationStream, platform.ReplicationRequest} {
		c.ReplicationProtocol = ok
		if err := c.Validate(); err != nil && strings.Contains(err.Error(), "replication protocol") {
			t.Fatalf("Validate %q: %v", ok, err)
		}
	}
}

// TestReplicaStreamRefusesMalformedFrames: the stream route wants the
// upgrade header (400 without it); after the upgrade, a frame of an
// unknown type or a fetch frame cut short ends the stream with an error
// frame naming the malformed frame, and the leader closes the connection.
func TestReplicaStreamRefusesMalformedFrames(t *testing.T) {
	n1 := testnode.Start(t)
	ca := testCA(t)
	c := clientWith(t, ca, issueNode(t, ca, 2))
	if st, raw, err := send(c, http.MethodGet, n1.ClusterURL()+"/internal/v1/replica-stream", nil); err != nil || st != http.StatusBadRequest {
		t.Fatalf("without the upgrade header: %d %s %v, want 400", st, raw, err)
	}
	tlsCfg := c.Transport.(*http.Transport).TLSClientConfig.Clone()
	tlsCfg.ServerName = "127.0.0.1"
	good := replwire.AppendFetch(nil, &broker.ReplicaFetchRequest{ReplicaID: 2, Partitions: []broker.ReplicaFetchPartition{{Topic: "t", EpochQuery: -1}}})
	for name, frame := range map[string][]byte{
		"unknown type": {0, 0, 0, 1, 9},
		"cut short":    append(append([]byte(nil), good[:4]...), good[4:len(good)-3]...),
	} {
		if name == "cut short" {
			binary.BigEndian.PutUint32(frame, uint32(len(frame)-4)) // a whole frame whose body is cut
		}
		conn, err := tls.Dial("tcp", n1.ClusterAddr(), tlsCfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		fmt.Fprintf(conn, "GET /internal/v1/replica-stream HTTP/1.1\r\nHost: node\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", replwire.Protocol)
		rd := bufio.NewReader(conn)
		resp, err := http.ReadResponse(rd, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("%s: upgrade answered %v %v", name, resp, err)
		}
		if _, err := conn.Write(frame); err != nil {
			t.Fatal(err)
		}
		typ, body, _, err := replwire.ReadFrame(rd, nil)
		if err != nil || typ != replwire.TypeError || !strings.Contains(string(body), "malformed replication frame") {
			t.Fatalf("%s: answered type %d %q %v, want an error frame", name, typ, body, err)
		}
		if _, _, _, err := replwire.ReadFrame(rd, nil); err == nil {
			t.Fatalf("%s: the stream stayed open after the error frame", name)
		}
	}
}
