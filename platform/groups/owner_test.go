package groups

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
)

// TestOnlyTheOffsetsLeaderCoordinates: a node that does not lead a
// group's __consumer_offsets partition refuses to coordinate it (join,
// describe, reset, delete) and names the node that does, so that two
// members of one group on different nodes never get a coordinator each.
func TestOnlyTheOffsetsLeaderCoordinates(t *testing.T) {
	log := newMemLog()
	log.createTopic("jobs", 2)
	c := newTestCoordinator(t, log)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ld, err := c.CoordinatorOf(ctx, "g"); err != nil || !ld.Local {
		t.Fatalf("CoordinatorOf = %+v, %v; want local", ld, err)
	}
	other := &meta.Broker{ID: 2, HTTPAddr: "http://127.0.0.1:1", Roles: bothRoles}
	log.mu.Lock()
	log.remote = other
	log.mu.Unlock()

	check := func(what string, err error) {
		t.Helper()
		var nc *NotCoordinatorError
		if !errors.Is(err, ErrNotCoordinator) || !errors.As(err, &nc) || nc.Leader.Node.ID != 2 {
			t.Fatalf("%s: err = %v, want NotCoordinatorError naming node 2", what, err)
		}
	}
	_, err := c.Join(ctx, JoinRequest{Group: "g", Topic: "jobs"})
	check("join", err)
	_, err = c.Describe(ctx, "g")
	check("describe", err)
	_, err = c.ResetOffsets(ctx, "g", "jobs", ResetTo{Kind: ResetEarliest}, nil)
	check("reset", err)
	check("delete", c.Delete(ctx, "g"))
	if l, err := c.List(ctx); err != nil || len(l) != 0 {
		t.Fatalf("list = %+v, %v; want no group coordinated here", l, err)
	}
}

// TestLeaderChangeReloadsOffsets: while another node led a group's
// offsets partition, it took a commit; when this node leads it again (a
// new leader epoch), it reads the partition again before serving the
// group, so it neither misses that commit nor resurrects a deleted one.
func TestLeaderChangeReloadsOffsets(t *testing.T) {
	log := newMemLog()
	log.createTopic("jobs", 1)
	c := newTestCoordinator(t, log)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.ResetOffsets(ctx, "g", "jobs", ResetTo{Kind: ResetOffset, Value: 0}, nil); err != nil {
		t.Fatal(err)
	}
	// Another node leads the partition and takes a commit for g.
	log.mu.Lock()
	log.remote, log.epoch = &meta.Broker{ID: 2, HTTPAddr: "http://127.0.0.1:1", Roles: bothRoles}, 1
	log.mu.Unlock()
	key, val := encodeOffsetRecord(OffsetKey{"g", "jobs", 0}, &Committed{Offset: 7})
	p := offsetsPartition("g", 4)
	if err := log.Append(ctx, OffsetsTopic, p, []record.Record{{Key: key, Value: val}}); err != nil {
		t.Fatal(err)
	}
	// This node leads it again.
	log.mu.Lock()
	log.remote, log.epoch = nil, 2
	log.mu.Unlock()
	d, err := c.Describe(ctx, "g")
	if err != nil || len(d.Offsets) != 1 || d.Offsets[0].Committed != 7 {
		t.Fatalf("describe after the leader came back = %+v, %v; want the commit of offset 7 made meanwhile", d.Offsets, err)
	}
}

// TestCommitAfterLosingTheGroup: a member joined while this node
// coordinated its group; once another node leads the group's offsets
// partition, a commit through this node is refused and the member is
// removed (its connection ends and the client reconnects to the new
// coordinator), so two coordinators never accept commits for one group.
func TestCommitAfterLosingTheGroup(t *testing.T) {
	log := newMemLog()
	log.createTopic("jobs", 1)
	c := newTestCoordinator(t, log)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := c.Join(ctx, JoinRequest{Group: "g", Topic: "jobs"})
	if err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	log.remote, log.epoch = &meta.Broker{ID: 2, HTTPAddr: "http://127.0.0.1:1", Roles: bothRoles}, 1
	log.mu.Unlock()
	err = m.Commit(ctx, 1, []CommitOffset{{Partition: 0, Offset: 1}})
	if !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("commit = %v, want ErrNotCoordinator", err)
	}
	select {
	case <-m.Done():
	default:
		t.Fatal("the member is still in the group")
	}
	if !errors.Is(m.Err(), ErrNotCoordinator) {
		t.Fatalf("member error %v, want ErrNotCoordinator", m.Err())
	}
}

var bothRoles = []string{meta.RoleBroker, meta.RoleController}

// TestBrokerOnlyLeaderHasNoCoordinator: a group whose offsets partition
// a broker-only node leads (it runs no coordinator) is refused with a
// typed error at once, not left waiting.
func TestBrokerOnlyLeaderHasNoCoordinator(t *testing.T) {
	log := newMemLog()
	log.createTopic("jobs", 1)
	c := newTestCoordinator(t, log)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log.mu.Lock()
	log.remote = &meta.Broker{ID: 4, HTTPAddr: "http://127.0.0.1:1", Roles: []string{meta.RoleBroker}}
	log.mu.Unlock()
	if _, err := c.CoordinatorOf(ctx, "g"); !errors.Is(err, ErrNoCoordinator) {
		t.Fatalf("CoordinatorOf = %v, want ErrNoCoordinator", err)
	}
	if _, err := c.Join(ctx, JoinRequest{Group: "g", Topic: "jobs"}); !errors.Is(err, ErrNoCoordinator) {
		t.Fatalf("join = %v, want ErrNoCoordinator", err)
	}
}
