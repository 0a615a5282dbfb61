package broker

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
)

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReplicaOpenState(t *testing.T) {
	cases := []struct {
		exists bool
		size   int64
		marker bool
		want   ReplicaState
	}{
		{false, 0, false, ReplicaNew},
		{true, 0, false, ReplicaNew}, // an empty file never marked: a crash during creation
		{true, 4096, false, ReplicaExisting},
		{true, 4096, true, ReplicaExisting},
		{false, 0, true, ReplicaVanished},
		{true, 0, true, ReplicaVanished},
	}
	for _, c := range cases {
		if got := ReplicaOpenState(c.exists, c.size, c.marker); got != c.want {
			t.Errorf("exists %v size %d marker %v: %v, want %v", c.exists, c.size, c.marker, got, c.want)
		}
	}
}

func TestDirectoryIDSurvivesRestartsAndChangesWithTheDirectory(t *testing.T) {
	src := newMemSource(t, 1)
	dir := t.TempDir()
	b := startBroker(t, src, dir)
	id := b.DirID()
	if len(id) != 32 {
		t.Fatalf("dir id %q", id)
	}
	b.Close()
	if b2 := startBroker(t, src, dir); b2.DirID() != id {
		t.Fatalf("restart changed the directory id: %q -> %q", id, b2.DirID())
	} else {
		b2.Close()
	}
	if err := os.RemoveAll(filepath.Join(dir, "partitions")); err != nil {
		t.Fatal(err)
	}
	if b3 := startBroker(t, src, dir); b3.DirID() == id {
		t.Fatal("a wiped directory kept its id")
	}
}

// TestUnregisteredDirectoryTakesNoRole: with heartbeats on, a broker whose
// directory id is not (yet) the metadata's leads nothing, even where the
// metadata names it leader: an empty log after disk loss never answers
// as a leader.
func TestUnregisteredDirectoryTakesNoRole(t *testing.T) {
	src := newMemSource(t, 1)
	beats := make(chan meta.Heartbeat, 100)
	b := startBroker(t, src, t.TempDir(), func(c *Config) {
		c.Heartbeat = func(_ context.Context, hb meta.Heartbeat) (meta.HeartbeatReply, error) {
			select {
			case beats <- hb:
			default:
			}
			return meta.HeartbeatReply{Registered: true, BrokerEpoch: 7}, nil
		}
		c.HeartbeatInterval = 10 * time.Millisecond
	})
	waitVersion(t, b, src.createTopic(t, "t", 1, nil))
	_, err := b.Produce(context.Background(), ProduceRequest{Topic: "t", Records: []record.Record{{Value: []byte("x")}}, Acks: AcksLeader}, nil)
	if !errors.Is(err, ErrNotLeader) {
		t.Fatalf("produce before the directory id is registered: %v, want ErrNotLeader", err)
	}
	hb := <-beats
	if hb.Broker != 1 || hb.DirID != b.DirID() {
		t.Fatalf("heartbeat %+v", hb)
	}
	eventually(t, "broker epoch from the reply", func() bool { return b.BrokerEpoch() == 7 })
	// The controller records the directory id (as Heartbeat would).
	me, _ := src.Metadata().Broker(1)
	nb := *me
	nb.DirID = b.DirID()
	waitVersion(t, b, src.propose(t, meta.Command{Op: meta.OpRegisterBroker, RegisterBroker: &meta.RegisterBroker{Broker: nb}}))
	if !b.Registered() {
		t.Fatal("not registered")
	}
	produce(t, b, "t", []record.Record{{Value: []byte("x")}}, AcksAll)
}

