package platform_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// Two nodes, the second a broker only: it learns metadata from the first
// node's controller over HTTP, sends topic changes there, and either node
// accepts a produce for the whole topic, forwarding each partition's
// records to its leader.
func TestTwoNodesForwardProduceAndMetadata(t *testing.T) {
	n1 := testnode.Start(t)
	n2 := testnode.Join(t, n1, 2, []string{platform.RoleBroker})
	a1, a2 := api{t, n1.URL()}, api{t, n2.URL()}

	// Created through the broker-only node, which has no controller.
	var tp wire.Topic
	a2.json("POST", "/v1/topics", wire.CreateTopicRequest{Name: "spread", Partitions: 4, ReplicationFactor: 1}, &tp)
	leaders := map[int32]int32{}
	for _, p := range tp.Partitions {
		leaders[p.Index] = p.Leader
	}
	if len(tp.Partitions) != 4 || leaders[0] == leaders[1] {
		t.Fatalf("assignment does not spread over both nodes: %+v", tp.Partitions)
	}
	urls := map[int32]string{1: n1.URL(), 2: n2.URL()}

	for _, via := range []api{a1, a2} {
		var req wire.ProduceRequest
		for i := range 200 {
			req.Records = append(req.Records, wire.ProduceRecord{Key: wire.Ptr(fmt.Sprintf("k%d", i)), Value: fmt.Sprintf("v%d", i)})
		}
		var pr wire.ProduceResponse
		via.json("POST", "/v1/topics/spread/records?acks=all", req, &pr)
		for i, r := range pr.Results {
			if r.Error != nil || r.Partition != partitioner.HashPartition(fmt.Appendf(nil, "k%d", i), 4) {
				t.Fatalf("record %d via %s: %+v", i, via.base, r)
			}
		}
	}
	total := 0
	for p := range int32(4) {
		leader := api{t, urls[leaders[p]]}
		total += len(leader.consume("spread", p))
		// The other node points at the leader.
		other := a1
		if leaders[p] == 1 {
			other = a2
		}
		st, raw := other.call("GET", fmt.Sprintf("/v1/topics/spread/partitions/%d/records?offset=0", p), "", "", nil)
		other.wantError(st, raw, http.StatusServiceUnavailable, wire.CodeNotLeader)
	}
	if total != 400 {
		t.Fatalf("%d records on the leaders, want 400", total)
	}
	// Either node describes every partition with its leader's log state.
	for _, via := range []api{a1, a2} {
		var desc wire.Topic
		via.json("GET", "/v1/topics/spread", nil, &desc)
		sum := int64(0)
		for _, p := range desc.Partitions {
			if p.LogEnd < 0 || p.HighWatermark != p.LogEnd {
				t.Fatalf("describe via %s: partition %+v", via.base, p)
			}
			sum += p.HighWatermark
		}
		if sum != 400 {
			t.Fatalf("describe via %s: high watermarks add up to %d, want 400", via.base, sum)
		}
	}
}

// A topic change sent to a controller that does not lead the quorum is
// forwarded to the active controller.
func TestFollowerControllerForwardsTopicChanges(t *testing.T) {
	n1 := testnode.Start(t)
	n2 := testnode.Join(t, n1, 2, nil)
	// While the active controller adds node 2 as a voter the quorum may
	// briefly have no leader: not_controller is retriable, so retry it.
	send := func(method, path, body string) (st int, raw []byte, retried bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			follower := api{t, n2.URL()}
			if n2.Controller().IsLeader() {
				follower = api{t, n1.URL()}
			}
			st, raw = follower.call(method, path, wire.MediaTypeJSON, "", []byte(body))
			if st != http.StatusServiceUnavailable || time.Now().After(deadline) {
				return st, raw, retried
			}
			retried = true
			time.Sleep(50 * time.Millisecond)
		}
	}
	st, raw, retried := send("POST", "/v1/topics", `{"name":"fwd","partitions":2}`)
	var tp wire.Topic
	created := st == http.StatusCreated && json.Unmarshal(raw, &tp) == nil && tp.PartitionCount == 2
	// A leader change can hide a committed create behind a 503; its retry
	// then finds the topic.
	if !created && !(retried && st == http.StatusConflict) {
		t.Fatalf("create through the follower controller: %d %s", st, raw)
	}
	st, raw, _ = send("POST", "/v1/topics", `{"name":"fwd","partitions":1}`)
	api{t, ""}.wantError(st, raw, http.StatusConflict, wire.CodeTopicExists)
	st, raw, retried = send("DELETE", "/v1/topics/fwd", "")
	if st != http.StatusNoContent && !(retried && st == http.StatusNotFound) {
		t.Fatalf("delete through the follower controller: %d %s", st, raw)
	}
}
