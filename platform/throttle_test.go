package platform_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// A reassignment with a throttle: the replica being added copies no
// faster than the throttle allows (an upper bound, which a slow machine
// only makes easier to meet), every node's metadata carries the same
// throttle, the status reports bytes left, a copy rate, an ETA and the
// throttle; once the throttle is lifted the move completes with every
// record on every replica, and the throttle is gone from the metadata.
func TestReassignThrottled(t *testing.T) {
	nodes := threeNodes(t)
	a := api{t, nodes[0].URL()}
	const topic = "throttled"
	createTopicRF(t, a, topic, 1, 2)
	fullISR(t, topic, nodes...)

	// 4 MiB in 32 KiB batches.
	const batches, perBatch, valueSize = 128, 32, 1 << 10
	value := strings.Repeat("x", valueSize-8)
	for i := range batches {
		var req wire.ProduceRequest
		for j := range perBatch {
			req.Records = append(req.Records, wire.ProduceRecord{Value: fmt.Sprintf("%07d", i*perBatch+j) + value})
		}
		var pr wire.ProduceResponse
		a.json("POST", "/v1/topics/"+topic+"/records?acks=all&timeout_ms=30000", req, &pr)
		for _, r := range pr.Results {
			if r.Error != nil {
				t.Fatalf("produce: %+v", r.Error)
			}
		}
	}
	const total = batches * perBatch
	p, _ := partitionMeta(nodes[0], topic)
	var adder *testnode.Node
	for _, n := range nodes {
		if !p.IsReplica(meta.NodeID(n.ID())) {
			adder = n
		}
	}
	target := append(nodeIDs32(p.Replicas), adder.ID())

	const rate = 256 << 10
	start := time.Now()
	postRetrying(t, a, "/v1/partitions/reassignments", wire.ReassignRequest{Reassignments: []wire.Reassignment{
		{Topic: topic, Partition: 0, Replicas: target, Throttle: rate}}})
	// The bucket holds one chunk at first; each answer may carry one
	// batch (32 KiB and its header) past its reservation.
	bound := func(elapsed time.Duration) int64 {
		chunk := int64(max(rate/10, broker.MinThrottleChunk))
		return int64(elapsed.Seconds()*rate) + chunk + 2*(perBatch*valueSize+4<<10)
	}
	var copied int64
	for time.Since(start) < 3*time.Second {
		if info, err := adder.Broker().PartitionInfo(topic, 0); err == nil {
			copied = info.LogBytes
		}
		if elapsed := time.Since(start); copied > bound(elapsed) {
			t.Fatalf("the added replica holds %d bytes %v after the move began: above the throttle's bound %d", copied, elapsed, bound(elapsed))
		}
		time.Sleep(50 * time.Millisecond) // sampling interval, not synchronisation
	}
	t.Logf("throttled at %d B/s: %d bytes copied in %v (bound %d)", rate, copied, time.Since(start), bound(time.Since(start)))
	for _, n := range nodes {
		eventually(t, fmt.Sprintf("node %d sees the throttle", n.ID()), func() (bool, string) {
			np, _ := partitionMeta(n, topic)
			return np.ReassignThrottle == rate, fmt.Sprintf("%+v", np)
		})
	}
	eventually(t, "status with bytes left and the throttle", func() (bool, string) {
		var list wire.ReassignmentList
		a.json("GET", "/v1/partitions/reassignments", nil, &list)
		if len(list.Reassignments) != 1 {
			return false, fmt.Sprintf("%+v", list)
		}
		r := list.Reassignments[0]
		ok := r.Throttle == rate && r.LeaderLogBytes >= total*valueSize && len(r.Copies) == 1 && r.Copies[0].Throttled &&
			r.Copies[0].Replica == adder.ID() && r.Progress.BytesLeft > 0 && r.Progress.BytesLeft <= r.LeaderLogBytes &&
			list.Total.BytesLeft == r.Progress.BytesLeft && r.Copies[0].Rate > 0 && r.Progress.ETASeconds > 0
		return ok, fmt.Sprintf("%+v", list)
	})

	// Lift the throttle: the move completes.
	postRetrying(t, a, "/v1/partitions/reassignments", wire.ReassignRequest{Reassignments: []wire.Reassignment{
		{Topic: topic, Partition: 0, RemoveThrottle: true}}})
	for _, n := range nodes {
		eventually(t, fmt.Sprintf("node %d: move complete, throttle gone", n.ID()), func() (bool, string) {
			np, _ := partitionMeta(n, topic)
			return !np.Reassigning() && len(np.ISR) == 3 && slices.Equal(nodeIDs32(np.Replicas), target) && np.ReassignThrottle == 0,
				fmt.Sprintf("%+v", np)
		})
	}
	replicasEqual(t, topic, total, nodes...)
	np, _ := partitionMeta(nodes[0], topic)
	got := api{t, nodes[slices.IndexFunc(nodes, func(n *testnode.Node) bool { return n.ID() == int32(np.Leader) })].URL()}.consume(topic, 0)
	if len(got) != total {
		t.Fatalf("read %d records after the move, want %d", len(got), total)
	}
	for i, r := range got {
		if want := fmt.Sprintf("%07d", i); r.Offset != int64(i) || !strings.HasPrefix(string(r.Value), want) {
			t.Fatalf("record %d: offset %d value %.12q", i, r.Offset, r.Value)
		}
	}
}

