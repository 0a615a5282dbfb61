package meta

import (
	"errors"
	"slices"
	"testing"
)

func elect(topic string, parts ...int32) Command {
	return Command{Op: OpElectLeader, ElectLeader: &ElectLeader{Topic: topic, Partitions: parts, Preferred: true}}
}

func reassign(rs ...Reassignment) Command {
	return Command{Op: OpReassignPartitions, ReassignPartitions: &ReassignPartitions{Reassignments: rs}}
}

func moveTo(topic string, p int32, replicas ...NodeID) Reassignment {
	return Reassignment{Topic: topic, Partition: p, Replicas: replicas}
}

// isr commits the partition's leader's ISR proposal, with the epochs the
// leader holds.
func isr(t *testing.T, s *seq, topic string, i int32, members ...NodeID) Result {
	t.Helper()
	p := part(t, s.c, topic, i)
	return s.must(Command{Op: OpAlterPartition, AlterPartition: &AlterPartition{Topic: topic, Partition: i,
		Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: members}})
}

// A rolling restart: every broker is fenced in turn and comes back. The
// last one restarted leads nothing; the imbalance names it and the
// automatic rebalance elects it back where it is in the ISR.
func TestLeaderImbalanceAfterRollingRestart(t *testing.T) {
	s := withBrokers(t, 3)
	s.must(create("t", 6, 3, nil))
	if got := PreferredElections(s.c, 10); got != nil {
		t.Fatalf("balanced cluster: elections %+v", got)
	}
	for id := NodeID(1); id <= 3; id++ {
		s.must(fence(id))
		s.must(unfence(id))
		// The restarted broker left every ISR; its leaders let it back.
		for i := range int32(6) {
			p := part(t, s.c, "t", i)
			if !p.InISR(id) {
				isr(t, s, "t", i, append(slices.Clone(p.ISR), id)...)
			}
		}
	}
	var leading int
	for _, b := range LeaderImbalance(s.c) {
		if b.Broker == 3 {
			leading = b.Leading
			if b.Preferred != 2 || b.NotLeading != 2 || b.Percent() != 100 {
				t.Fatalf("broker 3: %+v", b)
			}
		}
	}
	if leading != 0 {
		t.Fatalf("broker 3, restarted last, leads %d partitions; the test assumed none", leading)
	}
	h := Health(s.c)
	if h.NotPreferredLeader == 0 || !h.Healthy() {
		t.Fatalf("health %+v", h)
	}
	els := PreferredElections(s.c, 10)
	if len(els) != 1 || els[0].Topic != "t" || !els[0].Preferred {
		t.Fatalf("elections %+v", els)
	}
	// A threshold above the imbalance elects nothing.
	if got := PreferredElections(s.c, 100); got != nil {
		t.Fatalf("threshold 100%%: %+v", got)
	}
	for _, el := range els {
		s.must(Command{Op: OpElectLeader, ElectLeader: &el})
	}
	for _, b := range LeaderImbalance(s.c) {
		if b.NotLeading != 0 || b.Leading != 2 {
			t.Fatalf("after the elections broker %d: %+v", b.Broker, b)
		}
	}
	if NotPreferred(s.c) != 0 || PreferredElections(s.c, 0) != nil {
		t.Fatal("still imbalanced after the elections")
	}
}

// A preferred replica out of the ISR (or fenced) is not elected: the
// partition keeps its leader.
func TestPreferredElectionNeedsPreferredInSync(t *testing.T) {
	s := withBrokers(t, 3)
	s.must(create("t", 1, 3, nil)) // replicas [1 2 3]
	s.must(fence(1))
	if got := PreferredElections(s.c, 0); got != nil {
		t.Fatalf("fenced preferred: %+v", got)
	}
	s.must(unfence(1)) // alive, not in the ISR yet
	if p := part(t, s.c, "t", 0); CanElectPreferred(s.c, &p) {
		t.Fatalf("preferred outside the ISR: %+v", p)
	}
	if res := s.must(elect("t")); res.Changed {
		t.Fatal("a preferred election moved leadership to a replica outside the ISR")
	}
	isr(t, s, "t", 0, 1, 2, 3)
	s.must(elect("t", 0))
	if p := part(t, s.c, "t", 0); p.Leader != 1 {
		t.Fatalf("after election: %+v", p)
	}
}

