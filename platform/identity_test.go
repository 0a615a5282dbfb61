package platform_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// partitionsOf is topic's assignment as node n's broker applied it.
func partitionsOf(n *testnode.Node, topic string) []meta.Partition {
	if t, ok := n.Broker().Cluster().Topics[topic]; ok {
		return t.Partitions
	}
	return nil
}

// replicaBatches is the whole local replica of topic-p on n, batch by batch.
func replicaBatches(n *testnode.Node, topic string, p int32) (batches [][]byte, leo, hw int64, err error) {
	info, err := n.Broker().PartitionInfo(topic, p)
	if err != nil {
		return nil, 0, 0, err
	}
	if info.LogEnd > info.LogStart {
		// One read of up to 64 MiB covers these tests' logs whole.
		if batches, err = n.Broker().LocalBatches(topic, p, info.LogStart, 64<<20); err != nil {
			return nil, 0, 0, err
		}
	}
	return batches, info.LogEnd, info.HighWatermark, nil
}

// allReplicasEqual waits until, for every partition of topic, every node
// holds the same batches byte for byte with HW = LEO.
func allReplicasEqual(t *testing.T, topic string, parts int32, nodes ...*testnode.Node) {
	t.Helper()
	for p := range parts {
		eventually(t, fmt.Sprintf("replicas of %s-%d identical with HW = LEO", topic, p), func() (bool, string) {
			var first [][]byte
			state := ""
			for i, n := range nodes {
				bs, leo, hw, err := replicaBatches(n, topic, p)
				state += fmt.Sprintf(" node %d: leo %d hw %d batches %d err %v;", n.ID(), leo, hw, len(bs), err)
				if err != nil || hw != leo {
					return false, state
				}
				if i == 0 {
					first = bs
				} else if !slices.EqualFunc(first, bs, bytes.Equal) {
					return false, state + " (differs from the first node's)"
				}
			}
			return true, state
		})
	}
}

// produceKeyed writes n keyed records with acks=all through a and returns
// what was acknowledged: partition -> offset -> value.
func produceKeyed(t *testing.T, a api, topic string, from, n int, acked map[int32]map[int64]string) {
	t.Helper()
	var req wire.ProduceRequest
	for i := from; i < from+n; i++ {
		req.Records = append(req.Records, wire.ProduceRecord{Key: wire.Ptr(fmt.Sprintf("k%d", i)), Value: fmt.Sprintf("v%d", i)})
	}
	var pr wire.ProduceResponse
	eventually(t, "acks=all produce accepted", func() (bool, string) {
		pr = wire.ProduceResponse{}
		st := a.json("POST", "/v1/topics/"+topic+"/records?acks=all&timeout_ms=30000", req, &pr)
		for _, r := range pr.Results {
			if r.Error != nil {
				return false, fmt.Sprintf("%d: %+v", st, r.Error)
			}
		}
		return st == http.StatusOK, fmt.Sprint(st)
	})
	for i, r := range pr.Results {
		if acked[r.Partition] == nil {
			acked[r.Partition] = map[int64]string{}
		}
		if old, dup := acked[r.Partition][r.Offset]; dup {
			t.Fatalf("offset %d of partition %d handed out twice: %q and %q", r.Offset, r.Partition, old, req.Records[i].Value)
		}
		acked[r.Partition][r.Offset] = req.Records[i].Value
	}
}

func createTopic3(t *testing.T, a api, topic string, parts int32) {
	t.Helper()
	body, _ := json.Marshal(wire.CreateTopicRequest{Name: topic, Partitions: parts, ReplicationFactor: 3,
		Config: map[string]string{meta.KeyMinInsyncReplicas: "2"}})
	retried := false
	eventually(t, "topic created", func() (bool, string) {
		st, raw := a.call("POST", "/v1/topics", wire.MediaTypeJSON, "", body)
		if st == http.StatusServiceUnavailable {
			retried = true
			return false, string(raw)
		}
		if st != http.StatusCreated && !(retried && st == http.StatusConflict) {
			t.Fatalf("create %s: %d %s", topic, st, raw)
		}
		return true, ""
	})
}

