package meta

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCreateTopicValidation(t *testing.T) {
	tests := []struct {
		name string
		cmd  CreateTopic
		want error
	}{
		{name: "ok", cmd: CreateTopic{Name: "orders.v1_x-y", Partitions: 3, ReplicationFactor: 3}},
		{name: "defaults", cmd: CreateTopic{Name: "d"}},
		{name: "max partitions", cmd: CreateTopic{Name: "big", Partitions: MaxPartitions}},
		{name: "exists", cmd: CreateTopic{Name: "existing"}, want: ErrTopicExists},
		{name: "empty name", cmd: CreateTopic{Name: ""}, want: ErrInvalidRequest},
		{name: "slash", cmd: CreateTopic{Name: "a/b"}, want: ErrInvalidRequest},
		{name: "dotdot", cmd: CreateTopic{Name: ".."}, want: ErrInvalidRequest},
		{name: "too long", cmd: CreateTopic{Name: strings.Repeat("a", 250)}, want: ErrInvalidRequest},
		{name: "249 ok", cmd: CreateTopic{Name: strings.Repeat("a", 249)}},
		{name: "negative partitions", cmd: CreateTopic{Name: "n", Partitions: -1}, want: ErrInvalidRequest},
		{name: "too many partitions", cmd: CreateTopic{Name: "n", Partitions: MaxPartitions + 1}, want: ErrInvalidRequest},
		{name: "rf above brokers", cmd: CreateTopic{Name: "n", ReplicationFactor: 4}, want: ErrNotEnoughBrokers},
		{name: "negative rf", cmd: CreateTopic{Name: "n", ReplicationFactor: -1}, want: ErrInvalidRequest},
		{name: "bad config", cmd: CreateTopic{Name: "n", Config: map[string]string{"nope": "1"}}, want: ErrInvalidConfig},
		{name: "min isr above rf", cmd: CreateTopic{Name: "n", ReplicationFactor: 2, Config: map[string]string{KeyMinInsyncReplicas: "3"}}, want: ErrInvalidConfig},
		{name: "bad partitioner", cmd: CreateTopic{Name: "n", Partitioner: PartitionerSpec{Name: "murmur"}}, want: ErrInvalidRequest},
		{name: "builtin with plugin", cmd: CreateTopic{Name: "n", Partitioner: PartitionerSpec{Name: "hash", Plugin: "x"}}, want: ErrInvalidRequest},
		{name: "unknown plugin", cmd: CreateTopic{Name: "n", Partitioner: *wasmSpec("nope", 0)}, want: ErrUnknownPlugin},
		{name: "unknown plugin version", cmd: CreateTopic{Name: "n", Partitioner: *wasmSpec("geo", 7)}, want: ErrUnknownPlugin},
		{name: "processor as partitioner", cmd: CreateTopic{Name: "n", Partitioner: *wasmSpec("upper", 0)}, want: ErrInvalidRequest},
		{name: "wasm partitioner", cmd: CreateTopic{Name: "n", Partitioner: *wasmSpec("geo", 1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := withBrokers(t, 3)
			s.must(create("existing", 1, 1, nil))
			s.must(upload("geo", PluginKindPartitioner))
			s.must(upload("upper", PluginKindProcessor))
			cmd := tc.cmd
			res, err := s.try(Command{Op: OpCreateTopic, CreateTopic: &cmd})
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tp, ok := s.c.Topic(cmd.Name)
			if !ok || res.Topic != tp {
				t.Fatal("topic not stored / not returned")
			}
			checkAssignment(t, s.c, tp)
		})
	}
}

// checkAssignment checks the invariants of a fresh assignment.
func checkAssignment(t *testing.T, c *Cluster, tp *Topic) {
	t.Helper()
	rf := tp.ReplicationFactor
	for i, p := range tp.Partitions {
		if p.Index != int32(i) || p.Topic != tp.Name {
			t.Fatalf("partition %d named %s-%d", i, p.Topic, p.Index)
		}
		if len(p.Replicas) != rf || p.Leader != p.Replicas[0] || !slices.Equal(p.ISR, p.Replicas) ||
			p.LeaderEpoch != 0 || p.PartitionEpoch != 0 {
			t.Fatalf("partition %d: %+v", i, p)
		}
		seen := map[NodeID]bool{}
		for _, r := range p.Replicas {
			if seen[r] {
				t.Fatalf("partition %d: replica %d twice in %v", i, r, p.Replicas)
			}
			seen[r] = true
			if b, ok := c.Brokers[r]; !ok || !b.Alive() {
				t.Fatalf("partition %d: replica %d not an alive broker", i, r)
			}
		}
	}
}

func TestCreateTopicSpreadsLeadersAndReplicas(t *testing.T) {
	s := withBrokers(t, 3)
	s.must(fence(3)) // fenced brokers get nothing
	s.must(register(4, ""))
	s.must(register(5, ""))
	tp := s.must(create("spread", 40, 3, nil)).Topic
	checkAssignment(t, s.c, tp)
	leaders, replicas := map[NodeID]int{}, map[NodeID]int{}
	for _, p := range tp.Partitions {
		leaders[p.Leader]++
		for _, r := range p.Replicas {
			replicas[r]++
		}
	}
	if leaders[3] != 0 || replicas[3] != 0 {
		t.Fatal("fenced broker 3 got replicas")
	}
	for _, id := range []NodeID{1, 2, 4, 5} {
		if leaders[id] != 10 || replicas[id] != 30 {
			t.Fatalf("broker %d leads %d (want 10) and holds %d replicas (want 30)", id, leaders[id], replicas[id])
		}
	}
	// Small topics one after another still spread their leaders.
	first := map[NodeID]int{}
	for _, n := range []string{"a", "b", "c", "d"} {
		first[s.must(create(n, 1, 1, nil)).Topic.Partitions[0].Leader]++
	}
	if len(first) != 4 {
		t.Fatalf("four one-partition topics led by %v, want four distinct brokers", first)
	}
}

func TestCreateTopicRackAware(t *testing.T) {
	s := newSeq(t)
	racks := map[NodeID]string{1: "a", 2: "a", 3: "b", 4: "b", 5: "c", 6: "c"}
	for id := NodeID(1); id <= 6; id++ {
		s.must(register(id, racks[id]))
	}
	tp := s.must(create("racked", 12, 3, nil)).Topic
	checkAssignment(t, s.c, tp)
	for _, p := range tp.Partitions {
		used := map[string]bool{}
		for _, r := range p.Replicas {
			used[racks[r]] = true
		}
		if len(used) != 3 {
			t.Fatalf("partition %d replicas %v span racks %v, want all three", p.Index, p.Replicas, used)
		}
	}
	// RF above the rack count: racks repeat, brokers never do.
	tp = s.must(Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "x", Partitions: 6, ReplicationFactor: 6}}).Topic
	checkAssignment(t, s.c, tp)
}

