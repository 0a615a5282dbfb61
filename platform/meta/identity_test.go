package meta

import (
	"errors"
	"slices"
	"testing"
)

func registerDir(id NodeID, dir string) Command {
	c := register(id, "")
	c.RegisterBroker.Broker.DirID = dir
	return c
}

func lost(s *seq, id NodeID, topic string, p int32) (Result, error) {
	b := s.c.Brokers[id]
	return s.try(Command{Op: OpReplicaLost, ReplicaLost: &ReplicaLost{Broker: id, BrokerEpoch: b.Epoch, Topic: topic, Partition: p}})
}

func recoverCmd(topic string, p int32) Command {
	return Command{Op: OpRecoverPartition, RecoverPartition: &RecoverPartition{Topic: topic, Partition: p}}
}

// threeWithDirs: brokers 1..3 with directory ids, one topic t, one
// partition, RF 3, replicas [1 2 3] (broker 1 leads).
func threeWithDirs(t *testing.T, cfg map[string]string) *seq {
	t.Helper()
	s := newSeq(t)
	for i := NodeID(1); i <= 3; i++ {
		s.must(registerDir(i, "dir-a"))
	}
	s.must(create("t", 1, 3, cfg))
	p := part(t, s.c, "t", 0)
	if p.Leader != 1 || len(p.ISR) != 3 {
		t.Fatalf("setup: %+v", p)
	}
	return s
}

func TestRegisterWithNewDirectoryLosesReplicas(t *testing.T) {
	t.Run("leader comes back with a new directory before it was fenced", func(t *testing.T) {
		s := threeWithDirs(t, nil)
		before := part(t, s.c, "t", 0)
		oldEpoch := s.c.Brokers[1].Epoch
		res := s.must(registerDir(1, "dir-b"))
		p := part(t, s.c, "t", 0)
		if p.Leader == 1 || p.Leader == NoLeader {
			t.Fatalf("newcomer still leads or nobody does: %+v", p)
		}
		if p.InISR(1) || !p.IsLost(1) {
			t.Fatalf("newcomer in ISR or not marked lost: %+v", p)
		}
		if p.LeaderEpoch != before.LeaderEpoch+1 || p.PartitionEpoch != before.PartitionEpoch+1 {
			t.Fatalf("epochs %d/%d, want %d/%d", p.LeaderEpoch, p.PartitionEpoch, before.LeaderEpoch+1, before.PartitionEpoch+1)
		}
		if res.Broker.Epoch <= oldEpoch || res.Broker.DirID != "dir-b" {
			t.Fatalf("broker epoch %d (was %d), dir %q", res.Broker.Epoch, oldEpoch, res.Broker.DirID)
		}
		if p.State() != PartitionOnline {
			t.Fatalf("state %s", p.State())
		}
	})

	t.Run("same directory changes nothing", func(t *testing.T) {
		s := threeWithDirs(t, nil)
		if res := s.must(registerDir(1, "dir-a")); res.Changed {
			t.Fatal("re-registration with the same directory changed the metadata")
		}
	})

	t.Run("a registration without a directory keeps the known one", func(t *testing.T) {
		s := threeWithDirs(t, nil)
		s.must(fence(2))
		s.must(register(2, "")) // serf's registration: no directory id
		if d := s.c.Brokers[2].DirID; d != "dir-a" {
			t.Fatalf("dir id %q", d)
		}
		if p := part(t, s.c, "t", 0); p.IsLost(2) {
			t.Fatalf("serf registration marked the replica lost: %+v", p)
		}
	})

	t.Run("first directory id adopted without loss", func(t *testing.T) {
		s := withBrokers(t, 3)
		s.must(create("t", 1, 3, nil))
		s.must(registerDir(1, "dir-a"))
		if p := part(t, s.c, "t", 0); p.IsLost(1) || !p.InISR(1) || p.Leader != 1 {
			t.Fatalf("%+v", p)
		}
	})

	t.Run("a lost newcomer is never elected by a clean election", func(t *testing.T) {
		s := threeWithDirs(t, nil)
		s.must(registerDir(1, "dir-b")) // 1 lost: leader 2, ISR [2 3]
		s.must(fence(2))
		s.must(fence(3))
		p := part(t, s.c, "t", 0)
		if p.Leader != NoLeader || p.State() != PartitionOffline {
			t.Fatalf("%+v state %s", p, p.State())
		}
		s.must(Command{Op: OpElectLeader, ElectLeader: &ElectLeader{Topic: "t"}})
		if p := part(t, s.c, "t", 0); p.Leader != NoLeader {
			t.Fatalf("the lost replica was elected: %+v", p)
		}
		s.must(unfence(3)) // the last ISR member is back: it leads
		if p := part(t, s.c, "t", 0); p.Leader != 3 {
			t.Fatalf("%+v", p)
		}
	})

	t.Run("rejoining the ISR clears lost", func(t *testing.T) {
		s := threeWithDirs(t, nil)
		s.must(registerDir(1, "dir-b"))
		p := part(t, s.c, "t", 0)
		s.must(Command{Op: OpAlterPartition, AlterPartition: &AlterPartition{Topic: "t", Partition: 0, Leader: p.Leader,
			LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: []NodeID{1, 2, 3}}})
		p = part(t, s.c, "t", 0)
		if p.IsLost(1) || !p.InISR(1) || p.Lost != nil {
			t.Fatalf("%+v", p)
		}
	})
}

