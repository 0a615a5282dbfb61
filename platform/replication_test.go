package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/sluicehq/sluice/storage"
)

// replicationWait bounds every wait for replication in these tests.
const replicationWait = 60 * time.Second

// eventually polls cond until it holds or replicationWait passes; what
// describes the last state on failure.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(replicationWait)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v; last state: %s", what, replicationWait, state)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not synchronisation
	}
}

// partitionMeta is partition 0 of topic as node n's broker applied it.
func partitionMeta(n *testnode.Node, topic string) (meta.Partition, bool) {
	t, ok := n.Broker().Cluster().Topics[topic]
	if !ok || len(t.Partitions) == 0 {
		return meta.Partition{}, false
	}
	return t.Partitions[0], true
}

// localLog is the whole local replica of topic-0 on n: its batches' bytes
// and its log end and HW.
func localLog(t *testing.T, n *testnode.Node, topic string) (batches [][]byte, leo, hw int64, err error) {
	t.Helper()
	info, err := n.Broker().PartitionInfo(topic, 0)
	if err != nil {
		return nil, 0, 0, err
	}
	for off := info.LogStart; off < info.LogEnd; {
		bs, err := n.Broker().LocalBatches(topic, 0, off, 1<<20)
		if err != nil {
			return nil, 0, 0, err
		}
		if len(bs) == 0 {
			return nil, 0, 0, fmt.Errorf("no batch at %d below log end %d", off, info.LogEnd)
		}
		for _, raw := range bs {
			b, err := storage.DecodeBatch(raw)
			if err != nil {
				return nil, 0, 0, err
			}
			off = b.LastOffset + 1
		}
		batches = append(batches, bs...)
	}
	return batches, info.LogEnd, info.HighWatermark, nil
}

// replicasEqual waits until every node's replica of topic-0 ends at want
// (or anywhere, want < 0), has HW == LEO, and all hold the same batches
// byte for byte.
func replicasEqual(t *testing.T, topic string, want int64, nodes ...*testnode.Node) {
	t.Helper()
	eventually(t, "replicas identical with HW = LEO", func() (bool, string) {
		var first [][]byte
		state := ""
		ok := true
		for i, n := range nodes {
			bs, leo, hw, err := localLog(t, n, topic)
			state += fmt.Sprintf(" node %d: leo %d hw %d batches %d err %v;", n.ID(), leo, hw, len(bs), err)
			if err != nil || hw != leo || (want >= 0 && leo != want) {
				ok = false
				continue
			}
			if i == 0 {
				first = bs
			} else if !slices.EqualFunc(first, bs, bytes.Equal) {
				ok = false
				state += " (batches differ from the first node's)"
			}
		}
		return ok, state
	})
}

func produceAll(t *testing.T, a api, topic string, from, n int) []wire.ProduceResult {
	t.Helper()
	var req wire.ProduceRequest
	for i := from; i < from+n; i++ {
		req.Records = append(req.Records, wire.ProduceRecord{Key: wire.Ptr(fmt.Sprintf("k%d", i)), Value: fmt.Sprintf("v%d", i)})
	}
	var pr wire.ProduceResponse
	a.json("POST", "/v1/topics/"+topic+"/records?acks=all&timeout_ms=30000", req, &pr)
	for i, r := range pr.Results {
		if r.Error != nil {
			t.Fatalf("record %d of %d: %+v", from+i, from+n, r.Error)
		}
	}
	return pr.Results
}

// createReplicated creates topic (1 partition, RF 3, min.insync.replicas
// 2) and waits until every node has applied it.
func createReplicated(t *testing.T, topic string, nodes ...*testnode.Node) {
	t.Helper()
	body, _ := json.Marshal(wire.CreateTopicRequest{Name: topic, Partitions: 1, ReplicationFactor: 3,
		Config: map[string]string{meta.KeyMinInsyncReplicas: "2"}})
	// The quorum may be electing while nodes join: not_controller is
	// retriable, and a retried create may find its first try committed.
	retried := false
	eventually(t, "topic created", func() (bool, string) {
		st, raw := api{t, nodes[0].URL()}.call("POST", "/v1/topics", wire.MediaTypeJSON, "", body)
		if st == http.StatusServiceUnavailable {
			retried = true
			return false, string(raw)
		}
		if st != http.StatusCreated && !(retried && st == http.StatusConflict) {
			t.Fatalf("create %s: %d %s", topic, st, raw)
		}
		return true, ""
	})
	eventually(t, "every node has the topic", func() (bool, string) {
		for _, n := range nodes {
			if _, ok := partitionMeta(n, topic); !ok {
				return false, fmt.Sprintf("node %d does not", n.ID())
			}
		}
		return true, ""
	})
}

// producer writes acks=all batches of 5 records until stopped, keeping
// what was acknowledged (offset -> value); failures (the leader changing)
// are expected and skipped.
type producer struct {
	cancel context.CancelFunc
	done   chan map[int64]string
	n      atomic.Int64 // records acknowledged so far
}