// TestDamagedReplicaIsMovedAsideAndReportedLost: a partition file
// overwritten with garbage costs that replica only: the file is moved
// aside (kept), the replica is reported lost, the partition (its only
// ISR member lost its data) goes offline with a clear state, the other
// partition serves on; an operator's recovery brings it back, empty.
func TestDamagedReplicaIsMovedAsideAndReportedLost(t *testing.T) {
	src := newMemSource(t, 1)
	dir := t.TempDir()
	b, err := Start(context.Background(), Config{NodeID: 1, DataDir: dir, Metadata: src, Logger: quiet, HeartbeatInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	waitVersion(t, b, src.createTopic(t, "d", 2, nil))
	produce(t, b, "d", []record.Record{{Value: []byte("a")}, {Value: []byte("b")}, {Value: []byte("c")}, {Value: []byte("d")}}, AcksAll)
	tdir := b.lookupDir(t, "d")
	damaged := filepath.Join(tdir, "1.db")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	garbage := bytes.Repeat([]byte{0xde, 0xad}, 8192)
	if err := os.WriteFile(damaged, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	b = startBroker(t, src, dir, func(c *Config) { c.HeartbeatInterval = 10 * time.Millisecond })
	if got := len(fetchAll(t, b, "d", 0)); got != 2 {
		t.Fatalf("healthy partition 0: %d records, want 2", got)
	}
	var p meta.Partition
	eventually(t, "the damaged replica reported lost", func() bool {
		p = src.Metadata().Topics["d"].Partitions[1]
		return p.State() == meta.PartitionDataLost
	})
	if !p.IsLost(1) || p.Leader != meta.NoLeader {
		t.Fatalf("%+v", p)
	}
	entries, _ := os.ReadDir(tdir)
	var aside []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "1.db.damaged-") {
			aside = append(aside, e.Name())
		}
	}
	if len(aside) != 1 {
		t.Fatalf("damaged file not kept aside: %v", entries)
	}
	if raw, _ := os.ReadFile(filepath.Join(tdir, aside[0])); !bytes.Equal(raw, garbage) {
		t.Fatal("the file moved aside is not the damaged one")
	}
	if _, err := b.Fetch(context.Background(), FetchRequest{Topic: "d", Partition: 1}, nil); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("fetch from the lost replica: %v", err)
	}
	if _, err := b.ProducePartition(context.Background(), "d", 0, []record.Record{{Value: []byte("e")}}, AcksAll, 0); err != nil {
		t.Fatalf("the healthy partition stopped taking writes: %v", err)
	}

	// The operator accepts the loss: the replica leads again, empty.
	waitVersion(t, b, src.propose(t, meta.Command{Op: meta.OpRecoverPartition, RecoverPartition: &meta.RecoverPartition{Topic: "d", Partition: 1}}))
	base, err := b.ProducePartition(context.Background(), "d", 1, []record.Record{{Value: []byte("new")}}, AcksAll, 0)
	if err != nil || base != 0 {
		t.Fatalf("produce after recovery: base %d, %v", base, err)
	}
}

// TestVanishedReplicaIsReportedLost: a replica file this directory created
// that is gone at start is a lost replica, not a new empty log.
func TestVanishedReplicaIsReportedLost(t *testing.T) {
	src := newMemSource(t, 1)
	dir := t.TempDir()
	b := startBroker(t, src, dir)
	waitVersion(t, b, src.createTopic(t, "v", 2, nil))
	produce(t, b, "v", keyed(20, "v"), AcksAll)
	tdir := b.lookupDir(t, "v")
	b.Close()
	if err := os.Remove(filepath.Join(tdir, "0.db")); err != nil {
		t.Fatal(err)
	}
	b = startBroker(t, src, dir, func(c *Config) { c.HeartbeatInterval = 10 * time.Millisecond })
	eventually(t, "the vanished replica reported lost", func() bool {
		return src.Metadata().Topics["v"].Partitions[0].State() == meta.PartitionDataLost
	})
	if p := src.Metadata().Topics["v"].Partitions[1]; p.State() != meta.PartitionOnline || p.IsLost(1) {
		t.Fatalf("the intact partition: %+v", p)
	}
	if len(fetchAll(t, b, "v", 1)) == 0 {
		t.Fatal("the intact partition lost its records")
	}
}

// TestTopicReplicaLagTimeMax: a follower that never fetches leaves the
// ISR after the topic's replica.lag.time.max.ms, not the broker's (an
// hour here).
func TestTopicReplicaLagTimeMax(t *testing.T) {
	src := newMemSource(t, 1, 2)
	b := startBroker(t, src, t.TempDir(), func(c *Config) { c.ReplicaLagMax = time.Hour })
	v := src.propose(t, meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{
		Name: "lag", Partitions: 1, ReplicationFactor: 2,
		Config: map[string]string{meta.KeyReplicaLagTimeMaxMs: "1000"}}})
	waitVersion(t, b, v)
	p := src.Metadata().Topics["lag"].Partitions[0]
	if p.Leader != 1 || len(p.ISR) != 2 {
		t.Fatalf("setup: %+v", p)
	}
	eventually(t, "silent follower out of the ISR", func() bool {
		return len(src.Metadata().Topics["lag"].Partitions[0].ISR) == 1
	})
}