func TestLastISRMemberLost(t *testing.T) {
	// The ISR shrank to broker 1 alone, then 1 lost its disk.
	shrunk := func(t *testing.T, cfg map[string]string) *seq {
		s := threeWithDirs(t, cfg)
		p := part(t, s.c, "t", 0)
		s.must(Command{Op: OpAlterPartition, AlterPartition: &AlterPartition{Topic: "t", Partition: 0, Leader: 1,
			LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: []NodeID{1}}})
		return s
	}

	t.Run("offline with a clear state", func(t *testing.T) {
		s := shrunk(t, nil)
		s.must(registerDir(1, "dir-b"))
		p := part(t, s.c, "t", 0)
		if p.Leader != NoLeader || len(p.ISR) != 0 || p.State() != PartitionDataLost {
			t.Fatalf("%+v state %s", p, p.State())
		}
		// Nothing brings it back on its own: not an election, not a
		// returning broker.
		s.must(Command{Op: OpElectLeader, ElectLeader: &ElectLeader{Topic: "t"}})
		s.must(fence(2))
		s.must(unfence(2))
		if p := part(t, s.c, "t", 0); p.Leader != NoLeader {
			t.Fatalf("came back without an operator: %+v", p)
		}
	})

	t.Run("operator recovery prefers a replica that kept its data", func(t *testing.T) {
		s := shrunk(t, nil)
		s.must(registerDir(1, "dir-b"))
		before := part(t, s.c, "t", 0)
		s.must(recoverCmd("t", 0))
		p := part(t, s.c, "t", 0)
		if p.Leader != 2 || !slices.Equal(p.ISR, []NodeID{2}) || p.LeaderEpoch != before.LeaderEpoch+1 {
			t.Fatalf("%+v", p)
		}
		if !p.IsLost(1) {
			t.Fatalf("recovery forgot that 1 lost its data: %+v", p)
		}
	})

	t.Run("operator recovery takes a lost replica when it is the only one alive", func(t *testing.T) {
		s := shrunk(t, nil)
		s.must(fence(2))
		s.must(fence(3))
		s.must(registerDir(1, "dir-b"))
		s.must(recoverCmd("t", 0))
		p := part(t, s.c, "t", 0)
		if p.Leader != 1 || !slices.Equal(p.ISR, []NodeID{1}) || p.IsLost(1) {
			t.Fatalf("%+v", p)
		}
	})

	t.Run("recovery refused while online or with nobody alive", func(t *testing.T) {
		s := threeWithDirs(t, nil)
		if _, err := s.try(recoverCmd("t", 0)); !errors.Is(err, ErrInvalidRequest) {
			t.Fatalf("online partition: %v", err)
		}
		s = shrunk(t, nil)
		s.must(fence(2))
		s.must(fence(3))
		s.must(fence(1))
		if _, err := s.try(recoverCmd("t", 0)); !errors.Is(err, ErrNotEnoughBrokers) {
			t.Fatalf("nobody alive: %v", err)
		}
		if _, err := s.try(recoverCmd("nope", 0)); !errors.Is(err, ErrUnknownTopic) {
			t.Fatalf("unknown topic: %v", err)
		}
	})

	t.Run("unclean election enabled on the topic recovers at once", func(t *testing.T) {
		s := shrunk(t, map[string]string{KeyUncleanLeaderElection: "true"})
		s.must(registerDir(1, "dir-b"))
		p := part(t, s.c, "t", 0)
		if p.Leader != 2 || !slices.Equal(p.ISR, []NodeID{2}) {
			t.Fatalf("%+v", p)
		}
	})
}

