package meta

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// FuzzAdminCommands applies arbitrary commands (as a controller receives
// them from other nodes over the internal propose route) to a cluster
// with topics, a reassignment in progress and a fenced broker: Apply
// never panics, never modifies its input, and keeps every partition's
// invariants (ISR ⊆ replicas and non-empty, leader in the ISR or none,
// adding/removing ⊆ replicas and disjoint, a throttle only on a
// partition that is moving, never negative).
func FuzzAdminCommands(f *testing.F) {
	for _, seed := range []string{
		`{"op":"reassign_partitions","reassign_partitions":{"reassignments":[{"topic":"t","partition":0,"replicas":[4,2,3]}]}}`,
		`{"op":"reassign_partitions","reassign_partitions":{"reassignments":[{"topic":"t","partition":1,"cancel":true}]}}`,
		`{"op":"reassign_partitions","reassign_partitions":{"reassignments":[{"topic":"t","partition":-1,"replicas":[1]}]}}`,
		`{"op":"create_partitions","create_partitions":{"topic":"t","count":7}}`,
		`{"op":"create_partitions","create_partitions":{"topic":"t","count":-3}}`,
		`{"op":"unregister_broker","unregister_broker":{"id":5}}`,
		`{"op":"elect_leader","elect_leader":{"topic":"t","preferred":true}}`,
		`{"op":"alter_partition","alter_partition":{"topic":"t","partition":1,"leader":1,"isr":[1,2,3,4]}}`,
		`{"op":"reassign_partitions","reassign_partitions":{"reassignments":[{"topic":"t","partition":0,"replicas":[4,2,3],"throttle":1048576}]}}`,
		`{"op":"reassign_partitions","reassign_partitions":{"reassignments":[{"topic":"t","partition":1,"throttle":-7}]}}`,
		`{"op":"reassign_partitions","reassign_partitions":{"reassignments":[{"topic":"t","partition":1,"remove_throttle":true}]}}`,
		`{"op":"reassign_partitions","reassign_partitions":{"reassignments":[{"topic":"t","partition":2,"throttle":5}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var cmd Command
		if json.Unmarshal(data, &cmd) != nil {
			return
		}
		c := adminFuzzCluster(t)
		before := snapshotJSON(t, c)
		next, _, _ := Apply(c, 1000, cmd, time.Unix(0, 0))
		if snapshotJSON(t, c) != before {
			t.Fatal("Apply modified its input")
		}
		checkInvariants(t, next)
	})
}

// adminFuzzCluster: brokers 1-5 (5 fenced), topic t (3 partitions, RF 3) with
// partition 1 moving to [4 2 3].
func adminFuzzCluster(t *testing.T) *Cluster {
	s := newSeq(t)
	for id := NodeID(1); id <= 5; id++ {
		s.must(register(id, ""))
	}
	s.must(create("t", 3, 3, map[string]string{KeyMinInsyncReplicas: "2"}))
	s.must(reassign(throttled(moveTo("t", 1, 4, 2, 3), 1<<20)))
	s.must(fence(5))
	return s.c
}

func checkInvariants(t *testing.T, c *Cluster) {
	t.Helper()
	for _, tp := range c.Topics {
		for i, p := range tp.Partitions {
			if p.Index != int32(i) || len(p.ISR) == 0 {
				t.Fatalf("%s-%d: %+v", tp.Name, i, p)
			}
			for _, set := range [][]NodeID{p.ISR, p.AddingReplicas, p.RemovingReplicas} {
				for _, r := range set {
					if !p.IsReplica(r) {
						t.Fatalf("%s-%d: %d is not a replica: %+v", tp.Name, i, r, p)
					}
				}
			}
			for _, r := range p.AddingReplicas {
				if slices.Contains(p.RemovingReplicas, r) {
					t.Fatalf("%s-%d: %d both added and removed: %+v", tp.Name, i, r, p)
				}
			}
			if p.ReassignThrottle < 0 || (p.ReassignThrottle > 0 && !p.Reassigning()) {
				t.Fatalf("%s-%d: throttle %d without a move: %+v", tp.Name, i, p.ReassignThrottle, p)
			}
			if p.Leader != NoLeader && !p.InISR(p.Leader) {
				t.Fatalf("%s-%d: leader %d not in the ISR: %+v", tp.Name, i, p.Leader, p)
			}
		}
	}
}
