package platform_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/controller"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// threeNodes starts a cluster of three nodes with both roles.
func threeNodes(t *testing.T, opts ...testnode.Option) []*testnode.Node {
	t.Helper()
	first := testnode.Start(t, opts...)
	return []*testnode.Node{first, testnode.Join(t, first, 2, nil, opts...), testnode.Join(t, first, 3, nil, opts...)}
}

// fullISR waits until every partition of topic has all its replicas in
// sync in the metadata every node's broker applied.
func fullISR(t *testing.T, topic string, nodes ...*testnode.Node) {
	t.Helper()
	eventually(t, topic+" fully in sync on every node", func() (bool, string) {
		for _, n := range nodes {
			tp, ok := n.Broker().Cluster().Topics[topic]
			if !ok {
				return false, fmt.Sprintf("node %d has no topic %s", n.ID(), topic)
			}
			for _, p := range tp.Partitions {
				if len(p.ISR) != len(p.Replicas) || p.Leader == meta.NoLeader {
					return false, fmt.Sprintf("node %d: partition %d %+v", n.ID(), p.Index, p)
				}
			}
		}
		return true, ""
	})
}

// rollingRestart restarts the nodes one after another, each once the
// previous is back in every ISR of topic, as an operator upgrading a
// cluster does.
func rollingRestart(t *testing.T, topic string, nodes []*testnode.Node) {
	t.Helper()
	for i, n := range nodes {
		n.Stop(t)
		n.Config.Join = []string{nodes[(i+1)%len(nodes)].Config.SerfAddr}
		n.Config.BootstrapExpect = 0
		n.Restart(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := n.WaitReady(ctx); err != nil {
			cancel()
			t.Fatalf("node %d after restart: %v", n.ID(), err)
		}
		cancel()
		fullISR(t, topic, nodes...)
	}
}

// leadersBalanced reports whether every partition of topic is led by its
// preferred replica, as node n sees it, and the leader counts per broker.
func leadersBalanced(n *testnode.Node, topic string) (bool, string) {
	tp, ok := n.Broker().Cluster().Topics[topic]
	if !ok {
		return false, "no topic"
	}
	leads := map[meta.NodeID]int{}
	ok = true
	state := ""
	for _, p := range tp.Partitions {
		leads[p.Leader]++
		if p.Leader != p.Replicas[0] {
			ok = false
			state += fmt.Sprintf(" %d: leader %d replicas %v isr %v;", p.Index, p.Leader, p.Replicas, p.ISR)
		}
	}
	return ok, fmt.Sprintf("leaders per broker %v;%s imbalance %+v", leads, state, meta.LeaderImbalance(n.Broker().Cluster()))
}

func createTopicRF(t *testing.T, a api, name string, parts, rf int) {
	t.Helper()
	createRetrying(t, a, wire.CreateTopicRequest{Name: name, Partitions: int32(parts), ReplicationFactor: int32(rf)})
}

// createRetrying creates a topic while the quorum may still be electing
// (not_controller is retriable; a retry may find the first try committed).
func createRetrying(t *testing.T, a api, req wire.CreateTopicRequest) wire.Topic {
	t.Helper()
	body, _ := json.Marshal(req)
	var tp wire.Topic
	eventually(t, "topic "+req.Name+" created", func() (bool, string) {
		st, raw := a.call("POST", "/v1/topics", wire.MediaTypeJSON, "", body)
		switch st {
		case http.StatusCreated:
			return json.Unmarshal(raw, &tp) == nil, string(raw)
		case http.StatusConflict:
			a.json("GET", "/v1/topics/"+req.Name, nil, &tp)
			return true, ""
		}
		return false, string(raw)
	})
	return tp
}

// After a rolling restart of three nodes the last one restarted leads
// nothing (its partitions failed over and stayed); the active
// controller's automatic rebalance gives every broker its preferred
// partitions back.
func TestAutoLeaderRebalanceAfterRollingRestart(t *testing.T) {
	// Threshold 1%: the internal offsets topic's partitions count in each
	// broker's share too, and one misplaced leader must be enough.
	fast := testnode.WithConfig(func(c *platform.Config) {
		c.LeaderRebalance.Interval = 300 * time.Millisecond
		c.LeaderRebalance.ThresholdPercent = 1
	})
	nodes := threeNodes(t, fast)
	a := api{t, nodes[0].URL()}
	createTopicRF(t, a, "orders", 6, 3)
	fullISR(t, "orders", nodes...)
	rollingRestart(t, "orders", nodes)
	eventually(t, "leaders back on their preferred replicas", func() (bool, string) {
		return leadersBalanced(nodes[0], "orders")
	})
	// Every topic, the replicated __consumer_offsets too, comes back to
	// its preferred leaders (the rebalance passes over all of them, one
	// check interval at a time).
	a.base = nodes[0].URL()
	eventually(t, "every broker leads its preferred partitions", func() (bool, string) {
		var h wire.ClusterHealth
		a.json("GET", "/v1/cluster/health", nil, &h)
		for _, b := range h.Brokers {
			if b.NotLeading != 0 || b.Leading == 0 {
				return false, fmt.Sprintf("broker %d leads %d, %d of its preferred elsewhere: %+v", b.ID, b.Leading, b.NotLeading, h.Brokers)
			}
		}
		return true, ""
	})
}

// With the automatic rebalance off, a rolling restart leaves leadership
// imbalanced; one preferred-leader election on demand balances it.
func TestElectPreferredLeadersAfterRollingRestart(t *testing.T) {
	off := testnode.WithConfig(func(c *platform.Config) { c.LeaderRebalance.Disabled = true })
	nodes := threeNodes(t, off)
	a := api{t, nodes[1].URL()}
	createTopicRF(t, a, "orders", 6, 3)
	fullISR(t, "orders", nodes...)
	rollingRestart(t, "orders", nodes)
	if ok, state := leadersBalanced(nodes[0], "orders"); ok {
		t.Fatalf("leaders balanced after a rolling restart without any election (%s): the test proves nothing", state)
	}
	a.base = nodes[2].URL()
	eventually(t, "healthy after the restart, leaders not preferred", func() (bool, string) {
		var h wire.ClusterHealth
		a.json("GET", "/v1/cluster/health", nil, &h)
		return h.Healthy && h.Partitions.NotPreferredLeader > 0, fmt.Sprintf("%+v", h)
	})
	// The quorum may still be settling after the restarts: not_controller
	// (503) is retriable.
	var res wire.ElectLeadersResponse
	eventually(t, "preferred leaders elected", func() (bool, string) {
		st, raw := a.call("POST", "/v1/partitions/elect-leaders", wire.MediaTypeJSON, "", []byte(`{}`))
		if st != http.StatusOK {
			return false, string(raw)
		}
		var got wire.ElectLeadersResponse
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		res.Elected = append(res.Elected, got.Elected...)
		res.NotElected = got.NotElected
		return len(got.NotElected) == 0, string(raw)
	})
	if len(res.Elected) == 0 {
		t.Fatalf("election moved nothing: %+v", res)
	}
	if ok, state := leadersBalanced(nodes[2], "orders"); !ok {
		t.Fatalf("after the election: %s", state)
	}
	// Produce works through the new leaders.
	produceAll(t, api{t, nodes[0].URL()}, "orders", 0, 60)
}

// A dead broker is replaced by a new one under a new id: its replicas
// move to the new broker, which copies every acknowledged record while a
// producer keeps writing, and the ISR is full again; the dead broker is
// then removed from the controller quorum.
func TestReplaceDeadBrokerUnderNewID(t *testing.T) {
	nodes := threeNodes(t)
	a := api{t, nodes[0].URL()}
	createReplicated(t, "repl", nodes...)
	produceAll(t, a, "repl", 0, 300)
	dead := nodes[2]
	deadDir := dead.Config.DataDir
	// Node 3 dies for good; node 4 (broker role) joins under a new id.
	dead.Stop(t)
	n4 := testnode.Join(t, nodes[0], 4, []string{platform.RoleBroker})
	during := startProducer(t, nodes[1].URL(), "repl")
	eventually(t, "producer under way", func() (bool, string) { return during.n.Load() > 0, "" })

	p, _ := partitionMeta(nodes[0], "repl")
	target := slices.DeleteFunc(slices.Clone(p.Replicas), func(id meta.NodeID) bool { return id == 3 })
	target = append(target, 4)
	postRetrying(t, a, "/v1/partitions/reassignments", wire.ReassignRequest{Reassignments: []wire.Reassignment{
		{Topic: "repl", Partition: 0, Replicas: nodeIDs32(target)}}})
	eventually(t, "reassignment complete with a full ISR", func() (bool, string) {
		np, _ := partitionMeta(nodes[0], "repl")
		return slices.Equal(np.Replicas, target) && len(np.ISR) == 3 && !np.Reassigning(), fmt.Sprintf("%+v", np)
	})
	acked := during.stop()
	// One more acks=all write after the producer stopped: a request it
	// cancelled may have landed in the leader's log after its append
	// returned, and the leader counts its own log end at appends.
	for i, r := range produceAll(t, a, "repl", 100000, 5) {
		acked[r.Offset] = fmt.Sprintf("v%d", 100000+i)
	}
	live := []*testnode.Node{nodes[0], nodes[1], n4}
	replicasEqual(t, "repl", -1, live...)
	np, _ := partitionMeta(nodes[0], "repl")
	la := api{t, live[slices.IndexFunc(live, func(n *testnode.Node) bool { return n.ID() == int32(np.Leader) })].URL()}
	got := map[int64]string{}
	for _, r := range la.consume("repl", 0) {
		got[r.Offset] = string(r.Value)
	}
	for off, v := range acked {
		if got[off] != v {
			t.Fatalf("acknowledged record at %d (%q) reads %q after the move", off, v, got[off])
		}
	}
	var h wire.ClusterHealth
	a.json("GET", "/v1/cluster/health", nil, &h)
	// (__consumer_offsets has one replica in this version: those on the
	// dead broker are offline, which is not this test's concern.)
	if slices.Contains(h.UnderReplicated, "repl/0") || slices.Contains(h.Offline, "repl/0") || h.Reassigning != 0 {
		t.Fatalf("partitions after the move: %+v", h)
	}
	// The dead controller: removing it is refused while... it is dead, so
	// it goes; an alive one is refused.
	var st int
	var raw []byte
	eventually(t, "remove alive controller 2 refused", func() (bool, string) {
		st, raw = a.call("DELETE", "/v1/controllers/2", "", "", nil)
		return st != http.StatusServiceUnavailable, string(raw)
	})
	a.wantError(st, raw, http.StatusBadRequest, wire.CodeInvalidRequest)
	eventually(t, "controller 3 removed (or gone already)", func() (bool, string) {
		st, raw = a.call("DELETE", "/v1/controllers/3", "", "", nil)
		return st == http.StatusNoContent || st == http.StatusNotFound, string(raw)
	})
	eventually(t, "controller 3 out of the quorum", func() (bool, string) {
		servers, err := leaderOf(nodes[:2]).Servers()
		return err == nil && !slices.ContainsFunc(servers, func(s controller.Server) bool { return s.ID == 3 }), fmt.Sprintf("%+v %v", servers, err)
	})
	if _, err := os.Stat(filepath.Join(deadDir, "partitions")); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

func leaderOf(nodes []*testnode.Node) *controller.Controller {
	for _, n := range nodes {
		if n.Controller() != nil && n.Controller().IsLeader() {
			return n.Controller()
		}
	}
	return nodes[0].Controller()
}

func nodeIDs32(ids []meta.NodeID) []int32 {
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = int32(id)
	}
	return out
}

// A reassignment that cannot finish (the broker being added never
// fetches: it is registered but runs nowhere) stays in progress, shows
// in the status with nothing copied, and cancelling it restores the old
// replicas; the partition keeps serving throughout.
func TestReassignmentCancelledMidway(t *testing.T) {
	nodes := threeNodes(t)
	a := api{t, nodes[0].URL()}
	createReplicated(t, "repl", nodes...)
	produceAll(t, a, "repl", 0, 50)
	before, _ := partitionMeta(nodes[0], "repl")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	target := []int32{int32(before.Replicas[0]), int32(before.Replicas[1]), 9}
	// The reconcile loop fences a broker serf does not know, possibly
	// before the reassignment: register again and retry then.
	eventually(t, "reassignment to the phantom broker 9 started", func() (bool, string) {
		if _, err := leaderOf(nodes).RegisterBroker(ctx, meta.Broker{ID: 9, HTTPAddr: "http://127.0.0.1:1", Roles: []string{meta.RoleBroker}}); err != nil {
			return false, err.Error()
		}
		body := fmt.Sprintf(`{"reassignments":[{"topic":"repl","partition":0,"replicas":[%d,%d,9]}]}`, target[0], target[1])
		st, raw := a.call("POST", "/v1/partitions/reassignments", wire.MediaTypeJSON, "", []byte(body))
		return st == http.StatusOK, string(raw)
	})
	var list wire.ReassignmentList
	a.json("GET", "/v1/partitions/reassignments", nil, &list)
	if len(list.Reassignments) != 1 {
		t.Fatalf("reassignments in progress: %+v", list)
	}
	r := list.Reassignments[0]
	if !slices.Equal(r.Adding, []int32{9}) || !slices.Equal(r.Target, target) || r.RecordsBehind != -1 || r.ReplicaLogEnd[9] != -1 {
		t.Fatalf("status: %+v", r)
	}
	var tp wire.Topic
	a.json("GET", "/v1/topics/repl", nil, &tp)
	if p := tp.Partitions[0]; !slices.Equal(p.AddingReplicas, []int32{9}) || len(p.Replicas) != 4 {
		t.Fatalf("describe during the move: %+v", p)
	}
	// Still serving while the move hangs.
	produceAll(t, a, "repl", 50, 10)
	postRetrying(t, a, "/v1/partitions/reassignments", wire.ReassignRequest{Reassignments: []wire.Reassignment{{Topic: "repl", Partition: 0, Cancel: true}}})
	eventually(t, "old replicas back, fully in sync", func() (bool, string) {
		p, _ := partitionMeta(nodes[1], "repl")
		return slices.Equal(p.Replicas, before.Replicas) && !p.Reassigning() && len(p.ISR) == 3, fmt.Sprintf("%+v", p)
	})
	a.json("GET", "/v1/partitions/reassignments", nil, &list)
	if len(list.Reassignments) != 0 {
		t.Fatalf("after cancel: %+v", list)
	}
	replicasEqual(t, "repl", 60, nodes...)
}

// Refusals name the problem: a broker that does not exist, fewer
// replicas than min.insync.replicas, a partition count that would shrink.
func TestAdminRefusals(t *testing.T) {
	n := testnode.Start(t)
	a := api{t, n.URL()}
	a.json("POST", "/v1/topics", wire.CreateTopicRequest{Name: "t", Partitions: 2}, &wire.Topic{})
	for _, tc := range []struct {
		body   string
		status int
		code   wire.Code
	}{
		{`{"reassignments":[{"topic":"t","partition":0,"replicas":[1,7]}]}`, http.StatusNotFound, wire.CodeUnknownBroker},
		{`{"reassignments":[{"topic":"t","partition":5,"replicas":[1]}]}`, http.StatusNotFound, wire.CodeUnknownPartition},
		{`{"reassignments":[{"topic":"t","partition":0,"replicas":[]}]}`, http.StatusBadRequest, wire.CodeInvalidRequest},
		{`{"reassignments":[{"topic":"t","partition":0,"replicas":[1],"throttle":-1}]}`, http.StatusBadRequest, wire.CodeInvalidRequest},
		{`{"reassignments":[{"topic":"t","partition":0,"cancel":true,"throttle":1024}]}`, http.StatusBadRequest, wire.CodeInvalidRequest},
		{`{"reassignments":[{"topic":"t","partition":0,"throttle":1024,"remove_throttle":true}]}`, http.StatusBadRequest, wire.CodeInvalidRequest},
	} {
		st, raw := a.call("POST", "/v1/partitions/reassignments", wire.MediaTypeJSON, "", []byte(tc.body))
		a.wantError(st, raw, tc.status, tc.code)
	}
	a.json("POST", "/v1/topics", wire.CreateTopicRequest{Name: "safe", Partitions: 1, Config: map[string]string{meta.KeyMinInsyncReplicas: "1"}}, &wire.Topic{})
	st, raw := a.call("POST", "/v1/topics/t/partitions", wire.MediaTypeJSON, "", []byte(`{"count":1}`))
	a.wantError(st, raw, http.StatusBadRequest, wire.CodeInvalidRequest)
	var tp wire.Topic
	a.json("POST", "/v1/topics/t/partitions", wire.CreatePartitionsRequest{Count: 4}, &tp)
	if tp.PartitionCount != 4 || len(tp.Partitions) != 4 {
		t.Fatalf("after adding partitions: %+v", tp)
	}
	var pr wire.ProduceResponse
	a.json("POST", "/v1/topics/t/records", wire.ProduceRequest{Records: []wire.ProduceRecord{{Value: "a"}, {Value: "b"}, {Value: "c"}, {Value: "d"}}}, &pr)
	parts := map[int32]bool{}
	for _, r := range pr.Results {
		if r.Error != nil {
			t.Fatalf("produce: %+v", r.Error)
		}
		parts[r.Partition] = true
	}
	if !parts[3] {
		t.Fatalf("round-robin over 4 partitions never used the new partition 3: %v", parts)
	}
	// The only controller cannot be removed; an unknown one is named.
	st, raw = a.call("DELETE", "/v1/controllers/1", "", "", nil)
	a.wantError(st, raw, http.StatusBadRequest, wire.CodeInvalidRequest)
	st, raw = a.call("DELETE", "/v1/controllers/5", "", "", nil)
	a.wantError(st, raw, http.StatusNotFound, wire.CodeUnknownBroker)
	var h wire.ClusterHealth
	a.json("GET", "/v1/cluster/health", nil, &h)
	if !h.Healthy || !h.Controller.QuorumOK || len(h.Controller.Voters) != 1 || h.Controller.Voters[0].State != "Leader" || h.Controller.Voters[0].Term == 0 {
		t.Fatalf("health of one node: %+v", h)
	}
}

// --rack reaches the broker registration, and replicas spread over racks.
func TestRackFlowsToMetadata(t *testing.T) {
	rack := func(r string) testnode.Option {
		return testnode.WithConfig(func(c *platform.Config) { c.Rack = r })
	}
	first := testnode.Start(t, rack("r1"))
	nodes := []*testnode.Node{first, testnode.Join(t, first, 2, nil, rack("r1")), testnode.Join(t, first, 3, nil, rack("r2"))}
	eventually(t, "racks registered", func() (bool, string) {
		md := nodes[0].Controller().Metadata()
		for _, n := range nodes {
			b, ok := md.Broker(meta.NodeID(n.ID()))
			if !ok || b.Rack != n.Config.Rack {
				return false, fmt.Sprintf("%+v", md.Brokers)
			}
		}
		return true, ""
	})
	tp := createRetrying(t, api{t, first.URL()}, wire.CreateTopicRequest{Name: "racked", Partitions: 4, ReplicationFactor: 2})
	for _, p := range tp.Partitions {
		if !slices.Contains(p.Replicas, 3) {
			t.Fatalf("partition %d replicas %v: both in rack r1", p.Index, p.Replicas)
		}
	}
}

// postRetrying POSTs in as JSON until the answer is not 503 (the quorum
// electing) and fails the test unless it is 200.
func postRetrying(t *testing.T, a api, path string, in any) []byte {
	t.Helper()
	body, _ := json.Marshal(in)
	var out []byte
	eventually(t, "POST "+path, func() (bool, string) {
		st, raw := a.call("POST", path, wire.MediaTypeJSON, "", body)
		if st == http.StatusServiceUnavailable {
			return false, string(raw)
		}
		if st != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, st, raw)
		}
		out = raw
		return true, ""
	})
	return out
}
