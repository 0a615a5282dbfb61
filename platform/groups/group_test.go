package groups

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	session   = 10 * time.Second
	rebalance = 5 * time.Second
)

func join(t *testing.T, g *Group, now time.Time, id string) []Notice {
	t.Helper()
	ns, err := g.Join(now, JoinSpec{MemberID: id, Topic: "orders", Partitions: 6, SessionTimeout: session}, Sticky{})
	if err != nil {
		t.Fatalf("join %s: %v", id, err)
	}
	return ns
}

// served maps each member to the partitions it serves now.
func served(g *Group) map[string][]int32 {
	out := map[string][]int32{}
	for _, m := range g.Members() {
		out[m.ID] = m.Assigned
	}
	return out
}

// checkExclusive asserts that no partition is held by two members.
func checkExclusive(t *testing.T, g *Group) {
	t.Helper()
	seen := map[int32]string{}
	for _, m := range g.Members() {
		for _, p := range append(append([]int32{}, m.Assigned...), m.Revoking...) {
			if other, ok := seen[p]; ok {
				t.Fatalf("partition %d held by %s and %s", p, other, m.ID)
			}
			seen[p] = m.ID
		}
	}
}

func TestGroupRevokeThenAssign(t *testing.T) {
	g := NewGroup("g", rebalance)
	ns := join(t, g, t0, "a")
	want := []Notice{{Member: "a", Kind: NoticeAssigned, Generation: 1, Topic: "orders", Partitions: []int32{0, 1, 2, 3, 4, 5}}}
	if !reflect.DeepEqual(ns, want) {
		t.Fatalf("first join notices = %+v, want %+v", ns, want)
	}

	// b joins: a is told to give up three partitions; b gets nothing yet.
	ns = join(t, g, t0, "b")
	want = []Notice{{Member: "a", Kind: NoticeRevoked, Generation: 2, Topic: "orders", Partitions: []int32{3, 4, 5}}}
	if !reflect.DeepEqual(ns, want) {
		t.Fatalf("second join notices = %+v, want %+v", ns, want)
	}
	checkExclusive(t, g)
	// a may still commit what it is revoking, with the new generation or
	// the one it was granted in.
	for _, gen := range []int32{1, 2} {
		if err := g.CheckCommit("a", gen, TopicPartition{"orders", 4}); err != nil {
			t.Fatalf("commit by a (gen %d) during revocation: %v", gen, err)
		}
	}
	if err := g.CheckCommit("b", 2, TopicPartition{"orders", 4}); !errors.Is(err, ErrFencedGeneration) {
		t.Fatalf("commit by b before grant: %v, want ErrFencedGeneration", err)
	}

	// a acknowledges: b gets the three partitions.
	ns, err := g.AckRevoke(t0, "a", []int32{3, 4, 5})
	if err != nil {
		t.Fatal(err)
	}
	want = []Notice{{Member: "b", Kind: NoticeAssigned, Generation: 2, Topic: "orders", Partitions: []int32{3, 4, 5}}}
	if !reflect.DeepEqual(ns, want) {
		t.Fatalf("ack notices = %+v, want %+v", ns, want)
	}
	checkExclusive(t, g)
	if err := g.CheckCommit("a", 2, TopicPartition{"orders", 4}); !errors.Is(err, ErrFencedGeneration) {
		t.Fatalf("commit by a after release: %v, want ErrFencedGeneration", err)
	}
	if err := g.CheckCommit("b", 1, TopicPartition{"orders", 4}); !errors.Is(err, ErrFencedGeneration) {
		t.Fatalf("commit by b with a generation older than its grant: %v, want ErrFencedGeneration", err)
	}
	if err := g.CheckCommit("b", 3, TopicPartition{"orders", 4}); !errors.Is(err, ErrFencedGeneration) {
		t.Fatalf("commit by b with a future generation: %v, want ErrFencedGeneration", err)
	}
	if err := g.CheckCommit("b", 2, TopicPartition{"orders", 4}); err != nil {
		t.Fatalf("commit by b: %v", err)
	}
}

