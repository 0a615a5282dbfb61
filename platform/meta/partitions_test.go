package meta

import (
	"errors"
	"slices"
	"testing"
)

func TestAlterPartition(t *testing.T) {
	// t-0: replicas [1 2 3], leader 1, epochs 0/0, ISR [1 2 3].
	setup := func(t *testing.T) *seq {
		s := withBrokers(t, 4)
		s.must(create("t", 1, 3, nil))
		if p := part(t, s.c, "t", 0); !slices.Equal(p.Replicas, []NodeID{1, 2, 3}) {
			t.Fatalf("setup assumed replicas [1 2 3], got %v", p.Replicas)
		}
		return s
	}
	ap := func(mod func(*AlterPartition)) Command {
		a := &AlterPartition{Topic: "t", Partition: 0, Leader: 1, ISR: []NodeID{1, 2}}
		if mod != nil {
			mod(a)
		}
		return Command{Op: OpAlterPartition, AlterPartition: a}
	}
	tests := []struct {
		name string
		cmd  Command
		pre  func(s *seq)
		want error
		isr  []NodeID
	}{
		{name: "shrink", cmd: ap(nil), isr: []NodeID{1, 2}},
		{name: "order normalised", cmd: ap(func(a *AlterPartition) { a.ISR = []NodeID{3, 1} }), isr: []NodeID{1, 3}},
		{name: "stale partition epoch", cmd: ap(func(a *AlterPartition) { a.PartitionEpoch = 1 }), want: ErrStaleEpoch},
		{name: "stale leader epoch", cmd: ap(func(a *AlterPartition) { a.LeaderEpoch = -1 }), want: ErrStaleEpoch},
		{name: "not the leader", cmd: ap(func(a *AlterPartition) { a.Leader = 2 }), want: ErrStaleEpoch},
		{name: "after a fence the old epochs are stale", pre: func(s *seq) { s.must(fence(2)) }, cmd: ap(func(a *AlterPartition) { a.ISR = []NodeID{1, 3} }), want: ErrStaleEpoch},
		{name: "leader missing", cmd: ap(func(a *AlterPartition) { a.ISR = []NodeID{2, 3} }), want: ErrInvalidRequest},
		{name: "not a replica", cmd: ap(func(a *AlterPartition) { a.ISR = []NodeID{1, 4} }), want: ErrInvalidRequest},
		{name: "duplicate", cmd: ap(func(a *AlterPartition) { a.ISR = []NodeID{1, 1} }), want: ErrInvalidRequest},
		{name: "empty", cmd: ap(func(a *AlterPartition) { a.ISR = nil }), want: ErrInvalidRequest},
		{name: "unknown topic", cmd: ap(func(a *AlterPartition) { a.Topic = "x" }), want: ErrUnknownTopic},
		{name: "unknown partition", cmd: ap(func(a *AlterPartition) { a.Partition = 1 }), want: ErrUnknownPartition},
		{name: "fenced broker cannot join", pre: func(s *seq) {
			s.must(ap(func(a *AlterPartition) { a.ISR = []NodeID{1, 2} })) // epoch 1, ISR [1 2]
			s.must(fence(3))
		}, cmd: ap(func(a *AlterPartition) { a.PartitionEpoch = 1; a.ISR = []NodeID{1, 2, 3} }), want: ErrInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := setup(t)
			if tc.pre != nil {
				tc.pre(s)
			}
			before := part(t, s.c, "t", 0)
			res, err := s.try(tc.cmd)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := part(t, s.c, "t", 0)
			if !slices.Equal(p.ISR, tc.isr) || p.PartitionEpoch != before.PartitionEpoch+1 || p.LeaderEpoch != before.LeaderEpoch {
				t.Fatalf("after: %+v (before %+v)", p, before)
			}
			if res.Partition == nil || res.Partition.PartitionEpoch != p.PartitionEpoch {
				t.Fatalf("result partition %+v", res.Partition)
			}
		})
	}
}

func TestAlterPartitionExpandAndRepeat(t *testing.T) {
	s := withBrokers(t, 3)
	s.must(create("t", 1, 3, nil))
	cmd := func(epoch int32, isr ...NodeID) Command {
		return Command{Op: OpAlterPartition, AlterPartition: &AlterPartition{Topic: "t", Leader: 1, PartitionEpoch: epoch, ISR: isr}}
	}
	s.must(cmd(0, 1))
	if p := part(t, s.c, "t", 0); !slices.Equal(p.ISR, []NodeID{1}) || p.PartitionEpoch != 1 {
		t.Fatalf("shrink: %+v", p)
	}
	s.must(cmd(1, 1, 2, 3))
	if p := part(t, s.c, "t", 0); !slices.Equal(p.ISR, []NodeID{1, 2, 3}) || p.PartitionEpoch != 2 {
		t.Fatalf("expand: %+v", p)
	}
	if res := s.must(cmd(2, 3, 2, 1)); res.Changed {
		t.Fatal("same ISR in another order changed the partition")
	}
}

func TestElectLeader(t *testing.T) {
	elect := func(pref bool, parts ...int32) Command {
		return Command{Op: OpElectLeader, ElectLeader: &ElectLeader{Topic: "t", Preferred: pref, Partitions: parts}}
	}
	t.Run("preferred returns leadership after a failover", func(t *testing.T) {
		s := withBrokers(t, 3)
		s.must(create("t", 3, 3, nil))
		s.must(fence(1))
		s.must(unfence(1))
		// 1 is alive but out of every ISR: no preferred election possible.
		if res := s.must(elect(true)); res.Changed {
			t.Fatal("elected a replica outside the ISR")
		}
		p := part(t, s.c, "t", 0)
		if p.Replicas[0] != 1 || p.Leader == 1 {
			t.Fatalf("setup: %+v", p)
		}
		// The leader lets 1 back into the ISR; now the preferred election moves it.
		s.must(Command{Op: OpAlterPartition, AlterPartition: &AlterPartition{Topic: "t", Leader: p.Leader,
			LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: p.Replicas}})
		res := s.must(elect(true, 0))
		q := part(t, s.c, "t", 0)
		if q.Leader != 1 || q.LeaderEpoch != p.LeaderEpoch+1 || len(res.Partitions) != 1 {
			t.Fatalf("after preferred election: %+v", q)
		}
		if s.must(elect(true, 0)).Changed {
			t.Fatal("second preferred election changed something")
		}
	})
	t.Run("isr election only where the leader is gone", func(t *testing.T) {
		s := withBrokers(t, 2)
		s.must(create("t", 2, 2, nil))
		if s.must(elect(false)).Changed {
			t.Fatal("election with healthy leaders changed something")
		}
		s.must(fence(1))
		s.must(fence(2)) // everything leaderless; ISRs keep their last member
		s.must(Command{Op: OpUnfenceBroker, UnfenceBroker: &UnfenceBroker{ID: 1}})
		for _, p := range s.c.Topics["t"].Partitions {
			if p.InISR(1) && p.Leader != 1 {
				t.Fatalf("unfence did not restore %+v", p)
			}
		}
	})
	t.Run("errors", func(t *testing.T) {
		s := withBrokers(t, 1)
		s.must(create("t", 1, 1, nil))
		if _, err := s.try(elect(true, 5)); !errors.Is(err, ErrUnknownPartition) {
			t.Fatalf("bad partition: %v", err)
		}
		c := elect(true)
		c.ElectLeader.Topic = "nope"
		if _, err := s.try(c); !errors.Is(err, ErrUnknownTopic) {
			t.Fatalf("bad topic: %v", err)
		}
	})
}