func TestHealth(t *testing.T) {
	s := withBrokers(t, 3)
	s.must(create("a", 1, 3, map[string]string{KeyMinInsyncReplicas: "2"}))
	s.must(create("b", 1, 1, nil))
	h := Health(s.c)
	if !h.Healthy() || h.Partitions != 2 || len(h.UnderMinISR) != 0 {
		t.Fatalf("healthy cluster: %+v", h)
	}
	lone := part(t, s.c, "b", 0).Leader
	for _, id := range []NodeID{1, 2, 3} {
		if id != lone && len(part(t, s.c, "a", 0).ISR) > 1 {
			s.must(fence(id))
			break
		}
	}
	s.must(fence(lone))
	h = Health(s.c)
	if h.Healthy() {
		t.Fatalf("unhealthy cluster reported healthy: %+v", h)
	}
	if !slices.Contains(h.Offline, PartitionRef{"b", 0}) {
		t.Fatalf("offline %v, want b-0", h.Offline)
	}
	if !slices.Contains(h.UnderReplicated, PartitionRef{"a", 0}) {
		t.Fatalf("under-replicated %v, want a-0", h.UnderReplicated)
	}
	if p := part(t, s.c, "a", 0); len(p.ISR) < 2 != slices.Contains(h.UnderMinISR, PartitionRef{"a", 0}) {
		t.Fatalf("under min ISR %v with ISR %v", h.UnderMinISR, p.ISR)
	}
}

func TestCreatePartitions(t *testing.T) {
	s := withBrokers(t, 3)
	s.must(create("t", 2, 2, nil))
	before := s.c.Topics["t"]
	res := s.must(Command{Op: OpCreatePartitions, CreatePartitions: &CreatePartitions{Topic: "t", Count: 5}})
	tp := res.Topic
	if len(tp.Partitions) != 5 {
		t.Fatalf("%d partitions, want 5", len(tp.Partitions))
	}
	for i := range 2 {
		if !slices.Equal(tp.Partitions[i].Replicas, before.Partitions[i].Replicas) || tp.Partitions[i].PartitionEpoch != before.Partitions[i].PartitionEpoch {
			t.Fatalf("existing partition %d changed: %+v", i, tp.Partitions[i])
		}
	}
	leaders := map[NodeID]int{}
	for i, p := range tp.Partitions {
		if p.Index != int32(i) || p.Topic != "t" || len(p.Replicas) != 2 || p.Leader != p.Replicas[0] || !slices.Equal(p.ISR, p.Replicas) {
			t.Fatalf("partition %d: %+v", i, p)
		}
		leaders[p.Leader]++
	}
	if len(leaders) != 3 {
		t.Fatalf("leaders of 5 partitions on 3 brokers: %v", leaders)
	}
	if res := s.must(Command{Op: OpCreatePartitions, CreatePartitions: &CreatePartitions{Topic: "t", Count: 5}}); res.Changed {
		t.Fatal("same count changed the topic")
	}
	for _, tc := range []struct {
		cp   CreatePartitions
		want error
	}{
		{CreatePartitions{Topic: "t", Count: 4}, ErrInvalidRequest},
		{CreatePartitions{Topic: "t", Count: MaxPartitions + 1}, ErrInvalidRequest},
		{CreatePartitions{Topic: "nope", Count: 4}, ErrUnknownTopic},
	} {
		if _, err := s.try(Command{Op: OpCreatePartitions, CreatePartitions: &tc.cp}); !errors.Is(err, tc.want) {
			t.Fatalf("%+v: err %v, want %v", tc.cp, err, tc.want)
		}
	}
	s.must(fence(2))
	s.must(fence(3))
	if _, err := s.try(Command{Op: OpCreatePartitions, CreatePartitions: &CreatePartitions{Topic: "t", Count: 6}}); !errors.Is(err, ErrNotEnoughBrokers) {
		t.Fatalf("RF 2 with one alive broker: %v", err)
	}
}

