package controller

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/meta"
)

// node is one controller+broker node of a loopback test cluster: real serf,
// real raft over TCP, real bbolt files.
type node struct {
	id                           meta.NodeID
	dir                          string
	raftAddr, serfAddr, httpAddr string
	m                            *membership.Membership
	c                            *Controller
	running                      bool
}

func newNode(t *testing.T, id meta.NodeID) *node {
	return &node{id: id, dir: t.TempDir(), raftAddr: freeAddr(t), serfAddr: freeAddr(t),
		httpAddr: fmt.Sprintf("127.0.0.1:%d", 18000+id)}
}

func (n *node) start(t *testing.T, join []string, expect int) {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	m, err := membership.Start(ctx, membership.Config{
		BindAddr: n.serfAddr,
		Tags: membership.Tags{NodeID: int32(n.id), Roles: []string{meta.RoleController, meta.RoleBroker},
			HTTPAddr: n.httpAddr, RaftAddr: n.raftAddr},
		Join:                join,
		ProbeInterval:       100 * time.Millisecond,
		ProbeTimeout:        100 * time.Millisecond,
		GossipInterval:      20 * time.Millisecond,
		SuspicionMult:       2,
		LeavePropagateDelay: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(n.id, n.dir, n.raftAddr)
	cfg.Membership = m
	cfg.BootstrapExpect = expect
	c, err := Start(ctx, cfg)
	if err != nil {
		_ = m.Close()
		t.Fatal(err)
	}
	n.m, n.c, n.running = m, c, true
	t.Cleanup(n.kill)
}

// kill stops the node without leaving: to the others it has crashed.
func (n *node) kill() {
	if !n.running {
		return
	}
	n.running = false
	_ = n.c.Close()
	_ = n.m.Close()
}

// leaderOf waits until every running node agrees on one leader and returns it.
func leaderOf(t *testing.T, nodes []*node) *node {
	t.Helper()
	var leader *node
	waitFor(t, 15*time.Second, "one agreed raft leader", func() bool {
		leader = nil
		var want meta.NodeID = meta.NoLeader
		for _, n := range nodes {
			if !n.running {
				continue
			}
			id, _ := n.c.Leader()
			if id == meta.NoLeader || (want != meta.NoLeader && id != want) {
				return false
			}
			want = id
			if n.c.IsLeader() {
				leader = n
			}
		}
		return leader != nil && leader.id == want
	})
	return leader
}

func aliveBrokers(md *meta.Cluster) int { return len(md.AliveBrokers()) }

func TestThreeControllers(t *testing.T) {
	nodes := []*node{newNode(t, 1), newNode(t, 2), newNode(t, 3)}
	// Bootstrap-expect 3: nobody bootstraps alone; all three form the quorum
	// once serf shows them to each other.
	nodes[0].start(t, nil, 3)
	nodes[1].start(t, []string{nodes[0].serfAddr}, 3)
	nodes[2].start(t, []string{nodes[0].serfAddr}, 3)
	leader := leaderOf(t, nodes)

	// The reconcile loop registers every serf member.
	waitMeta(t, leader.c, 10*time.Second, "three alive brokers", func(md *meta.Cluster) bool {
		return aliveBrokers(md) == 3 && md.ClusterID != ""
	})

	// A follower refuses proposals and names the leader's HTTP address.
	var follower *node
	for _, n := range nodes {
		if n != leader {
			follower = n
			break
		}
	}
	ctx := ctxT(t, 30*time.Second)
	_, err := follower.c.CreateTopic(ctx, meta.CreateTopic{Name: "x"})
	var nce *NotControllerError
	if !errors.As(err, &nce) || !errors.Is(err, ErrNotController) || nce.LeaderID != leader.id || nce.LeaderHTTPAddr != leader.httpAddr {
		t.Fatalf("proposal on a follower: %v (%+v)", err, nce)
	}

	// A topic created on the leader is seen by all.
	if _, err := leader.c.CreateTopic(ctx, meta.CreateTopic{Name: "orders", Partitions: 3, ReplicationFactor: 3}); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		waitMeta(t, n.c, 10*time.Second, fmt.Sprintf("topic on node %d", n.id), func(md *meta.Cluster) bool {
			_, ok := md.Topic("orders")
			return ok
		})
	}

	// Kill a broker that leads a partition (not the raft leader): the active
	// controller fences it and moves leadership with an epoch bump.
	victim := follower
	var led meta.Partition
	for _, p := range leader.c.Metadata().Topics["orders"].Partitions {
		if p.Leader == victim.id {
			led = p
		}
	}
	if led.Leader != victim.id {
		t.Fatalf("node %d leads no partition of %+v", victim.id, leader.c.Metadata().Topics["orders"].Partitions)
	}
	victim.kill()
	md := waitMeta(t, leader.c, 15*time.Second, "victim fenced", func(md *meta.Cluster) bool {
		b, _ := md.Broker(victim.id)
		return b.State == meta.BrokerFenced
	})
	p := md.Topics["orders"].Partitions[led.Index]
	if p.Leader == victim.id || p.Leader == meta.NoLeader || p.LeaderEpoch != led.LeaderEpoch+1 || p.InISR(victim.id) {
		t.Fatalf("partition %d after fencing %d: %+v (before %+v)", led.Index, victim.id, p, led)
	}

	// It comes back from its data dir: re-registered (unfenced) and caught up.
	victim.start(t, []string{leader.serfAddr}, 3)
	waitMeta(t, leader.c, 15*time.Second, "victim alive again", func(md *meta.Cluster) bool {
		b, _ := md.Broker(victim.id)
		return b.State == meta.BrokerAlive
	})
	waitMeta(t, victim.c, 15*time.Second, "victim caught up", func(md *meta.Cluster) bool {
		b, ok := md.Broker(victim.id)
		return ok && b.Alive() && md.Topics["orders"] != nil
	})

	// Stop the raft leader: the other two elect a new one that keeps serving
	// and fences the old leader's broker.
	old := leader
	old.kill()
	leader = leaderOf(t, nodes)
	if leader == old {
		t.Fatal("stopped node still leader")
	}
	waitMeta(t, leader.c, 15*time.Second, "old leader fenced", func(md *meta.Cluster) bool {
		b, _ := md.Broker(old.id)
		return b.State == meta.BrokerFenced
	})
	if _, err := proposeRetry(ctx, leader.c, meta.CreateTopic{Name: "after-failover", Partitions: 2, ReplicationFactor: 2}); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.running {
			waitMeta(t, n.c, 10*time.Second, "topic after failover", func(md *meta.Cluster) bool {
				return md.Topics["after-failover"] != nil
			})
		}
	}
}

// proposeRetry retries a create while leadership settles.
func proposeRetry(ctx context.Context, c *Controller, ct meta.CreateTopic) (*meta.Topic, error) {
	for {
		tp, err := c.CreateTopic(ctx, ct)
		if !errors.Is(err, ErrNotController) || ctx.Err() != nil {
			return tp, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
