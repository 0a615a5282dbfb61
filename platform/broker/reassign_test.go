package broker

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// A reassignment adds replica 4 to a leader's partition and later removes
// 3: the new follower is tracked from its first fetch, joins the ISR once
// it has caught up, and the removed one is forgotten.
func TestReplicationSetReplicas(t *testing.T) {
	now := time.Unix(1000, 0)
	r := NewReplication(1, 0, []int32{1, 2, 3}, []int32{1, 2, 3}, 10, 10)
	r.BeganAt(now)
	if _, err := r.FollowerFetched(4, 0, now); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("fetch from a replica not assigned yet: %v", err)
	}
	r.SetReplicas([]int32{1, 2, 3, 4})
	r.SetISR([]int32{1, 2, 3})
	if _, ok := r.LEO(4); ok {
		t.Fatal("an added replica has a known LEO before it fetched")
	}
	for _, id := range []int32{2, 3} {
		if _, err := r.FollowerFetched(id, 10, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.FollowerFetched(4, 3, now); err != nil {
		t.Fatal(err)
	}
	if isr, changed := r.ProposedISR(now, time.Second); changed {
		t.Fatalf("replica 4 behind (3 of 10) proposed into the ISR: %v", isr)
	}
	if r.HighWatermark() != 10 {
		t.Fatalf("HW %d: a replica outside the ISR held it back", r.HighWatermark())
	}
	r.FollowerFetched(4, 10, now)
	isr, changed := r.ProposedISR(now, time.Second)
	if !changed || !slices.Equal(isr, []int32{1, 2, 3, 4}) {
		t.Fatalf("caught-up replica 4: proposed %v %v", isr, changed)
	}
	r.SetReplicas([]int32{4, 2, 1})
	r.SetISR([]int32{4, 2, 1})
	if _, err := r.FollowerFetched(3, 10, now); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("fetch from a removed replica: %v", err)
	}
	if !slices.Equal(r.Replicas(), []int32{4, 2, 1}) {
		t.Fatalf("replicas %v", r.Replicas())
	}
}
