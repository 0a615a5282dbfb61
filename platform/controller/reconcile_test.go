package controller

import (
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/meta"
)

func voters(t *testing.T, c *Controller) map[raft.ServerID]raft.ServerAddress {
	t.Helper()
	f := c.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		t.Fatal(err)
	}
	out := map[raft.ServerID]raft.ServerAddress{}
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			out[s.ID] = s.Address
		}
	}
	return out
}

// TestJoinModeAddsAndRemovesVoters: the first node bootstraps alone; nodes
// that join it wait to be added by the active controller,
// which adds controller-role serf members as voters and removes those that
// leave gracefully (fencing their broker).
func TestJoinModeAddsAndRemovesVoters(t *testing.T) {
	first, second, third := newNode(t, 1), newNode(t, 2), newNode(t, 3)
	first.start(t, nil, 1)
	// Expect 1 after joining existing controllers must not bootstrap a
	// second quorum; expect 0 never bootstraps. Both wait to be added.
	second.start(t, []string{first.serfAddr}, 1)
	third.start(t, []string{first.serfAddr}, 0)
	nodes := []*node{first, second, third}
	leader := leaderOf(t, nodes)
	if leader != first {
		t.Fatalf("leader is node %d, want the bootstrapped node 1", leader.id)
	}
	// A generous deadline: voters are added once each has caught up, which
	// on a loaded machine running every package at once takes a while.
	waitFor(t, 45*time.Second, "three voters", func() bool { return len(voters(t, first.c)) == 3 })
	ctx := ctxT(t, 20*time.Second)
	waitMeta(t, first.c, 10*time.Second, "three brokers", func(md *meta.Cluster) bool { return aliveBrokers(md) == 3 })
	if _, err := first.c.CreateTopic(ctx, meta.CreateTopic{Name: "t", ReplicationFactor: 3}); err != nil {
		t.Fatal(err)
	}
	waitMeta(t, third.c, 10*time.Second, "topic replicated to a joined node", func(md *meta.Cluster) bool {
		return md.Topics["t"] != nil
	})

	// Node 3 leaves on purpose: fenced and taken out of the raft configuration.
	if err := third.m.Leave(); err != nil {
		t.Fatal(err)
	}
	third.kill()
	waitMeta(t, first.c, 15*time.Second, "leaver fenced", func(md *meta.Cluster) bool {
		b, _ := md.Broker(3)
		return b.State == meta.BrokerFenced
	})
	waitFor(t, 15*time.Second, "leaver removed from raft", func() bool {
		_, ok := voters(t, first.c)[serverID(3)]
		return !ok
	})
}

// TestReconcileFencesBrokersSerfForgot: a broker in the metadata that serf
// does not know at all (forgotten while no controller led) is fenced by the
// periodic full reconciliation.
func TestReconcileFencesBrokersSerfForgot(t *testing.T) {
	n := newNode(t, 1)
	n.start(t, nil, 1)
	leaderOf(t, []*node{n})
	ctx := ctxT(t, 10*time.Second)
	waitMeta(t, n.c, 10*time.Second, "self registered", func(md *meta.Cluster) bool { return aliveBrokers(md) == 1 })
	if _, err := n.c.RegisterBroker(ctx, meta.Broker{ID: 9, HTTPAddr: "127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	md := waitMeta(t, n.c, 10*time.Second, "ghost fenced", func(md *meta.Cluster) bool {
		b, _ := md.Broker(9)
		return b.State == meta.BrokerFenced
	})
	if b, _ := md.Broker(1); !b.Alive() {
		t.Fatal("the live node was fenced")
	}
}

func TestShouldBootstrapAlone(t *testing.T) {
	withMembership := &membership.Membership{} // only compared against nil
	self := membership.Member{ID: 1, Roles: []string{"controller", "broker"}, Status: membership.StatusAlive}
	otherCtl := membership.Member{ID: 2, Roles: []string{"controller"}, Status: membership.StatusAlive}
	otherBroker := membership.Member{ID: 3, Roles: []string{"broker"}, Status: membership.StatusAlive}
	deadCtl := membership.Member{ID: 4, Roles: []string{"controller"}, Status: membership.StatusFailed}
	tests := []struct {
		name    string
		cfg     Config
		members []membership.Member
		want    bool
	}{
		{"explicit bootstrap", Config{Bootstrap: true, Membership: withMembership}, []membership.Member{self, otherCtl}, true},
		{"expect 1 alone", Config{BootstrapExpect: 1, Membership: withMembership}, []membership.Member{self, otherBroker, deadCtl}, true},
		{"expect 1 joined controllers", Config{BootstrapExpect: 1, Membership: withMembership}, []membership.Member{self, otherCtl}, false},
		{"expect 1 without membership", Config{BootstrapExpect: 1}, nil, true},
		{"expect 0 with membership waits", Config{Membership: withMembership}, []membership.Member{self}, false},
		{"expect 0 without membership", Config{}, nil, true},
		{"expect 3 is bootstrap-expect", Config{BootstrapExpect: 3, Membership: withMembership}, []membership.Member{self}, false},
	}
	for _, tc := range tests {
		cfg := tc.cfg
		cfg.NodeID = 1
		cfg.Logger = slog.New(slog.DiscardHandler)
		if got := cfg.shouldBootstrapAlone(tc.members); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}
