package meta

import (
	"errors"
	"slices"
	"testing"
)

// Decommissioning broker 1 of six in three racks: each of its replicas
// goes, in its place, to a broker of a rack the partition lacks, the
// load spreads, nothing else moves, and once done 1 can be removed.
func TestDrainPlanRespectsRacksAndLoad(t *testing.T) {
	s := newSeq(t)
	racks := map[NodeID]string{1: "r1", 2: "r1", 3: "r2", 4: "r2", 5: "r3", 6: "r3"}
	for id := NodeID(1); id <= 6; id++ {
		s.must(register(id, racks[id]))
	}
	s.must(create("t", 12, 3, nil))
	before := s.c.Topics["t"]
	plan, err := DrainPlan(s.c, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 6 {
		t.Fatalf("broker 1 holds 6 replicas, plan moves %d: %+v", len(plan), plan)
	}
	got := map[NodeID]int{}
	for _, r := range plan {
		old := before.Partitions[r.Partition].Replicas
		at := slices.Index(old, 1)
		for i := range old {
			if i != at && r.Replicas[i] != old[i] {
				t.Fatalf("%+v moves more than broker 1's replica of %v", r, old)
			}
		}
		if racks[r.Replicas[at]] != "r1" {
			t.Fatalf("%+v: broker 1 (rack r1) replaced by a broker of rack %s: racks would repeat", r, racks[r.Replicas[at]])
		}
		got[r.Replicas[at]]++
	}
	if got[2] != 6 {
		t.Fatalf("replacements %v: only broker 2 keeps every partition on three racks", got)
	}
	s.must(reassign(plan...))
	if _, err := s.try(Command{Op: OpUnregisterBroker, UnregisterBroker: &UnregisterBroker{ID: 1}}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("remove an alive broker: %v", err)
	}
	s.must(fence(1))
	// Replicas being added (2) are not in sync yet: 1 still holds them.
	if _, err := s.try(Command{Op: OpUnregisterBroker, UnregisterBroker: &UnregisterBroker{ID: 1}}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("remove a broker that still holds replicas: %v", err)
	}
	for i := range int32(12) {
		p := part(t, s.c, "t", i)
		if p.Reassigning() {
			isr(t, s, "t", i, append(slices.Clone(p.ISR), p.AddingReplicas...)...)
		}
		if p := part(t, s.c, "t", i); p.IsReplica(1) || p.Reassigning() || len(p.ISR) != 3 {
			t.Fatalf("partition %d after the move: %+v", i, p)
		}
	}
	s.must(Command{Op: OpUnregisterBroker, UnregisterBroker: &UnregisterBroker{ID: 1}})
	if _, ok := s.c.Broker(1); ok {
		t.Fatal("broker 1 still registered")
	}
	if _, err := s.try(Command{Op: OpUnregisterBroker, UnregisterBroker: &UnregisterBroker{ID: 1}}); !errors.Is(err, ErrUnknownBroker) {
		t.Fatalf("remove twice: %v", err)
	}
}

func TestDrainPlanRefusals(t *testing.T) {
	s := withBrokers(t, 3)
	s.must(create("t", 2, 3, nil))
	if _, err := DrainPlan(s.c, 2); !errors.Is(err, ErrNotEnoughBrokers) {
		t.Fatalf("drain below the replication factor: %v", err)
	}
	if _, err := DrainPlan(s.c, 8); !errors.Is(err, ErrUnknownBroker) {
		t.Fatalf("drain an unknown broker: %v", err)
	}
	s.must(register(4, ""))
	plan, err := DrainPlan(s.c, 2)
	if err != nil || len(plan) != 2 {
		t.Fatalf("plan %+v, %v", plan, err)
	}
	for _, r := range plan {
		if slices.Contains(r.Replicas, 2) || !slices.Contains(r.Replicas, 4) {
			t.Fatalf("plan %+v", r)
		}
	}
}
