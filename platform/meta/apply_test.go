package meta

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestApplyRejectsBadCommands(t *testing.T) {
	for _, cmd := range []Command{
		{Op: "bogus"},
		{Op: OpCreateTopic},
		{Op: OpFenceBroker},
		{Op: OpDeletePlugin},
		{Op: OpSetClusterID},
	} {
		s := newSeq(t)
		if _, err := s.try(cmd); !errors.Is(err, ErrInvalidRequest) {
			t.Fatalf("%q: err = %v", cmd.Op, err)
		}
	}
}

func TestSetClusterID(t *testing.T) {
	s := newSeq(t)
	set := func(id string) Command {
		return Command{Op: OpSetClusterID, SetClusterID: &SetClusterID{ClusterID: id}}
	}
	if !s.must(set("abc")).Changed || s.c.ClusterID != "abc" {
		t.Fatal("not set")
	}
	if s.must(set("abc")).Changed {
		t.Fatal("same id again changed the cluster")
	}
	if _, err := s.try(set("other")); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("different id: %v", err)
	}
	if _, err := s.try(set("")); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("empty id: %v", err)
	}
}

// TestReplayIsDeterministic applies the same log twice, once through the
// JSON encoding the raft log uses, and expects identical clusters: what every
// controller replica relies on.
func TestReplayIsDeterministic(t *testing.T) {
	log := []Command{
		{Op: OpSetClusterID, SetClusterID: &SetClusterID{ClusterID: "c1"}},
		register(1, "a"), register(2, "b"), register(3, "c"),
		upload("geo", PluginKindPartitioner),
		create("orders", 12, 3, map[string]string{KeyMinInsyncReplicas: "2"}),
		{Op: OpAlterTopic, AlterTopic: &AlterTopic{Name: "orders", Partitioner: wasmSpec("geo", 1)}},
		create("clicks", 5, 2, nil),
		fence(2),
		{Op: OpElectLeader, ElectLeader: &ElectLeader{Topic: "orders"}},
		unfence(2),
		{Op: OpAlterPartition, AlterPartition: &AlterPartition{Topic: "clicks", Partition: 0, Leader: 9}}, // fails: stale
		{Op: OpDeleteTopic, DeleteTopic: &DeleteTopic{Name: "clicks"}},
	}
	run := func(viaJSON bool) *Cluster {
		s := newSeq(t)
		for _, cmd := range log {
			if viaJSON {
				b, err := cmd.Encode()
				if err != nil {
					t.Fatal(err)
				}
				if cmd, err = DecodeCommand(b); err != nil {
					t.Fatal(err)
				}
			}
			_, _ = s.try(cmd)
		}
		return s.c
	}
	a, b := run(false), run(true)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("replays differ:\n%s\n%s", snapshotJSON(t, a), snapshotJSON(t, b))
	}
	// A cluster survives a JSON round trip (the controller's snapshots).
	var c Cluster
	if err := json.Unmarshal([]byte(snapshotJSON(t, a)), &c); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, &c) {
		t.Fatalf("JSON round trip differs:\n%s\n%s", snapshotJSON(t, a), snapshotJSON(t, &c))
	}
	if len(a.Topics) != 1 || a.Topics["orders"].Partitioner.Plugin != "geo" {
		t.Fatalf("unexpected end state: %s", snapshotJSON(t, a))
	}
}

func TestTopicCloneIsDeep(t *testing.T) {
	s := withBrokers(t, 2)
	s.must(Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "t", Partitions: 2, ReplicationFactor: 2,
		Partitioner: PartitionerSpec{Name: "auto", Params: map[string]string{"a": "1"}}}})
	orig := s.c.Topics["t"]
	before := snapshotJSON(t, s.c)
	c := orig.Clone()
	c.Partitions[0].ISR[0] = 99
	c.Partitions[1].Replicas = append(c.Partitions[1].Replicas[:0], 42)
	c.Partitioner.Params["a"] = "changed"
	if snapshotJSON(t, s.c) != before {
		t.Fatal("modifying a clone changed the cluster")
	}
}

func TestBrokerHasRole(t *testing.T) {
	none := &Broker{}
	if !none.HasRole(RoleBroker) || none.HasRole(RoleController) {
		t.Fatal("a node without roles must count as a broker only")
	}
	ctl := &Broker{Roles: []string{RoleController}}
	if ctl.HasRole(RoleBroker) || !ctl.HasRole(RoleController) {
		t.Fatal("controller-only node")
	}
	s := newSeq(t)
	s.must(Command{Op: OpRegisterBroker, RegisterBroker: &RegisterBroker{Broker: Broker{ID: 1, Roles: []string{RoleController}}}})
	if _, err := s.try(create("t", 1, 1, nil)); !errors.Is(err, ErrNotEnoughBrokers) {
		t.Fatalf("replicas on a controller-only node: %v", err)
	}
}
