package groups

import (
	"slices"
	"testing"
	"time"
)

// TestSetPartitionsRebalances: growing the topic of a consuming group
// starts a new generation that grants the new partitions (no overlaps),
// marks them Added, and a later join with a stale (smaller) count does not
// shrink what the group knows. Shrinking or an unknown topic is ignored.
func TestSetPartitionsRebalances(t *testing.T) {
	now := time.Unix(0, 0)
	g := NewGroup("g", time.Minute)
	a, _ := AssignorByName("range")
	if _, err := g.Join(now, JoinSpec{MemberID: "a", Topic: "t", Partitions: 2, SessionTimeout: time.Minute}, a); err != nil {
		t.Fatal(err)
	}
	gen := g.Generation()
	if ns := g.SetPartitions(now, "other", 9); ns != nil || g.Generation() != gen {
		t.Fatalf("unknown topic: %v, generation %d", ns, g.Generation())
	}
	if ns := g.SetPartitions(now, "t", 2); ns != nil || g.Generation() != gen {
		t.Fatalf("same count: %v", ns)
	}
	ns := g.SetPartitions(now, "t", 4)
	if g.Generation() != gen+1 || len(ns) != 1 || ns[0].Kind != NoticeAssigned || !slices.Equal(ns[0].Partitions, []int32{2, 3}) {
		t.Fatalf("after growth to 4: notices %+v, generation %d", ns, g.Generation())
	}
	for p, want := range []bool{false, false, true, true} {
		if got := g.Added(TopicPartition{"t", int32(p)}); got != want {
			t.Errorf("Added(t/%d) = %v", p, got)
		}
	}
	if ns := g.SetPartitions(now, "t", 3); ns != nil {
		t.Fatalf("shrink: %v", ns)
	}
	ns, err := g.Join(now, JoinSpec{MemberID: "b", Topic: "t", Partitions: 2, SessionTimeout: time.Minute}, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.Kind == NoticeRevoked {
			g.AckRevoke(now, n.Member, n.Partitions)
		}
	}
	held := 0
	for _, m := range g.Members() {
		held += len(m.Assigned)
	}
	if held != 4 || !g.Stable() {
		t.Fatalf("after a stale join: members %+v", g.Members())
	}
}