func TestReplicaLost(t *testing.T) {
	t.Run("a follower's damaged replica leaves the ISR", func(t *testing.T) {
		s := threeWithDirs(t, nil)
		before := part(t, s.c, "t", 0)
		if _, err := lost(s, 3, "t", 0); err != nil {
			t.Fatal(err)
		}
		p := part(t, s.c, "t", 0)
		if p.InISR(3) || !p.IsLost(3) || p.Leader != 1 || p.PartitionEpoch != before.PartitionEpoch+1 || p.LeaderEpoch != before.LeaderEpoch {
			t.Fatalf("%+v", p)
		}
		if res, err := lost(s, 3, "t", 0); err != nil || res.Changed {
			t.Fatalf("repeat: %v changed %v", err, res.Changed)
		}
	})

	t.Run("the leader's damaged replica moves leadership", func(t *testing.T) {
		s := threeWithDirs(t, nil)
		if _, err := lost(s, 1, "t", 0); err != nil {
			t.Fatal(err)
		}
		if p := part(t, s.c, "t", 0); p.Leader != 2 || p.InISR(1) {
			t.Fatalf("%+v", p)
		}
	})

	t.Run("a report from an earlier incarnation is refused", func(t *testing.T) {
		s := threeWithDirs(t, nil)
		stale := s.c.Brokers[3].Epoch
		s.must(fence(3))
		s.must(registerDir(3, "dir-a"))
		_, err := s.try(Command{Op: OpReplicaLost, ReplicaLost: &ReplicaLost{Broker: 3, BrokerEpoch: stale, Topic: "t", Partition: 0}})
		if !errors.Is(err, ErrStaleEpoch) {
			t.Fatalf("%v", err)
		}
	})

	t.Run("not a replica", func(t *testing.T) {
		s := threeWithDirs(t, nil)
		s.must(registerDir(4, "dir-a"))
		if _, err := lost(s, 4, "t", 0); !errors.Is(err, ErrInvalidRequest) {
			t.Fatalf("%v", err)
		}
	})
}

func TestReplicaLagTimeMaxConfig(t *testing.T) {
	cfg, err := ParseTopicConfig(DefaultTopicConfig(), map[string]string{KeyReplicaLagTimeMaxMs: "2500"})
	if err != nil || cfg.ReplicaLagTimeMaxMs != 2500 {
		t.Fatalf("%v %+v", err, cfg)
	}
	for _, bad := range []string{"-1", "999", "x"} {
		if _, err := ParseTopicConfig(DefaultTopicConfig(), map[string]string{KeyReplicaLagTimeMaxMs: bad}); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("%s: %v", bad, err)
		}
	}
}