func startProducer(t *testing.T, base, topic string) *producer {
	ctx, cancel := context.WithCancel(context.Background())
	p := &producer{cancel: cancel, done: make(chan map[int64]string, 1)}
	t.Cleanup(cancel) // a test that fails early still ends the producer
	go func() {
		acked := map[int64]string{}
		defer func() { p.done <- acked }()
		for i := 0; ctx.Err() == nil; i++ {
			var req wire.ProduceRequest
			for j := range 5 {
				req.Records = append(req.Records, wire.ProduceRecord{Value: fmt.Sprintf("during-%d-%d", i, j)})
			}
			body, _ := json.Marshal(req)
			hr, err := http.NewRequestWithContext(ctx, "POST", base+"/v1/topics/"+topic+"/records?acks=all&timeout_ms=5000", bytes.NewReader(body))
			if err != nil {
				return
			}
			hr.Header.Set("Content-Type", wire.MediaTypeJSON)
			resp, err := http.DefaultClient.Do(hr)
			if err != nil {
				continue
			}
			var pr wire.ProduceResponse
			ok := resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&pr) == nil
			resp.Body.Close()
			if !ok {
				continue
			}
			for j, r := range pr.Results {
				if r.Error == nil {
					acked[r.Offset] = req.Records[j].Value
					p.n.Add(1)
				}
			}
		}
	}()
	return p
}

// stop ends the producer and returns what it got acknowledged.
func (p *producer) stop() map[int64]string {
	p.cancel()
	return <-p.done
}