// TestDiskLossKeepsAcknowledgedRecords: 3 nodes, RF 3, acks=all. A
// partition leader loses its whole data directory and comes back under
// the same node id at once. The cluster takes it for what it is, a new
// broker with empty replicas: it leads nothing and nobody truncates to
// it; it catches up from the leaders and rejoins every ISR. Every
// acknowledged record stays readable at its offset, on all three
// replicas, byte for byte.
func TestDiskLossKeepsAcknowledgedRecords(t *testing.T) {
	// Failure detection slower than a restart, so the node is back before
	// anyone fenced it (the dangerous case): serf probes every 20 s and the
	// session lasts 20 s.
	slow := testnode.WithConfig(func(c *platform.Config) {
		c.Timing.SerfProbeInterval = 20 * time.Second
		c.Timing.SerfProbeTimeout = 5 * time.Second
		c.Timing.BrokerSessionTimeout = 20 * time.Second
	})
	nodes := []*testnode.Node{testnode.Start(t, slow)}
	nodes = append(nodes, testnode.Join(t, nodes[0], 2, nil, slow), testnode.Join(t, nodes[0], 3, nil, slow))
	a := api{t, nodes[0].URL()}
	const topic, parts = "disk", int32(3)
	createTopic3(t, a, topic, parts)
	eventually(t, "every node has the topic with full ISRs", func() (bool, string) {
		for _, n := range nodes {
			ps := partitionsOf(n, topic)
			if len(ps) != int(parts) {
				return false, fmt.Sprintf("node %d: %d partitions", n.ID(), len(ps))
			}
			for _, p := range ps {
				if len(p.ISR) != 3 {
					return false, fmt.Sprintf("node %d: %+v", n.ID(), p)
				}
			}
		}
		return true, ""
	})
	acked := map[int32]map[int64]string{}
	for i := 0; i < 600; i += 100 {
		produceKeyed(t, a, topic, i, 100, acked)
	}
	allReplicasEqual(t, topic, parts, nodes...)

	// The victim: a joined node (node 1 bootstrapped the quorum alone and
	// would bootstrap a new one from an empty directory) that leads a
	// partition.
	var victim *testnode.Node
	var led int32 = -1
	for _, p := range partitionsOf(nodes[0], topic) {
		if p.Leader != 1 {
			victim, led = nodes[p.Leader-1], p.Index
			break
		}
	}
	if victim == nil {
		t.Fatal("node 1 leads every partition")
	}
	oldDir := victim.Broker().DirID()
	before := partitionsOf(nodes[0], topic)[led]

	// A crash: no serf leave, no fence yet.
	if err := victim.Node.Kill(); err != nil {
		t.Fatal(err)
	}
	victim.Node = nil
	if b, _ := nodes[0].Broker().Cluster().Broker(meta.NodeID(victim.Config.NodeID)); !b.Alive() {
		t.Fatal("the crashed node was fenced before it came back: the test would not cover a fast return")
	}
	if err := os.RemoveAll(victim.Config.DataDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(victim.Config.DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	victim.Config.Join = []string{nodes[0].Config.SerfAddr}
	victim.Restart(t)
	if victim.Broker().DirID() == oldDir {
		t.Fatal("a wiped data directory kept its id")
	}

	// It is registered with its new directory; the partition it led has
	// another leader in a newer epoch, from the replicas that kept the data.
	eventually(t, "victim registered with its new directory id", func() (bool, string) {
		b, ok := nodes[0].Broker().Cluster().Broker(meta.NodeID(victim.ID()))
		return ok && b.Alive() && b.DirID == victim.Broker().DirID(), fmt.Sprintf("%+v", b)
	})
	eventually(t, "another leader for the partition the victim led", func() (bool, string) {
		p := partitionsOf(nodes[0], topic)[led]
		return p.Leader != meta.NoLeader && int32(p.Leader) != victim.ID() && p.LeaderEpoch > before.LeaderEpoch, fmt.Sprintf("%+v", p)
	})

	// Writes go on while it catches up.
	produceKeyed(t, a, topic, 1000, 200, acked)

	eventually(t, "victim back in every ISR", func() (bool, string) {
		for _, p := range partitionsOf(nodes[0], topic) {
			if !p.InISR(meta.NodeID(victim.ID())) || len(p.Lost) != 0 {
				return false, fmt.Sprintf("%+v", p)
			}
		}
		return true, ""
	})
	allReplicasEqual(t, topic, parts, nodes...)

	// Every acknowledged record, at its offset, on every replica (the
	// replicas are equal byte for byte; read them through each node's
	// leader view and the leader itself).
	for p := range parts {
		leader := partitionsOf(nodes[0], topic)[p].Leader
		got := map[int64]string{}
		for _, r := range (api{t, nodes[leader-1].URL()}).consume(topic, p) {
			got[r.Offset] = string(r.Value)
		}
		for off, v := range acked[p] {
			if got[off] != v {
				t.Fatalf("partition %d offset %d acknowledged as %q, reads %q", p, off, v, got[off])
			}
		}
	}
}

// TestSessionExpiryFencesStalledBroker: a broker whose heartbeats stop
// while its serf agent still answers (a stalled process) is fenced when
// its session expires: it leads nothing and leaves every ISR, although
// serf still shows it alive; once it heartbeats again it is back and
// rejoins the ISRs.
func TestSessionExpiryFencesStalledBroker(t *testing.T) {
	nodes := []*testnode.Node{testnode.Start(t)}
	nodes = append(nodes, testnode.Join(t, nodes[0], 2, nil), testnode.Join(t, nodes[0], 3, nil))
	a := api{t, nodes[0].URL()}
	const topic = "stall"
	createTopic3(t, a, topic, 3)
	acked := map[int32]map[int64]string{}
	produceKeyed(t, a, topic, 0, 50, acked)
	stalled := nodes[2]
	id := meta.NodeID(stalled.ID())

	stalled.SetHeartbeatsPaused(true)
	eventually(t, "stalled broker fenced by its session", func() (bool, string) {
		b, _ := nodes[0].Broker().Cluster().Broker(id)
		if b.Alive() {
			return false, fmt.Sprintf("%+v", b)
		}
		for _, p := range partitionsOf(nodes[0], topic) {
			if p.Leader == id || p.InISR(id) {
				return false, fmt.Sprintf("%+v", p)
			}
		}
		return true, ""
	})
	for _, m := range nodes[0].Membership().Members() {
		if m.ID == stalled.ID() && m.Status != membership.StatusAlive {
			t.Fatalf("serf no longer shows the stalled node alive (%s): the session was not what fenced it", m.Status)
		}
	}
	// The cluster keeps taking acks=all writes without it (ISR 2 of 3).
	produceKeyed(t, a, topic, 100, 50, acked)

	stalled.SetHeartbeatsPaused(false)
	eventually(t, "the broker back in every ISR", func() (bool, string) {
		b, _ := nodes[0].Broker().Cluster().Broker(id)
		if !b.Alive() {
			return false, "still fenced"
		}
		for _, p := range partitionsOf(nodes[0], topic) {
			if !p.InISR(id) {
				return false, fmt.Sprintf("%+v", p)
			}
		}
		return true, ""
	})
	allReplicasEqual(t, topic, 3, nodes...)
}

// TestDamagedReplicaRebuiltFromLeader: on a 3-node cluster, a follower's
// partition file is damaged while it is down. At restart the file is
// moved aside (kept), the replica is reported lost and rebuilt from the
// leader, and rejoins the ISR with the leader's batches byte for byte;
// the node serves its other replicas throughout.
func TestDamagedReplicaRebuiltFromLeader(t *testing.T) {
	nodes := []*testnode.Node{testnode.Start(t)}
	nodes = append(nodes, testnode.Join(t, nodes[0], 2, nil), testnode.Join(t, nodes[0], 3, nil))
	a := api{t, nodes[0].URL()}
	const topic, parts = "damage", int32(3)
	createTopic3(t, a, topic, parts)
	acked := map[int32]map[int64]string{}
	produceKeyed(t, a, topic, 0, 300, acked)
	allReplicasEqual(t, topic, parts, nodes...)

	// The victim: a joined node, damaged in a partition it follows.
	victim := nodes[2]
	var damaged int32 = -1
	for _, p := range partitionsOf(nodes[0], topic) {
		if int32(p.Leader) != victim.ID() {
			damaged = p.Index
			break
		}
	}
	paths, err := filepath.Glob(filepath.Join(victim.Config.DataDir, "partitions", topic+"-*", fmt.Sprintf("%d.db", damaged)))
	if err != nil || len(paths) != 1 {
		t.Fatalf("%v %v", paths, err)
	}
	victim.Stop(t)
	if err := os.WriteFile(paths[0], bytes.Repeat([]byte{0xba, 0xd0}, 16384), 0o600); err != nil {
		t.Fatal(err)
	}
	victim.Config.Join = []string{nodes[0].Config.SerfAddr}
	victim.Restart(t)

	eventually(t, "the damaged replica back in the ISR with nothing lost", func() (bool, string) {
		for _, p := range partitionsOf(nodes[0], topic) {
			if len(p.ISR) != 3 || len(p.Lost) != 0 {
				return false, fmt.Sprintf("%+v", p)
			}
		}
		return true, ""
	})
	allReplicasEqual(t, topic, parts, nodes...)
	aside, _ := filepath.Glob(paths[0] + ".damaged-*")
	if len(aside) != 1 {
		t.Fatalf("damaged file not kept aside: %v", aside)
	}
	for p := range parts {
		leader := partitionsOf(nodes[0], topic)[p].Leader
		got := map[int64]string{}
		for _, r := range (api{t, nodes[leader-1].URL()}).consume(topic, p) {
			got[r.Offset] = string(r.Value)
		}
		for off, v := range acked[p] {
			if got[off] != v {
				t.Fatalf("partition %d offset %d acknowledged as %q, reads %q", p, off, v, got[off])
			}
		}
	}
}
