package controller

import (
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/meta"
)

// TestForeignMemberIsIgnored: a member whose cluster tag names another
// cluster (a node of a second cluster that reached this one's gossip) is
// never registered as a broker nor made a raft voter: adding a voter that
// will vanish is how a foreign node costs a cluster its quorum.
func TestForeignMemberIsIgnored(t *testing.T) {
	first := newNode(t, 1)
	first.start(t, nil, 1)
	leaderOf(t, []*node{first})
	ctx := ctxT(t, 10*time.Second)
	waitMeta(t, first.c, 10*time.Second, "own broker registered", func(md *meta.Cluster) bool { return aliveBrokers(md) == 1 })

	foreign := membership.Member{ID: 2, Name: "node-2", Cluster: "another", Status: membership.StatusAlive,
		Roles: []string{meta.RoleController, meta.RoleBroker}, HTTPAddr: "127.0.0.1:18002",
		RaftAddr: freeAddr(t), SerfAddr: freeAddr(t)}
	first.c.reconcileMember(ctx, foreign, false)
	if _, ok := first.c.Metadata().Broker(2); ok {
		t.Fatal("a member of another cluster was registered as a broker")
	}
	if v := voters(t, first.c); len(v) != 1 {
		t.Fatalf("voters %v: a member of another cluster was added", v)
	}
	// The same node of this cluster is registered: the test can fail.
	foreign.Cluster = first.m.Cluster()
	first.c.reconcileMember(ctx, foreign, false)
	if _, ok := first.c.Metadata().Broker(2); !ok {
		t.Fatal("a member of this cluster was not registered")
	}
}

// TestDepartedVoterKeptWithoutAliveMajority: a controller that leaves is
// taken out of the raft configuration only if the voters serf shows alive
// still form a majority without it.
func TestDepartedVoterKeptWithoutAliveMajority(t *testing.T) {
	first := newNode(t, 1)
	first.start(t, nil, 1)
	leaderOf(t, []*node{first})
	three := []raft.Server{
		{Suffrage: raft.Voter, ID: serverID(1)}, {Suffrage: raft.Voter, ID: serverID(2)}, {Suffrage: raft.Voter, ID: serverID(3)},
	}
	// Node 2 is down (serf does not show it), node 3 leaves: {1, 2} with
	// only 1 alive has no majority.
	if first.c.quorumWithout(three, serverID(3)) {
		t.Fatal("removing node 3 while node 2 is down was allowed")
	}
	// Node 2 comes up: {1, 2} both alive.
	second := newNode(t, 2)
	m, err := membership.Start(ctxT(t, 5*time.Second), membership.Config{BindAddr: second.serfAddr, Join: []string{first.serfAddr},
		Tags: membership.Tags{NodeID: 2, Roles: []string{meta.RoleBroker}, HTTPAddr: second.httpAddr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	waitFor(t, 10*time.Second, "node 2 alive in serf", func() bool {
		for _, mem := range first.m.Members() {
			if mem.ID == 2 && mem.Status == membership.StatusAlive {
				return true
			}
		}
		return false
	})
	if !first.c.quorumWithout(three, serverID(3)) {
		t.Fatal("removing node 3 with nodes 1 and 2 alive was refused")
	}
}
