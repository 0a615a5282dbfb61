package meta

import (
	"errors"
	"slices"
	"testing"
)

func TestRegisterBroker(t *testing.T) {
	s := newSeq(t)
	res := s.must(register(1, "r1"))
	if !res.Changed || res.Broker.State != BrokerAlive || res.Broker.Epoch != 1 {
		t.Fatalf("first registration: %+v", res)
	}
	if res := s.must(register(1, "r1")); res.Changed {
		t.Fatal("identical re-registration changed the cluster")
	}
	moved := register(1, "r1")
	moved.RegisterBroker.Broker.HTTPAddr = "10.0.0.1:9000"
	res = s.must(moved)
	if !res.Changed || res.Broker.HTTPAddr != "10.0.0.1:9000" || res.Broker.Epoch != 3 {
		t.Fatalf("address change: %+v", res.Broker)
	}
	if _, err := s.try(register(-1, "")); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("negative id: %v", err)
	}
	if _, err := s.try(Command{Op: OpRegisterBroker}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("missing payload: %v", err)
	}
}

func TestFenceBroker(t *testing.T) {
	// Topic "t" on 3 brokers, RF 3: every broker leads one partition.
	setup := func(t *testing.T, cfg map[string]string) *seq {
		s := withBrokers(t, 3)
		s.must(create("t", 3, 3, cfg))
		return s
	}
	leaderOf := func(s *seq, id NodeID) int32 {
		for _, p := range s.c.Topics["t"].Partitions {
			if p.Leader == id {
				return p.Index
			}
		}
		s.t.Fatalf("broker %d leads nothing", id)
		return -1
	}

	t.Run("leader moves to next ISR member, epochs bump", func(t *testing.T) {
		s := setup(t, nil)
		pi := leaderOf(s, 2)
		before := part(t, s.c, "t", pi)
		res := s.must(fence(2))
		after := part(t, s.c, "t", pi)
		if after.Leader == 2 || after.Leader == NoLeader || !before.InISR(after.Leader) {
			t.Fatalf("new leader %d, ISR before %v", after.Leader, before.ISR)
		}
		if after.LeaderEpoch != before.LeaderEpoch+1 || after.PartitionEpoch != before.PartitionEpoch+1 {
			t.Fatalf("epochs %d/%d -> %d/%d", before.LeaderEpoch, before.PartitionEpoch, after.LeaderEpoch, after.PartitionEpoch)
		}
		for _, p := range s.c.Topics["t"].Partitions {
			if p.InISR(2) {
				t.Fatalf("fenced broker still in ISR of %d: %v", p.Index, p.ISR)
			}
			if p.Index != pi && p.LeaderEpoch != 0 {
				t.Fatalf("partition %d not led by 2 got a leader change", p.Index)
			}
		}
		if len(res.Partitions) != 3 { // all three had 2 in the ISR
			t.Fatalf("changed partitions %d, want 3", len(res.Partitions))
		}
		if b, _ := s.c.Broker(2); b.State != BrokerFenced {
			t.Fatalf("state %s", b.State)
		}
		if s.must(fence(2)).Changed {
			t.Fatal("fencing twice changed the cluster")
		}
	})

	t.Run("last ISR member stays, partition goes leaderless", func(t *testing.T) {
		s := setup(t, nil)
		s.must(fence(1))
		s.must(fence(2))
		p := part(t, s.c, "t", 0)
		if !slices.Equal(p.ISR, []NodeID{3}) {
			t.Fatalf("ISR %v, want [3]", p.ISR)
		}
		le := p.LeaderEpoch
		s.must(fence(3))
		for _, p := range s.c.Topics["t"].Partitions {
			if p.Leader != NoLeader || !slices.Equal(p.ISR, []NodeID{3}) {
				t.Fatalf("partition %d: leader %d ISR %v, want -1 [3]", p.Index, p.Leader, p.ISR)
			}
		}
		if got := part(t, s.c, "t", 0).LeaderEpoch; got != le+1 {
			t.Fatalf("leader epoch %d, want %d", got, le+1)
		}
		// Broker 1 returns: not in the ISR, so it must not lead (clean election).
		s.must(unfence(1))
		if p := part(t, s.c, "t", 0); p.Leader != NoLeader {
			t.Fatalf("out-of-sync replica became leader: %+v", p)
		}
		// Broker 3, the last in-sync replica, returns and leads again.
		res := s.must(unfence(3))
		for _, p := range s.c.Topics["t"].Partitions {
			if p.Leader != 3 {
				t.Fatalf("partition %d leader %d, want 3", p.Index, p.Leader)
			}
		}
		if len(res.Partitions) != 3 || res.Broker.Epoch != int64(s.idx) {
			t.Fatalf("unfence result %+v", res)
		}
	})

	t.Run("unclean election picks an alive replica outside the ISR", func(t *testing.T) {
		s := setup(t, map[string]string{KeyUncleanLeaderElection: "true"})
		s.must(fence(1))
		s.must(fence(2))
		s.must(unfence(1)) // alive but not in any ISR
		s.must(fence(3))
		for _, p := range s.c.Topics["t"].Partitions {
			if p.Leader != 1 || !slices.Equal(p.ISR, []NodeID{1}) {
				t.Fatalf("partition %d: leader %d ISR %v, want 1 [1]", p.Index, p.Leader, p.ISR)
			}
		}
	})

	t.Run("re-registering a fenced broker unfences it", func(t *testing.T) {
		s := setup(t, nil)
		s.must(fence(3))
		res := s.must(register(3, ""))
		if res.Broker.State != BrokerAlive {
			t.Fatalf("state %s", res.Broker.State)
		}
	})

	t.Run("unknown broker", func(t *testing.T) {
		s := setup(t, nil)
		if _, err := s.try(fence(9)); !errors.Is(err, ErrUnknownBroker) {
			t.Fatalf("fence: %v", err)
		}
		if _, err := s.try(unfence(9)); !errors.Is(err, ErrUnknownBroker) {
			t.Fatalf("unfence: %v", err)
		}
	})
}