func TestGroupThreeMembersSessionExpiry(t *testing.T) {
	g := NewGroup("g", rebalance)
	join(t, g, t0, "a")
	join(t, g, t0, "b")
	g.AckRevoke(t0, "a", []int32{3, 4, 5})
	join(t, g, t0, "c")
	// Acknowledge every revocation as a well-behaved client does.
	for _, m := range g.Members() {
		if len(m.Revoking) > 0 {
			g.AckRevoke(t0, m.ID, m.Revoking)
		}
	}
	checkExclusive(t, g)
	for id, ps := range served(g) {
		if len(ps) != 2 {
			t.Fatalf("member %s serves %v, want 2 partitions: %v", id, ps, served(g))
		}
	}
	cParts := served(g)["c"]

	// a and b heartbeat; c vanishes.
	now := t0.Add(session - time.Second)
	for _, id := range []string{"a", "b"} {
		if err := g.Heartbeat(now, id); err != nil {
			t.Fatal(err)
		}
	}
	if d := g.NextDeadline(); !d.Equal(t0.Add(session)) {
		t.Fatalf("NextDeadline = %v, want c's expiry %v", d, t0.Add(session))
	}
	if ns := g.Tick(t0.Add(session - time.Millisecond)); len(ns) != 0 {
		t.Fatalf("notices before expiry: %+v", ns)
	}
	ns := g.Tick(t0.Add(session))
	if len(ns) == 0 || ns[0].Kind != NoticeRemoved || ns[0].Member != "c" || !reflect.DeepEqual(ns[0].Partitions, cParts) {
		t.Fatalf("expiry notices = %+v, want c removed with %v first", ns, cParts)
	}
	got := map[int32]bool{}
	for _, n := range ns[1:] {
		if n.Kind != NoticeAssigned {
			t.Fatalf("unexpected notice %+v: sticky moves only c's partitions", n)
		}
		for _, p := range n.Partitions {
			got[p] = true
		}
	}
	for _, p := range cParts {
		if !got[p] {
			t.Fatalf("c's partition %d not reassigned: %+v", p, ns)
		}
	}
	checkExclusive(t, g)
	if err := g.CheckCommit("c", 3, TopicPartition{"orders", cParts[0]}); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("commit by expired member: %v, want ErrUnknownMember", err)
	}
}

func TestGroupRevocationTimeout(t *testing.T) {
	g := NewGroup("g", rebalance)
	join(t, g, t0, "a")
	join(t, g, t0, "b") // a must revoke 3,4,5 but never acknowledges
	g.Heartbeat(t0.Add(rebalance), "a")
	g.Heartbeat(t0.Add(rebalance), "b")
	if ns := g.Tick(t0.Add(rebalance - time.Millisecond)); len(ns) != 0 {
		t.Fatalf("notices before the rebalance timeout: %+v", ns)
	}
	ns := g.Tick(t0.Add(rebalance))
	want := []Notice{{Member: "b", Kind: NoticeAssigned, Generation: 2, Topic: "orders", Partitions: []int32{3, 4, 5}}}
	if !reflect.DeepEqual(ns, want) {
		t.Fatalf("timeout notices = %+v, want %+v", ns, want)
	}
	// A late acknowledgement is harmless.
	if ns, err := g.AckRevoke(t0.Add(rebalance), "a", []int32{3, 4, 5}); err != nil || len(ns) != 0 {
		t.Fatalf("late ack = %+v, %v", ns, err)
	}
	checkExclusive(t, g)
}

func TestGroupLeaveRebalances(t *testing.T) {
	g := NewGroup("g", rebalance)
	join(t, g, t0, "a")
	join(t, g, t0, "b")
	g.AckRevoke(t0, "a", []int32{3, 4, 5})
	ns, err := g.Leave(t0, "a")
	if err != nil {
		t.Fatal(err)
	}
	want := []Notice{{Member: "b", Kind: NoticeAssigned, Generation: 3, Topic: "orders", Partitions: []int32{0, 1, 2}}}
	if !reflect.DeepEqual(ns, want) {
		t.Fatalf("leave notices = %+v, want %+v", ns, want)
	}
	if _, err := g.Leave(t0, "a"); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("second leave: %v", err)
	}
	g.Leave(t0, "b")
	if !g.Empty() || !g.NextDeadline().IsZero() {
		t.Fatal("group not empty after everyone left")
	}
}

func TestGroupJoinValidation(t *testing.T) {
	g := NewGroup("g", rebalance)
	join(t, g, t0, "a")
	if _, err := g.Join(t0, JoinSpec{MemberID: "b", Topic: "orders", Partitions: 6, SessionTimeout: session}, Range{}); !errors.Is(err, ErrInconsistentAssignor) {
		t.Fatalf("join with another assignor: %v", err)
	}
	if _, err := g.Join(t0, JoinSpec{MemberID: "a", Topic: "orders", Partitions: 6, SessionTimeout: session}, Sticky{}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("duplicate member: %v", err)
	}
	if _, err := g.Join(t0, JoinSpec{MemberID: "c", Topic: "orders", Partitions: 6}, Sticky{}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("no session timeout: %v", err)
	}
	if err := g.Heartbeat(t0, "zz"); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("heartbeat of unknown member: %v", err)
	}
}

func TestGroupMembersOfTwoTopics(t *testing.T) {
	g := NewGroup("g", rebalance)
	g.Join(t0, JoinSpec{MemberID: "a", Topic: "x", Partitions: 2, SessionTimeout: session}, Sticky{})
	g.Join(t0, JoinSpec{MemberID: "b", Topic: "y", Partitions: 3, SessionTimeout: session}, Sticky{})
	want := map[string][]int32{"a": {0, 1}, "b": {0, 1, 2}}
	if got := served(g); !reflect.DeepEqual(got, want) {
		t.Fatalf("served = %v, want %v (each topic divided among its own consumers)", got, want)
	}
}