func TestTopicIDUniquePerCreation(t *testing.T) {
	s := withBrokers(t, 1)
	id1 := s.must(create("t", 1, 1, nil)).Topic.ID
	s.must(Command{Op: OpDeleteTopic, DeleteTopic: &DeleteTopic{Name: "t"}})
	id2 := s.must(create("t", 1, 1, nil)).Topic.ID
	if id1 == "" || id1 == id2 {
		t.Fatalf("ids %q and %q", id1, id2)
	}
	own := s.must(Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "u", ID: "given"}}).Topic
	if own.ID != "given" {
		t.Fatalf("id %q, want given", own.ID)
	}
}

func TestDeleteTopic(t *testing.T) {
	s := withBrokers(t, 1)
	s.must(create("t", 2, 1, nil))
	res := s.must(Command{Op: OpDeleteTopic, DeleteTopic: &DeleteTopic{Name: "t"}})
	if res.Topic == nil || res.Topic.Name != "t" {
		t.Fatalf("result %+v", res)
	}
	if _, ok := s.c.Topic("t"); ok {
		t.Fatal("topic still there")
	}
	if _, err := s.try(Command{Op: OpDeleteTopic, DeleteTopic: &DeleteTopic{Name: "t"}}); !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestAlterTopic(t *testing.T) {
	tests := []struct {
		name    string
		alter   AlterTopic
		want    error
		changed bool
		check   func(t *testing.T, tp *Topic)
	}{
		{name: "config", alter: AlterTopic{Config: map[string]string{KeyRetentionMs: "60000"}}, changed: true,
			check: func(t *testing.T, tp *Topic) {
				if tp.Config.RetentionMs != 60000 || tp.Config.Durability != DurabilityReplicated {
					t.Fatalf("config %+v (durability must be kept from creation)", tp.Config)
				}
			}},
		{name: "same config is a no-op", alter: AlterTopic{Config: map[string]string{KeyDurability: "replicated"}}},
		{name: "partitioner", alter: AlterTopic{Partitioner: &PartitionerSpec{Name: "roundrobin"}}, changed: true,
			check: func(t *testing.T, tp *Topic) {
				if tp.Partitioner.Name != "roundrobin" {
					t.Fatalf("partitioner %+v", tp.Partitioner)
				}
			}},
		{name: "wasm partitioner latest", alter: AlterTopic{Partitioner: wasmSpec("geo", 0)}, changed: true},
		{name: "wasm partitioner params", alter: AlterTopic{Partitioner: &PartitionerSpec{Name: "wasm", Plugin: "geo", Version: 2, Params: map[string]string{"k": "v"}}}, changed: true,
			check: func(t *testing.T, tp *Topic) {
				if tp.Partitioner.Params["k"] != "v" || tp.Partitioner.Version != 2 {
					t.Fatalf("partitioner %+v", tp.Partitioner)
				}
			}},
		{name: "unknown plugin", alter: AlterTopic{Partitioner: wasmSpec("nope", 0)}, want: ErrUnknownPlugin},
		{name: "processor plugin", alter: AlterTopic{Partitioner: wasmSpec("upper", 0)}, want: ErrInvalidRequest},
		{name: "bad config", alter: AlterTopic{Config: map[string]string{KeyDurability: "x"}}, want: ErrInvalidConfig},
		{name: "min isr above rf", alter: AlterTopic{Config: map[string]string{KeyMinInsyncReplicas: "3"}}, want: ErrInvalidConfig},
		{name: "unknown topic", alter: AlterTopic{Name: "zz"}, want: ErrUnknownTopic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := withBrokers(t, 2)
			s.must(upload("geo", PluginKindPartitioner))
			s.must(upload("geo", PluginKindPartitioner))
			s.must(upload("upper", PluginKindProcessor))
			s.must(create("t", 4, 2, map[string]string{KeyDurability: "replicated"}))
			before := s.c.Topics["t"]
			at := tc.alter
			if at.Name == "" {
				at.Name = "t"
			}
			res, err := s.try(Command{Op: OpAlterTopic, AlterTopic: &at})
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Changed != tc.changed {
				t.Fatalf("changed = %v, want %v", res.Changed, tc.changed)
			}
			tp := s.c.Topics["t"]
			if tp.ID != before.ID || len(tp.Partitions) != 4 {
				t.Fatal("alter touched identity or partitions")
			}
			if tc.check != nil {
				tc.check(t, tp)
			}
		})
	}
}

