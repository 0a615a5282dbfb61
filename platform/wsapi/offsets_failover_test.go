package wsapi_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// TestCommittedOffsetsSurviveLossOfTheirLeader: on 3 nodes a group commits
// offsets; the node leading the group's __consumer_offsets partition (its
// coordinator) stops. Through the other nodes the group's committed offset
// is still served (never lower than what was committed) and new commits
// are accepted: the coordinator moved with the partition's leadership.
func TestCommittedOffsetsSurviveLossOfTheirLeader(t *testing.T) {
	n1 := testnode.Start(t)
	n2 := testnode.Join(t, n1, 2, nil)
	n3 := testnode.Join(t, n1, 3, nil)
	nodes := []*testnode.Node{n1, n2, n3}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	eventually(t, 30*time.Second, "three alive brokers", func() bool {
		return len(n1.Controller().Metadata().AliveBrokers()) == 3
	})
	admin, err := client.New(n1.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var lastErr error
	eventually(t, 30*time.Second, "the topic is created", func() bool {
		_, lastErr = admin.CreateTopic(ctx, wire.CreateTopicRequest{Name: "gt", Partitions: 1, ReplicationFactor: 3})
		return lastErr == nil || errors.Is(lastErr, client.ErrTopicExists)
	})
	recs := make([]client.Record, 20)
	for i := range recs {
		recs[i] = client.Record{Value: []byte{byte(i)}}
	}
	eventually(t, 30*time.Second, "the records are produced", func() bool {
		var res []client.ProduceResult
		res, lastErr = admin.Produce(ctx, "gt", recs, client.ProduceOptions{})
		for _, r := range res {
			if r.Err != nil {
				lastErr = r.Err
			}
		}
		return lastErr == nil // a retry may duplicate records: the test needs at least 20
	})

	const group = "survivor"
	committed := func(c *client.Client) (int64, error) {
		g, err := c.DescribeGroup(ctx, group)
		if err != nil {
			return -1, err
		}
		for _, o := range g.Offsets {
			if o.Topic == "gt" && o.Partition == 0 {
				return o.Committed, nil
			}
		}
		return -1, nil
	}
	eventually(t, 30*time.Second, "the records are committed", func() bool {
		hw, err := admin.Offset(ctx, "gt", 0, "latest")
		if err != nil || hw < 20 {
			lastErr = fmt.Errorf("high watermark %d, %v", hw, err)
		}
		return err == nil && hw >= 20
	})
	// The group commits offset 7 (a commit through its coordinator).
	eventually(t, 60*time.Second, "the first commit", func() bool {
		_, lastErr = admin.ResetGroupOffsets(ctx, group, wire.ResetOffsetsRequest{Topic: "gt", To: "7"})
		return lastErr == nil
	})
	// Its offsets partition is replicated to all three nodes and in sync.
	var leader meta.NodeID
	eventually(t, 60*time.Second, "the group's offsets partition in sync on 3 replicas", func() bool {
		offs, ok := n1.Controller().Metadata().Topic("__consumer_offsets")
		if !ok || offs.Config.MinInsyncReplicas != 2 {
			return false
		}
		p := offs.Partitions[partitioner.HashPartition([]byte(group), len(offs.Partitions))]
		leader = p.Leader
		return len(p.Replicas) == 3 && len(p.ISR) == 3
	})

	if off, err := committed(admin); err != nil || off != 7 {
		t.Fatalf("before the loss: committed %d, %v; want 7", off, err)
	}
	// Fault: the coordinator (leader of the group's offsets partition) stops.
	var rest []*testnode.Node
	for _, n := range nodes {
		if meta.NodeID(n.ID()) == leader {
			n.Stop(t)
		} else {
			rest = append(rest, n)
		}
	}
	if len(rest) != 2 {
		t.Fatalf("offsets partition led by node %d, not one of the three", leader)
	}

	for _, n := range rest {
		c, err := client.New(n.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		eventually(t, 60*time.Second, "the committed offset served through another node", func() bool {
			off, err := committed(c)
			if err == nil && off != 7 {
				t.Fatalf("committed offset through node %d after the loss: %d, want 7 (never backwards)", n.ID(), off)
			}
			return err == nil
		})
	}
	c, err := client.New(rest[0].URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	eventually(t, 60*time.Second, "a new commit accepted", func() bool {
		_, lastErr = c.ResetGroupOffsets(ctx, group, wire.ResetOffsetsRequest{Topic: "gt", To: "12"})
		return lastErr == nil
	})
	for _, n := range rest {
		c, err := client.New(n.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if off, err := committed(c); err != nil || off != 12 {
			t.Fatalf("after the new commit, node %d serves %d, %v; want 12", n.ID(), off, err)
		}
	}
	offs, _ := rest[0].Controller().Metadata().Topic("__consumer_offsets")
	p := offs.Partitions[partitioner.HashPartition([]byte(group), len(offs.Partitions))]
	if p.Leader == leader || !slices.Contains(p.Replicas, leader) {
		t.Fatalf("offsets partition after the loss: leader %d, replicas %v", p.Leader, p.Replicas)
	}
}

// TestOffsetsTopicGrowsAsBrokersJoin: the upgrade path. On one node
// __consumer_offsets is created with one replica and a group commits; as
// two more nodes join, the controller raises it to three replicas (new
// ones outside the ISR that catch up and join it) and then to
// min.insync.replicas 2; the commit made before is still served.
func TestOffsetsTopicGrowsAsBrokersJoin(t *testing.T) {
	n1 := testnode.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	eventually(t, 30*time.Second, "__consumer_offsets created", func() bool {
		_, ok := n1.Controller().Metadata().Topic("__consumer_offsets")
		return ok
	})
	if offs, _ := n1.Controller().Metadata().Topic("__consumer_offsets"); offs.ReplicationFactor != 1 || offs.Config.MinInsyncReplicas != 1 {
		t.Fatalf("on one broker: RF %d, min.insync %d; want 1, 1", offs.ReplicationFactor, offs.Config.MinInsyncReplicas)
	}
	admin, err := client.New(n1.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.CreateTopic(ctx, wire.CreateTopicRequest{Name: "up", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	recs := make([]client.Record, 10)
	for i := range recs {
		recs[i] = client.Record{Value: []byte{byte(i)}}
	}
	var lastErr error
	eventually(t, 30*time.Second, "records produced and committed", func() bool {
		var res []client.ProduceResult
		if res, lastErr = admin.Produce(ctx, "up", recs, client.ProduceOptions{}); lastErr == nil {
			for _, r := range res {
				if r.Err != nil {
					lastErr = r.Err
				}
			}
		}
		hw, err := admin.Offset(ctx, "up", 0, "latest")
		return lastErr == nil && err == nil && hw >= 10
	})
	eventually(t, 30*time.Second, "the commit", func() bool {
		_, lastErr = admin.ResetGroupOffsets(ctx, "early", wire.ResetOffsetsRequest{Topic: "up", To: "3"})
		return lastErr == nil
	})

	n2 := testnode.Join(t, n1, 2, nil)
	testnode.Join(t, n1, 3, nil)
	eventually(t, 90*time.Second, "__consumer_offsets raised to 3 replicas in sync and min.insync.replicas 2", func() bool {
		offs, _ := n1.Controller().Metadata().Topic("__consumer_offsets")
		if offs.ReplicationFactor != 3 || offs.Config.MinInsyncReplicas != 2 {
			return false
		}
		for _, p := range offs.Partitions {
			if len(p.Replicas) != 3 || len(p.ISR) < 2 {
				return false
			}
		}
		return true
	})
	c2, err := client.New(n2.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	g, err := c2.DescribeGroup(ctx, "early")
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Offsets) != 1 || g.Offsets[0].Committed != 3 {
		t.Fatalf("the commit made on one node, after the raise: %+v, want 3", g.Offsets)
	}
}
