package meta

import (
	"errors"
	"slices"
	"testing"
)

func throttled(r Reassignment, rate int64) Reassignment {
	r.Throttle = rate
	return r
}

// A move's throttle is set with it, changed while it runs (without a new
// partition epoch), applies only to added replicas outside the ISR, and
// is gone with the move when it completes.
func TestReassignThrottleLifecycle(t *testing.T) {
	s := withBrokers(t, 5)
	s.must(create("t", 1, 3, nil)) // [1 2 3]
	s.must(reassign(throttled(moveTo("t", 0, 1, 4, 5), 1<<20)))
	p := part(t, s.c, "t", 0)
	if p.ReassignThrottle != 1<<20 {
		t.Fatalf("throttle after start: %+v", p)
	}
	for id, want := range map[NodeID]int64{1: 0, 2: 0, 3: 0, 4: 1 << 20, 5: 1 << 20} {
		if got := p.CopyThrottle(id); got != want {
			t.Fatalf("CopyThrottle(%d) = %d, want %d", id, got, want)
		}
	}
	epoch := p.PartitionEpoch
	// Raised while it runs: the partition epoch stays.
	res := s.must(reassign(Reassignment{Topic: "t", Partition: 0, Throttle: 8 << 20}))
	p = part(t, s.c, "t", 0)
	if !res.Changed || p.ReassignThrottle != 8<<20 || p.PartitionEpoch != epoch {
		t.Fatalf("raised: changed %v %+v", res.Changed, p)
	}
	if res := s.must(reassign(Reassignment{Topic: "t", Partition: 0, Throttle: 8 << 20})); res.Changed {
		t.Fatal("the same throttle again changed something")
	}
	// A new target without a throttle keeps the one in force.
	s.must(reassign(moveTo("t", 0, 1, 2, 4, 5)))
	if p = part(t, s.c, "t", 0); p.ReassignThrottle != 8<<20 {
		t.Fatalf("replaced target: %+v", p)
	}
	// 4 joins the ISR: no longer throttled, while 5 still is.
	isr(t, s, "t", 0, 1, 2, 3, 4)
	p = part(t, s.c, "t", 0)
	if !p.Reassigning() || p.CopyThrottle(4) != 0 || p.CopyThrottle(5) != 8<<20 {
		t.Fatalf("4 in sync: %+v", p)
	}
	// 5 joins: the move completes and the throttle goes with it.
	isr(t, s, "t", 0, 1, 2, 3, 4, 5)
	if p = part(t, s.c, "t", 0); p.Reassigning() || p.ReassignThrottle != 0 {
		t.Fatalf("completed: %+v", p)
	}
	// A throttle for a partition that is not moving changes nothing.
	if res := s.must(reassign(Reassignment{Topic: "t", Partition: 0, Throttle: 1 << 20})); res.Changed {
		t.Fatalf("throttle without a move: %+v", part(t, s.c, "t", 0))
	}
}

func TestReassignThrottleRemovedAndCancelled(t *testing.T) {
	s := withBrokers(t, 4)
	s.must(create("t", 2, 3, nil))
	s.must(reassign(throttled(moveTo("t", 0, 1, 2, 4), 1000), throttled(moveTo("t", 1, 1, 2, 4), 1000)))
	s.must(reassign(Reassignment{Topic: "t", Partition: 0, RemoveThrottle: true}))
	if p := part(t, s.c, "t", 0); p.ReassignThrottle != 0 || !p.Reassigning() {
		t.Fatalf("removed: %+v", p)
	}
	s.must(reassign(Reassignment{Topic: "t", Partition: 1, Cancel: true}))
	if p := part(t, s.c, "t", 1); p.ReassignThrottle != 0 || p.Reassigning() {
		t.Fatalf("cancelled: %+v", p)
	}
	// A move that completes at once (a new order) keeps no throttle.
	rev := slices.Clone(part(t, s.c, "t", 1).Replicas)
	slices.Reverse(rev)
	s.must(reassign(throttled(moveTo("t", 1, rev...), 1000)))
	if p := part(t, s.c, "t", 1); p.ReassignThrottle != 0 || p.Reassigning() {
		t.Fatalf("reorder: %+v", p)
	}
}

func TestReassignThrottleRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Reassignment
	}{
		{"negative", throttled(moveTo("t", 0, 1, 2, 4), -1)},
		{"too large", throttled(moveTo("t", 0, 1, 2, 4), MaxReassignThrottle+1)},
		{"set and remove", Reassignment{Topic: "t", Partition: 0, Throttle: 5, RemoveThrottle: true}},
		{"with cancel", Reassignment{Topic: "t", Partition: 0, Cancel: true, Throttle: 5}},
		{"negative alone", Reassignment{Topic: "t", Partition: 0, Throttle: -5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := withBrokers(t, 4)
			s.must(create("t", 1, 3, nil))
			v := s.c.Version
			if _, err := s.try(reassign(tc.r)); !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("err = %v, want invalid request", err)
			}
			if s.c.Version != v {
				t.Fatal("a refused command changed the cluster")
			}
		})
	}
}
