package controller

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
)

// The active controller's rebalance loop gives a broker back the
// partitions it prefers once it is in their ISRs again; with the loop
// disabled leadership stays where failover put it.
func TestAutoLeaderRebalance(t *testing.T) {
	for _, disabled := range []bool{false, true} {
		t.Run(map[bool]string{false: "enabled", true: "disabled"}[disabled], func(t *testing.T) {
			c := startSingle(t, t.TempDir(), func(cfg *Config) {
				cfg.LeaderRebalance = LeaderRebalance{Disabled: disabled, Interval: 20 * time.Millisecond}
			})
			ctx := ctxT(t, 20*time.Second)
			for id := meta.NodeID(1); id <= 3; id++ {
				if _, err := c.RegisterBroker(ctx, meta.Broker{ID: id, HTTPAddr: fmt.Sprintf("http://127.0.0.1:%d", 9000+id), Roles: []string{meta.RoleBroker}}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.CreateTopic(ctx, meta.CreateTopic{Name: "t", Partitions: 6, ReplicationFactor: 3}); err != nil {
				t.Fatal(err)
			}
			// Broker 1 fails over and comes back; its leaders let it
			// back into their ISRs.
			if err := c.FenceBroker(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if _, err := c.RegisterBroker(ctx, meta.Broker{ID: 1, HTTPAddr: "http://127.0.0.1:9101", Roles: []string{meta.RoleBroker}}); err != nil {
				t.Fatal(err)
			}
			md := c.Metadata()
			for _, p := range md.Topics["t"].Partitions {
				if p.InISR(1) {
					continue
				}
				_, err := c.AlterPartition(ctx, meta.AlterPartition{Topic: "t", Partition: p.Index, Leader: p.Leader,
					LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: append(slices.Clone(p.ISR), 1)})
				if err != nil && !errors.Is(err, meta.ErrStaleEpoch) { // the loop may have moved it meanwhile
					t.Fatal(err)
				}
			}
			balanced := func(md *meta.Cluster) bool { return meta.NotPreferred(md) == 0 }
			if !disabled {
				waitMeta(t, c, 10*time.Second, "preferred leaders back", balanced)
				return
			}
			time.Sleep(200 * time.Millisecond) // ten intervals of a loop that must not run
			if balanced(c.Metadata()) {
				t.Fatal("leadership rebalanced with the automatic rebalance disabled")
			}
		})
	}
}

func TestRemoveControllerRefusals(t *testing.T) {
	c := startSingle(t, t.TempDir(), nil)
	ctx := ctxT(t, 10*time.Second)
	if err := c.RemoveController(ctx, 7); !errors.Is(err, ErrUnknownController) {
		t.Fatalf("remove unknown: %v", err)
	}
	if err := c.RemoveController(ctx, 1); !errors.Is(err, ErrControllerAlive) {
		t.Fatalf("remove itself: %v", err)
	}
	if err := c.AddController(ctx, 2); !errors.Is(err, ErrUnknownController) {
		t.Fatalf("add without membership: %v", err)
	}
	servers, err := c.Servers()
	if err != nil || len(servers) != 1 || !servers[0].Voter || !servers[0].Alive {
		t.Fatalf("servers %+v %v", servers, err)
	}
	if st := c.Status(); st.State != "Leader" || st.Term == 0 || st.LastIndex == 0 || st.Leader != 1 {
		t.Fatalf("status %+v", st)
	}
}

// A crashed controller stays a voter (the quorum counts it as absent)
// until an operator removes it; an alive one cannot be removed.
func TestRemoveCrashedController(t *testing.T) {
	nodes := []*node{newNode(t, 1), newNode(t, 2), newNode(t, 3)}
	nodes[0].start(t, nil, 3)
	nodes[1].start(t, []string{nodes[0].serfAddr}, 3)
	nodes[2].start(t, []string{nodes[0].serfAddr}, 3)
	leader := leaderOf(t, nodes)
	var victim, other *node
	for _, n := range nodes {
		switch {
		case n == leader:
		case victim == nil:
			victim = n
		default:
			other = n
		}
	}
	ctx := ctxT(t, 30*time.Second)
	if err := leader.c.RemoveController(ctx, other.id); !errors.Is(err, ErrControllerAlive) {
		t.Fatalf("remove alive controller %d: %v", other.id, err)
	}
	if err := other.c.RemoveController(ctx, victim.id); !errors.Is(err, ErrNotController) {
		t.Fatalf("remove on a follower: %v", err)
	}
	victim.kill()
	waitFor(t, 15*time.Second, "serf to see the victim fail", func() bool {
		for _, m := range leader.m.Members() {
			if meta.NodeID(m.ID) == victim.id {
				return m.Status != "alive"
			}
		}
		return true
	})
	servers, err := leader.c.Servers()
	if err != nil || !slices.ContainsFunc(servers, func(s Server) bool { return s.ID == victim.id && s.Voter && !s.Alive }) {
		t.Fatalf("before removal: %+v %v", servers, err)
	}
	// Leadership may move on a loaded machine: ask whoever leads, until
	// the removal is committed.
	for {
		leader = leaderOf(t, nodes)
		err := leader.c.RemoveController(ctx, victim.id)
		if err == nil || errors.Is(err, ErrUnknownController) {
			break
		}
		if !errors.Is(err, ErrNotController) || ctx.Err() != nil {
			t.Fatal(err)
		}
	}
	servers, err = leader.c.Servers()
	if err != nil || len(servers) != 2 || slices.ContainsFunc(servers, func(s Server) bool { return s.ID == victim.id }) {
		t.Fatalf("after removal: %+v %v", servers, err)
	}
	if err := leader.c.RemoveController(ctx, victim.id); !errors.Is(err, ErrUnknownController) {
		t.Fatalf("remove twice: %v", err)
	}
	// The two left still commit.
	if _, err := proposeRetry(ctx, leader.c, meta.CreateTopic{Name: "after-removal"}); err != nil {
		t.Fatal(err)
	}
}