// Six brokers in three racks: every partition spans all three racks, and
// leaders (first replicas) and replicas spread evenly over the brokers.
func TestPlacementSixBrokersThreeRacks(t *testing.T) {
	s := newSeq(t)
	racks := map[NodeID]string{1: "r1", 2: "r1", 3: "r2", 4: "r2", 5: "r3", 6: "r3"}
	for id := NodeID(1); id <= 6; id++ {
		s.must(register(id, racks[id]))
	}
	tp := s.must(create("t", 12, 3, nil)).Topic
	leaders, replicas := map[NodeID]int{}, map[NodeID]int{}
	for _, p := range tp.Partitions {
		used := map[string]bool{}
		for _, r := range p.Replicas {
			used[racks[r]] = true
			replicas[r]++
		}
		if len(used) != 3 {
			t.Fatalf("partition %d %v spans racks %v", p.Index, p.Replicas, used)
		}
		leaders[p.Leader]++
	}
	for id := NodeID(1); id <= 6; id++ {
		if leaders[id] != 2 || replicas[id] != 6 {
			t.Fatalf("broker %d leads %d (want 2) and holds %d (want 6): leaders %v replicas %v", id, leaders[id], replicas[id], leaders, replicas)
		}
	}
	// Partitions added later are placed the same way.
	tp = s.must(Command{Op: OpCreatePartitions, CreatePartitions: &CreatePartitions{Topic: "t", Count: 18}}).Topic
	for _, p := range tp.Partitions[12:] {
		used := map[string]bool{}
		for _, r := range p.Replicas {
			used[racks[r]] = true
		}
		if len(used) != 3 {
			t.Fatalf("added partition %d %v spans racks %v", p.Index, p.Replicas, used)
		}
	}
	// A generated plan onto racks r1 and r2 only keeps two racks per partition.
	plan, err := GenerateReassignments(s.c, []string{"t"}, []NodeID{1, 2, 3, 4}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range plan {
		used := map[string]bool{}
		for _, id := range r.Replicas {
			used[racks[id]] = true
			if id > 4 {
				t.Fatalf("plan %+v uses broker %d", r, id)
			}
		}
		if len(used) != 2 || len(r.Replicas) != 3 {
			t.Fatalf("plan %+v spans racks %v", r, used)
		}
	}
}

func TestReassignAddCatchUpComplete(t *testing.T) {
	s := withBrokers(t, 4)
	s.must(create("t", 1, 3, nil)) // [1 2 3]
	res := s.must(reassign(moveTo("t", 0, 4, 2, 3)))
	p := part(t, s.c, "t", 0)
	if !slices.Equal(p.Replicas, []NodeID{4, 2, 3, 1}) || !slices.Equal(p.AddingReplicas, []NodeID{4}) ||
		!slices.Equal(p.RemovingReplicas, []NodeID{1}) || p.Leader != 1 || p.PartitionEpoch != 1 || !slices.Equal(p.ISR, []NodeID{2, 3, 1}) {
		t.Fatalf("reassigning: %+v", p)
	}
	if len(res.Partitions) != 1 || !Health(s.c).Healthy() {
		t.Fatalf("result %+v health %+v", res, Health(s.c))
	}
	if !slices.Equal(p.TargetReplicas(), []NodeID{4, 2, 3}) || !slices.Equal(p.OriginalReplicas(), []NodeID{2, 3, 1}) {
		t.Fatalf("target %v original %v", p.TargetReplicas(), p.OriginalReplicas())
	}
	// The leader lets 4 join once caught up: the move completes in that
	// command, and leadership leaves 1 for the first in-sync target.
	isr(t, s, "t", 0, 1, 2, 3, 4)
	p = part(t, s.c, "t", 0)
	if !slices.Equal(p.Replicas, []NodeID{4, 2, 3}) || p.Reassigning() || !slices.Equal(p.ISR, []NodeID{4, 2, 3}) ||
		p.Leader != 4 || p.LeaderEpoch != 1 || p.PartitionEpoch != 2 {
		t.Fatalf("completed: %+v", p)
	}
}

func TestReassignCompletesAtOnce(t *testing.T) {
	s := withBrokers(t, 3)
	s.must(create("t", 1, 3, nil)) // [1 2 3]
	// A new order only: nothing to copy, done at once, leader kept.
	s.must(reassign(moveTo("t", 0, 3, 1, 2)))
	if p := part(t, s.c, "t", 0); !slices.Equal(p.Replicas, []NodeID{3, 1, 2}) || p.Reassigning() || p.Leader != 1 || p.LeaderEpoch != 0 {
		t.Fatalf("reorder: %+v", p)
	}
	// Dropping the leader: removal needs no copy; leadership moves.
	s.must(reassign(moveTo("t", 0, 3, 2)))
	if p := part(t, s.c, "t", 0); !slices.Equal(p.Replicas, []NodeID{3, 2}) || p.Leader != 3 || p.LeaderEpoch != 1 || !slices.Equal(p.ISR, []NodeID{3, 2}) {
		t.Fatalf("shrink: %+v", p)
	}
	if res := s.must(reassign(moveTo("t", 0, 3, 2))); res.Changed {
		t.Fatal("the same target again changed something")
	}
}

func TestReassignCancelAndReplace(t *testing.T) {
	s := withBrokers(t, 5)
	s.must(create("t", 1, 3, nil)) // [1 2 3]
	s.must(reassign(moveTo("t", 0, 1, 2, 4)))
	// A new target replaces the old one, measured from [1 2 3].
	s.must(reassign(moveTo("t", 0, 1, 2, 5)))
	p := part(t, s.c, "t", 0)
	if !slices.Equal(p.Replicas, []NodeID{1, 2, 5, 3}) || !slices.Equal(p.AddingReplicas, []NodeID{5}) || !slices.Equal(p.RemovingReplicas, []NodeID{3}) {
		t.Fatalf("replaced: %+v", p)
	}
	epoch := p.PartitionEpoch
	s.must(reassign(Reassignment{Topic: "t", Partition: 0, Cancel: true}))
	p = part(t, s.c, "t", 0)
	if !slices.Equal(p.Replicas, []NodeID{1, 2, 3}) || p.Reassigning() || !slices.Equal(p.ISR, []NodeID{1, 2, 3}) || p.Leader != 1 || p.PartitionEpoch != epoch+1 {
		t.Fatalf("cancelled: %+v", p)
	}
	if res := s.must(reassign(Reassignment{Topic: "t", Partition: 0, Cancel: true})); res.Changed {
		t.Fatal("cancel without a reassignment changed something")
	}
}

// Replacing a dead broker: 3 is fenced (out of the ISR), 4 takes its place.
func TestReassignReplacesDeadBroker(t *testing.T) {
	s := withBrokers(t, 3)
	s.must(create("t", 1, 3, nil))
	s.must(fence(3))
	s.must(register(4, ""))
	s.must(reassign(moveTo("t", 0, 1, 2, 4)))
	if h := Health(s.c); len(h.UnderReplicated) != 1 {
		t.Fatalf("with 3 dead the partition is under-replicated: %+v", h)
	}
	isr(t, s, "t", 0, 1, 2, 4)
	p := part(t, s.c, "t", 0)
	if !slices.Equal(p.Replicas, []NodeID{1, 2, 4}) || !slices.Equal(p.ISR, []NodeID{1, 2, 4}) || p.Reassigning() {
		t.Fatalf("replaced: %+v", p)
	}
	if h := Health(s.c); !h.Healthy() {
		t.Fatalf("after the replacement: %+v", h)
	}
}

func TestReassignRefusals(t *testing.T) {
	setup := func(t *testing.T) *seq {
		s := withBrokers(t, 4)
		s.must(create("t", 2, 3, map[string]string{KeyMinInsyncReplicas: "2"}))
		s.must(fence(4))
		s.must(Command{Op: OpRegisterBroker, RegisterBroker: &RegisterBroker{Broker: Broker{ID: 9, Roles: []string{RoleController}}}})
		return s
	}
	tests := []struct {
		name string
		rs   []Reassignment
		want error
	}{
		{"unknown broker", []Reassignment{moveTo("t", 0, 1, 2, 7)}, ErrUnknownBroker},
		{"controller-only node", []Reassignment{moveTo("t", 0, 1, 2, 9)}, ErrUnknownBroker},
		{"fenced broker added", []Reassignment{moveTo("t", 0, 1, 2, 4)}, ErrInvalidRequest},
		{"below min.insync.replicas", []Reassignment{moveTo("t", 0, 1)}, ErrInvalidRequest},
		{"duplicate broker", []Reassignment{moveTo("t", 0, 1, 1, 2)}, ErrInvalidRequest},
		{"empty", []Reassignment{moveTo("t", 0)}, ErrInvalidRequest},
		{"unknown topic", []Reassignment{moveTo("x", 0, 1, 2)}, ErrUnknownTopic},
		{"unknown partition", []Reassignment{moveTo("t", 5, 1, 2)}, ErrUnknownPartition},
		{"partition twice", []Reassignment{moveTo("t", 0, 1, 2), moveTo("t", 0, 2, 3)}, ErrInvalidRequest},
		{"one bad refuses all", []Reassignment{moveTo("t", 1, 3, 2, 1), moveTo("t", 0, 1, 2, 7)}, ErrUnknownBroker},
		{"cancel with replicas", []Reassignment{{Topic: "t", Partition: 0, Replicas: []NodeID{1}, Cancel: true}}, ErrInvalidRequest},
		{"nothing", nil, ErrInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := setup(t)
			v := s.c.Version
			_, err := s.try(reassign(tc.rs...))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if s.c.Version != v {
				t.Fatal("a refused command changed the cluster")
			}
		})
	}
}