// The throttle lives in the metadata: when the active controller stops in
// the middle of a throttled move, the new one has the same throttle, the
// added replica still copies under it, and lifting it through the new
// controller completes the move.
func TestReassignThrottleSurvivesControllerFailover(t *testing.T) {
	nodes := threeNodes(t)
	var ctl *testnode.Node
	eventually(t, "an active controller", func() (bool, string) {
		for _, n := range nodes {
			if n.Controller() != nil && n.Controller().IsLeader() {
				ctl = n
				return true, ""
			}
		}
		return false, ""
	})
	var rest []*testnode.Node
	for _, n := range nodes {
		if n != ctl {
			rest = append(rest, n)
		}
	}
	a := api{t, rest[0].URL()}
	const topic = "failover"
	createTopicRF(t, a, topic, 1, 1)
	// The partition lives on rest[0] (moved there while empty), rest[1]
	// is added: the stopping controller holds no replica of it.
	postRetrying(t, a, "/v1/partitions/reassignments", wire.ReassignRequest{Reassignments: []wire.Reassignment{
		{Topic: topic, Partition: 0, Replicas: []int32{rest[0].ID()}}}})
	eventually(t, "partition on node "+fmt.Sprint(rest[0].ID()), func() (bool, string) {
		p, _ := partitionMeta(rest[0], topic)
		return slices.Equal(p.Replicas, []meta.NodeID{meta.NodeID(rest[0].ID())}) && !p.Reassigning() && p.Leader == meta.NodeID(rest[0].ID()), fmt.Sprintf("%+v", p)
	})
	value := strings.Repeat("y", 1<<10)
	for i := range 64 {
		var req wire.ProduceRequest
		for range 32 {
			req.Records = append(req.Records, wire.ProduceRecord{Value: value})
		}
		var pr wire.ProduceResponse
		a.json("POST", "/v1/topics/"+topic+"/records?acks=all&timeout_ms=30000", req, &pr)
		for _, r := range pr.Results {
			if r.Error != nil {
				t.Fatalf("produce batch %d: %+v", i, r.Error)
			}
		}
	}
	const rate = 128 << 10
	target := []int32{rest[0].ID(), rest[1].ID()}
	moveStart := time.Now()
	postRetrying(t, a, "/v1/partitions/reassignments", wire.ReassignRequest{Reassignments: []wire.Reassignment{
		{Topic: topic, Partition: 0, Replicas: target, Throttle: rate}}})
	ctl.Stop(t)
	var next *testnode.Node
	eventually(t, "a new active controller", func() (bool, string) {
		for _, n := range rest {
			if n.Controller().IsLeader() {
				next = n
				return true, ""
			}
		}
		return false, ""
	})
	p, err := next.Controller().Metadata().PartitionOf(topic, 0)
	if err != nil || p.ReassignThrottle != rate || !p.Reassigning() {
		t.Fatalf("the new controller's partition: %+v %v", p, err)
	}
	// Still under the throttle's bound after the failover.
	time.Sleep(time.Second) // lets the copy run, not synchronisation
	if info, err := rest[1].Broker().PartitionInfo(topic, 0); err == nil {
		elapsed := time.Since(moveStart)
		if bound := int64(elapsed.Seconds()*rate) + max(rate/10, broker.MinThrottleChunk) + 2*(32<<10+4<<10); info.LogBytes > bound {
			t.Fatalf("the throttled copy holds %d bytes %v after the move began: above %d", info.LogBytes, elapsed, bound)
		}
	}
	postRetrying(t, a, "/v1/partitions/reassignments", wire.ReassignRequest{Reassignments: []wire.Reassignment{
		{Topic: topic, Partition: 0, RemoveThrottle: true}}})
	for _, n := range rest {
		eventually(t, fmt.Sprintf("node %d: move complete, throttle gone", n.ID()), func() (bool, string) {
			np, _ := partitionMeta(n, topic)
			return !np.Reassigning() && len(np.ISR) == 2 && np.ReassignThrottle == 0, fmt.Sprintf("%+v", np)
		})
	}
	replicasEqual(t, topic, 64*32, rest...)
}