// A 3-node cluster with a topic of replication factor 3 and
// min.insync.replicas 2: acks=all records reach all three replicas byte
// for byte; when the leader stops, a new leader from the ISR (new epoch)
// serves every acknowledged record; the old leader, restarted with a tail
// no one else has, truncates it, catches up and rejoins the ISR.
func TestReplicationFailoverKeepsAcknowledgedRecords(t *testing.T) {
	nodes := []*testnode.Node{testnode.Start(t)}
	nodes = append(nodes, testnode.Join(t, nodes[0], 2, nil), testnode.Join(t, nodes[0], 3, nil))
	byID := func(id int32) *testnode.Node { return nodes[id-1] }
	a := api{t, nodes[0].URL()}
	createReplicated(t, "repl", nodes...)

	// 1,000 records with acks=all, 100 per request, through node 1 (which
	// forwards them when it does not lead).
	acked := map[int64]string{}
	for i := 0; i < 1000; i += 100 {
		for j, r := range produceAll(t, a, "repl", i, 100) {
			acked[r.Offset] = fmt.Sprintf("v%d", i+j)
		}
	}
	if len(acked) != 1000 {
		t.Fatalf("%d distinct offsets acknowledged, want 1000", len(acked))
	}
	replicasEqual(t, "repl", 1000, nodes...)

	p, _ := partitionMeta(nodes[0], "repl")
	if len(p.ISR) != 3 {
		t.Fatalf("ISR %v after replication, want all three", p.ISR)
	}
	old := byID(int32(p.Leader))
	oldEpoch := p.LeaderEpoch
	var live []*testnode.Node
	for _, n := range nodes {
		if n != old {
			live = append(live, n)
		}
	}
	oldDir := old.Config.DataDir
	// A producer keeps writing with acks=all through a surviving node
	// while the leader stops; what it gets acknowledged must survive too.
	during := startProducer(t, live[0].URL(), "repl")
	eventually(t, "producer under way", func() (bool, string) { return during.n.Load() > 0, "" })
	old.Stop(t)

	// A new leader from the ISR, in a newer epoch, on both survivors.
	var leader *testnode.Node
	eventually(t, "new leader elected", func() (bool, string) {
		state := ""
		agreed := int32(-1)
		for _, n := range live {
			np, ok := partitionMeta(n, "repl")
			state += fmt.Sprintf(" node %d sees %+v;", n.ID(), np)
			if !ok || np.Leader == meta.NoLeader || np.Leader == p.Leader || np.LeaderEpoch <= oldEpoch {
				return false, state
			}
			if agreed >= 0 && int32(np.Leader) != agreed {
				return false, state
			}
			agreed = int32(np.Leader)
		}
		leader = byID(agreed)
		return true, state
	})
	if !slices.Contains(p.ISR, meta.NodeID(leader.ID())) {
		t.Fatalf("new leader %d was not in the ISR %v", leader.ID(), p.ISR)
	}

	// Every acknowledged record is on the new leader at its offset.
	la := api{t, leader.URL()}
	var got []wire.Record
	eventually(t, "new leader serves the acknowledged records", func() (bool, string) {
		info, err := leader.Broker().PartitionInfo("repl", 0)
		return err == nil && info.Leader && info.HighWatermark >= 1000, fmt.Sprintf("%+v %v", info, err)
	})
	got = la.consume("repl", 0)
	for _, r := range got {
		if want, ok := acked[r.Offset]; ok && string(r.Value) != want {
			t.Fatalf("offset %d reads %q on the new leader, acknowledged as %q", r.Offset, r.Value, want)
		}
		delete(acked, r.Offset)
	}
	if len(acked) != 0 {
		t.Fatalf("%d acknowledged records missing on the new leader", len(acked))
	}
	before := during.n.Load()
	eventually(t, "producer acknowledged by the new leader", func() (bool, string) {
		return during.n.Load() > before, fmt.Sprint(during.n.Load())
	})
	ackedDuring := during.stop()
	eventually(t, "records acknowledged during the failover committed on the new leader", func() (bool, string) {
		info, err := leader.Broker().PartitionInfo("repl", 0)
		return err == nil && info.HighWatermark >= int64(1000+len(ackedDuring)), fmt.Sprintf("%+v %v", info, err)
	})
	seen := map[int64]string{}
	for _, r := range la.consume("repl", 0) {
		seen[r.Offset] = string(r.Value)
	}
	for off, v := range ackedDuring {
		if seen[off] != v {
			t.Fatalf("offset %d acknowledged as %q during the failover, reads %q on the new leader", off, v, seen[off])
		}
	}

	// Write in the new epoch with one replica down: the ISR (2) still
	// meets min.insync.replicas once the old leader is out of it.
	info, err := leader.Broker().PartitionInfo("repl", 0)
	if err != nil {
		t.Fatal(err)
	}
	more := produceAll(t, la, "repl", 100000, 50)
	// (A request the stopped producer had in flight may still land.)
	if more[0].Offset < info.LogEnd {
		t.Fatalf("first record after the failover at %d, below the log end %d", more[0].Offset, info.LogEnd)
	}
	total := more[len(more)-1].Offset + 1

	// The old leader crashed with a batch no follower fetched: write it
	// into its log in the old epoch, as an un-replicated append would.
	paths, err := filepath.Glob(filepath.Join(oldDir, "partitions", "repl-*", "0.db"))
	if err != nil || len(paths) != 1 {
		t.Fatalf("old leader's replica file: %v %v", paths, err)
	}
	l, err := storage.Open(paths[0], storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	divergent := []record.Record{{Value: []byte("never acknowledged 1")}, {Value: []byte("never acknowledged 2")}, {Value: []byte("never acknowledged 3")}}
	if _, err := l.Append(context.Background(), divergent, oldEpoch); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// Restarted, it truncates the divergent tail, catches up and rejoins
	// the ISR; all three logs are the same again.
	// It rejoins through a live node's serf address (the first node of a
	// test cluster was started with none).
	old.Config.Join = []string{live[0].Config.SerfAddr}
	old.Restart(t)
	eventually(t, "old leader back in the ISR", func() (bool, string) {
		np, _ := partitionMeta(leader, "repl")
		return len(np.ISR) == 3, fmt.Sprintf("%+v", np)
	})
	replicasEqual(t, "repl", -1, nodes...)
	if info, _ := leader.Broker().PartitionInfo("repl", 0); info.LogEnd < total {
		t.Fatalf("log end %d after the rejoin, want at least %d", info.LogEnd, total)
	}
	// The logs are equal byte for byte, so the leader's records are every
	// replica's: the divergent batch is gone from all of them.
	for _, r := range la.consume("repl", 0) {
		if bytes.HasPrefix(r.Value, []byte("never acknowledged")) {
			t.Fatalf("the divergent record is readable at %d", r.Offset)
		}
	}
}

// acks=all on RF=3, min.insync.replicas=2 with a single live replica is
// refused with not_enough_replicas; a follower coming back rejoins the
// ISR and acks=all works again.
func TestAcksAllWithOneLiveReplicaOfThree(t *testing.T) {
	n1 := testnode.Start(t)
	n2 := testnode.Join(t, n1, 2, []string{platform.RoleBroker})
	n3 := testnode.Join(t, n1, 3, []string{platform.RoleBroker})
	a := api{t, n1.URL()}
	createReplicated(t, "few", n1, n2, n3)
	produceAll(t, a, "few", 0, 10)
	replicasEqual(t, "few", 10, n1, n2, n3)

	n2.Stop(t)
	n3.Stop(t)
	eventually(t, "node 1 leads alone in the ISR", func() (bool, string) {
		p, _ := partitionMeta(n1, "few")
		return p.Leader == 1 && len(p.ISR) == 1, fmt.Sprintf("%+v", p)
	})
	st, raw := a.call("POST", "/v1/topics/few/records?acks=all", wire.MediaTypeJSON, "", []byte(`{"records":[{"value":"x"}]}`))
	a.wantError(st, raw, http.StatusServiceUnavailable, wire.CodeNotEnoughReplicas)

	n2.Restart(t)
	eventually(t, "node 2 back in the ISR", func() (bool, string) {
		p, _ := partitionMeta(n1, "few")
		return len(p.ISR) == 2, fmt.Sprintf("%+v", p)
	})
	produceAll(t, a, "few", 10, 5)
	replicasEqual(t, "few", 15, n1, n2)
}