func TestGenerateReassignments(t *testing.T) {
	s := withBrokers(t, 3)
	s.must(create("a", 3, 2, nil))
	s.must(register(4, ""))
	s.must(register(5, ""))
	plan, err := GenerateReassignments(s.c, nil, []NodeID{3, 4, 5}, 0)
	if err != nil {
		t.Fatal(err)
	}
	leaders := map[NodeID]int{}
	for _, r := range plan {
		s.must(reassign(r))
	}
	for i := range int32(3) {
		p := part(t, s.c, "a", i)
		tgt := p.TargetReplicas()
		if len(tgt) != 2 {
			t.Fatalf("partition %d target %v", i, tgt)
		}
		for _, id := range tgt {
			if id < 3 {
				t.Fatalf("partition %d target %v keeps broker %d", i, tgt, id)
			}
		}
		leaders[tgt[0]]++
	}
	if len(leaders) != 3 {
		t.Fatalf("preferred leaders %v, want one per broker", leaders)
	}
	// A new replication factor for every topic.
	plan, err = GenerateReassignments(s.c, nil, []NodeID{1, 2, 3, 4, 5}, 3)
	if err != nil || len(plan) != 3 {
		t.Fatalf("plan to RF 3: %+v %v", plan, err)
	}
	for _, r := range plan {
		if len(r.Replicas) != 3 {
			t.Fatalf("plan to RF 3: %+v", r)
		}
	}
	s.must(reassign(plan...))
	if rf := s.c.Topics["a"].ReplicationFactor; rf != 3 {
		t.Fatalf("replication factor %d after every partition moved to 3 replicas", rf)
	}
	if _, err := GenerateReassignments(s.c, nil, []NodeID{3}, 0); !errors.Is(err, ErrNotEnoughBrokers) {
		t.Fatalf("RF 2 on one broker: %v", err)
	}
	if _, err := GenerateReassignments(s.c, nil, []NodeID{3, 8}, 0); !errors.Is(err, ErrUnknownBroker) {
		t.Fatalf("unknown broker: %v", err)
	}
}
