package broker

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
)

// sessionParts lists the partitions of b's normal or throttled fetch
// sessions ("topic-index").
func sessionParts(b *Broker, throttled bool) []string {
	fs := &b.fetchers
	fs.mu.Lock()
	defer fs.mu.Unlock()
	sessions := fs.byLeader
	if throttled {
		sessions = fs.throttled
	}
	var out []string
	for _, f := range sessions {
		f.mu.Lock()
		for p := range f.parts {
			out = append(out, p.String())
		}
		f.mu.Unlock()
	}
	slices.Sort(out)
	return out
}

// Under a reassignment throttle the replica being added is fetched in a
// throttled session of its own and copies no faster than the throttle
// allows, while the same broker's in-sync follower of another partition
// is fetched as before: acks=all there completes (the ISR never shrinks
// in this test, so an acknowledgement needs that follower to hold the
// records, and 200 KiB at the throttle's 1 KiB/s would outlast the
// produce timeout many times). Raising the throttle lets the move
// complete, and the throttled session and the budget go away with it.
// Over a replication stream and over requests alike.
func TestThrottleOnlyTheReplicasBeingAdded(t *testing.T) {
	for _, streaming := range []bool{true, false} {
		t.Run(fmt.Sprintf("streaming=%v", streaming), func(t *testing.T) { testThrottleOnlyAdded(t, streaming) })
	}
}

func testThrottleOnlyAdded(t *testing.T, streaming bool) {
	src := newMemSource(t, 1, 2, 3)
	net := &memReplicas{by: map[meta.NodeID]*Broker{}}
	var brokers []*Broker
	for _, id := range []meta.NodeID{1, 2, 3} {
		b, err := Start(context.Background(), Config{
			NodeID: int32(id), DataDir: t.TempDir(), Metadata: src, Logger: quiet,
			Replicas: &memStreamer{memReplicas: net, self: int32(id)}, ReplicaStreaming: streaming,
			Heartbeat: memHeartbeat(src), HeartbeatInterval: 10 * time.Millisecond,
			ReplicaLagMax: time.Hour, ReplicaBackoff: 5 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		net.set(id, b)
		brokers = append(brokers, b)
	}
	defer func() {
		for _, b := range brokers {
			b.Close()
		}
	}()
	src.propose(t, meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{Name: "moving", Partitions: 1, ReplicationFactor: 2}})
	waitVersion(t, brokers[0], src.propose(t, meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{Name: "steady", Partitions: 1, ReplicationFactor: 3}}))
	eventually(t, "brokers registered", func() bool {
		return brokers[0].Registered() && brokers[1].Registered() && brokers[2].Registered()
	})
	part := func(topic string) meta.Partition { return src.Metadata().Topics[topic].Partitions[0] }
	leaderOf := func(topic string) *Broker { return brokers[part(topic).Leader-1] }
	for _, topic := range []string{"moving", "steady"} {
		eventually(t, topic+" led", func() bool {
			info, err := leaderOf(topic).PartitionInfo(topic, 0)
			return err == nil && info.Leader
		})
	}
	// 32 batches of 4 KiB on "moving".
	for i := range 32 {
		recs := []record.Record{{Value: bytes.Repeat([]byte{byte(i)}, 4<<10)}}
		if _, err := leaderOf("moving").ProducePartition(context.Background(), "moving", 0, recs, AcksAll, 20*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	mv := part("moving")
	var adder *Broker
	for _, b := range brokers {
		if !mv.IsReplica(meta.NodeID(b.cfg.NodeID)) {
			adder = b
		}
	}
	const rate = 1 << 10
	start := time.Now()
	target := append(slices.Clone(mv.Replicas), meta.NodeID(adder.cfg.NodeID))
	waitVersion(t, adder, src.propose(t, meta.Command{Op: meta.OpReassignPartitions, ReassignPartitions: &meta.ReassignPartitions{
		Reassignments: []meta.Reassignment{{Topic: "moving", Partition: 0, Replicas: target, Throttle: rate}}}}))
	if got := sessionParts(adder, true); !slices.Equal(got, []string{"moving-0"}) {
		t.Fatalf("throttled sessions of node %d: %v", adder.cfg.NodeID, got)
	}
	if got := sessionParts(adder, false); !slices.Contains(got, "steady-0") || slices.Contains(got, "moving-0") {
		t.Fatalf("normal sessions of node %d: %v", adder.cfg.NodeID, got)
	}
	// acks=all on the partition that is not moving, through the same
	// broker's in-sync follower: 50 batches of 4 KiB written, then one
	// acks=all record, which needs all 200 KiB on every ISR member (at
	// the throttle's 1 KiB/s that would take over three minutes).
	steady := leaderOf("steady")
	for i := range 50 {
		if _, err := steady.ProducePartition(context.Background(), "steady", 0, []record.Record{{Value: bytes.Repeat([]byte{byte(i)}, 4<<10)}}, AcksLeader, 20*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := steady.ProducePartition(context.Background(), "steady", 0, []record.Record{{Value: []byte("last")}}, AcksAll, 20*time.Second); err != nil {
		t.Fatalf("acks=all beside a throttled move: %v", err)
	}
	if info, err := adder.PartitionInfo("steady", 0); err != nil || info.LogEnd != 51 {
		t.Fatalf("node %d's in-sync follower of steady: %+v %v", adder.cfg.NodeID, info, err)
	}
	// The copy stays under the bucket's bound: one chunk, one batch past
	// a reservation, and the rate since the move began.
	info, err := adder.PartitionInfo("moving", 0)
	if err != nil {
		t.Fatal(err)
	}
	if bound := int64(time.Since(start).Seconds()*rate) + MinThrottleChunk + 2*(4<<10+256); info.LogBytes > bound {
		t.Fatalf("the throttled copy holds %d bytes after %v: above %d", info.LogBytes, time.Since(start), bound)
	}
	copies := adder.Copies()
	if len(copies) != 1 || copies[0].Topic != "moving" || copies[0].Throttle != rate || copies[0].LogBytes != info.LogBytes {
		t.Fatalf("copies: %+v (log %d bytes)", copies, info.LogBytes)
	}

	// Raise the throttle: the move completes; no throttled session, no budget.
	src.propose(t, meta.Command{Op: meta.OpReassignPartitions, ReassignPartitions: &meta.ReassignPartitions{
		Reassignments: []meta.Reassignment{{Topic: "moving", Partition: 0, Throttle: 1 << 30}}}})
	eventually(t, "move complete", func() bool {
		p := part("moving")
		return !p.Reassigning() && len(p.ISR) == 3
	})
	eventually(t, fmt.Sprintf("node %d without throttled sessions", adder.cfg.NodeID), func() bool {
		adder.throttle.mu.Lock()
		rate := adder.throttle.rate
		adder.throttle.mu.Unlock()
		return len(sessionParts(adder, true)) == 0 && rate == 0 && len(adder.Copies()) == 0
	})
	want, _ := leaderOf("moving").LocalBatches("moving", 0, 0, 1<<30)
	eventually(t, "the added replica equals the leader's", func() bool {
		got, err := adder.LocalBatches("moving", 0, 0, 1<<30)
		if err != nil || len(got) != len(want) || len(want) != 32 {
			return false
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				return false
			}
		}
		return true
	})
}
