package meta

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// seq applies commands one after another at increasing raft indexes, and
// checks on every step that Apply never modified the cluster it was given.
type seq struct {
	t   *testing.T
	c   *Cluster
	idx uint64
}

func newSeq(t *testing.T) *seq {
	t.Helper()
	return &seq{t: t, c: NewCluster()}
}

func (s *seq) try(cmd Command) (Result, error) {
	s.t.Helper()
	before := snapshotJSON(s.t, s.c)
	s.idx++
	next, res, err := Apply(s.c, s.idx, cmd, t0.Add(time.Duration(s.idx)*time.Second))
	if after := snapshotJSON(s.t, s.c); after != before {
		s.t.Fatalf("Apply(%s) modified its input cluster", cmd.Op)
	}
	if err != nil || !res.Changed {
		if next != s.c {
			s.t.Fatalf("Apply(%s) failed or was a no-op but returned a new cluster", cmd.Op)
		}
	} else if next.Version != s.idx {
		s.t.Fatalf("Apply(%s): version %d, want %d", cmd.Op, next.Version, s.idx)
	}
	s.c = next
	return res, err
}

func (s *seq) must(cmd Command) Result {
	s.t.Helper()
	res, err := s.try(cmd)
	if err != nil {
		s.t.Fatalf("Apply(%s): %v", cmd.Op, err)
	}
	return res
}

func snapshotJSON(t *testing.T, c *Cluster) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func register(id NodeID, rack string) Command {
	return Command{Op: OpRegisterBroker, RegisterBroker: &RegisterBroker{Broker: Broker{
		ID: id, HTTPAddr: fmt.Sprintf("127.0.0.1:%d", 8000+id), Rack: rack,
		Roles: []string{RoleBroker, RoleController},
	}}}
}

func fence(id NodeID) Command {
	return Command{Op: OpFenceBroker, FenceBroker: &FenceBroker{ID: id}}
}

func unfence(id NodeID) Command {
	return Command{Op: OpUnfenceBroker, UnfenceBroker: &UnfenceBroker{ID: id}}
}

func create(name string, parts, rf int, cfg map[string]string) Command {
	return Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: name, Partitions: parts, ReplicationFactor: rf, Config: cfg}}
}

func upload(name, kind string) Command {
	return Command{Op: OpUploadPlugin, UploadPlugin: &UploadPlugin{Name: name, Kind: kind, Wasm: []byte("\x00asm" + name)}}
}

func wasmSpec(plugin string, version int) *PartitionerSpec {
	return &PartitionerSpec{Name: PartitionerWasm, Plugin: plugin, Version: version}
}

// withBrokers returns a sequence with brokers 1..n registered (no racks).
func withBrokers(t *testing.T, n int) *seq {
	s := newSeq(t)
	for i := 1; i <= n; i++ {
		s.must(register(NodeID(i), ""))
	}
	return s
}

func part(t *testing.T, c *Cluster, topic string, i int32) Partition {
	t.Helper()
	p, err := c.PartitionOf(topic, i)
	if err != nil {
		t.Fatal(err)
	}
	return *p
}
