package controller

import (
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/meta"
)

// TestUnreadyControllerIsOnlyANonvoter: a controller member whose raft has
// not caught up (here: nothing answers at its raft address, as with a
// wrong advertised address or a crash right after joining) is added as a
// non-voter, so the one-voter quorum keeps committing. Made a voter at
// once, it would be half of a two-voter quorum that never answers.
func TestUnreadyControllerIsOnlyANonvoter(t *testing.T) {
	first := newNode(t, 1)
	first.start(t, nil, 1)
	leaderOf(t, []*node{first})
	ctx := ctxT(t, 20*time.Second)
	ghost := membership.Member{ID: 2, Name: "node-2", Cluster: first.m.Cluster(), Status: membership.StatusAlive,
		Roles: []string{meta.RoleController, meta.RoleBroker}, HTTPAddr: "127.0.0.1:18002",
		RaftAddr: freeAddr(t), SerfAddr: freeAddr(t)}
	first.c.reconcileMember(ctx, ghost, false)

	f := first.c.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		t.Fatal(err)
	}
	var suffrage raft.ServerSuffrage = -1
	for _, s := range f.Configuration().Servers {
		if s.ID == serverID(2) {
			suffrage = s.Suffrage
		}
	}
	if suffrage != raft.Nonvoter {
		t.Fatalf("the unready controller's suffrage is %v, want Nonvoter", suffrage)
	}
	if _, err := first.c.CreateTopic(ctx, meta.CreateTopic{Name: "still-committing", Partitions: 1, ReplicationFactor: 1}); err != nil {
		t.Fatalf("the quorum stopped committing: %v", err)
	}
}