// TestInternalTopicsProtected: an internal topic (the cluster's own
// data, such as committed offsets) can be neither deleted nor altered,
// and user topics cannot take the internal prefix, so that its readers
// and writers can rely on its partitioner and its existence.
func TestInternalTopicsProtected(t *testing.T) {
	s := withBrokers(t, 3)
	s.must(Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "__consumer_offsets", Partitions: 4, Internal: true,
		Partitioner: PartitionerSpec{Name: "hash"}}})
	before := s.c
	rr := "roundrobin"
	for _, cmd := range []Command{
		{Op: OpDeleteTopic, DeleteTopic: &DeleteTopic{Name: "__consumer_offsets"}},
		{Op: OpAlterTopic, AlterTopic: &AlterTopic{Name: "__consumer_offsets", Partitioner: &PartitionerSpec{Name: rr}}},
		{Op: OpAlterTopic, AlterTopic: &AlterTopic{Name: "__consumer_offsets", Config: map[string]string{KeyRetentionMs: "1000"}}},
		{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "__mine"}},
	} {
		_, err := s.try(cmd)
		if !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", cmd.Op, err)
		}
		if s.c != before {
			t.Fatalf("%s changed the cluster", cmd.Op)
		}
	}
	// Other topics stay alterable and deletable.
	s.must(create("user", 1, 1, nil))
	s.must(Command{Op: OpAlterTopic, AlterTopic: &AlterTopic{Name: "user", Partitioner: &PartitionerSpec{Name: rr}}})
	s.must(Command{Op: OpDeleteTopic, DeleteTopic: &DeleteTopic{Name: "user"}})
}

// TestCreateTopicRefusesPathIDs: an id from the log that would make the
// broker's topic directory a path is refused by Apply itself.
func TestCreateTopicRefusesPathIDs(t *testing.T) {
	c, _, err := Apply(NewCluster(), 1, Command{Op: OpRegisterBroker, RegisterBroker: &RegisterBroker{Broker: Broker{ID: 1, HTTPAddr: "http://h:1"}}}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Apply(c, 2, Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "t", ID: "safe_id-1"}}, time.Time{}); err != nil {
		t.Fatalf("a safe id: %v", err)
	}
	for _, id := range []string{"../../x", "a/b", ".", "a.b", strings.Repeat("a", MaxTopicIDLen+1)} {
		if _, _, err := Apply(c, 2, Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "t", ID: id}}, time.Time{}); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("id %q: %v, want ErrInvalidRequest", id, err)
		}
	}
}
