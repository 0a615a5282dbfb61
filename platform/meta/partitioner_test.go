package meta

import "testing"

// A topic created with wasm:NAME names the version latest at creation, and
// a later upload does not move it; AlterTopic with wasm:NAME pins the
// latest at that moment.
func TestPartitionerPinnedAtCreation(t *testing.T) {
	s := withBrokers(t, 1)
	s.must(upload("geo", PluginKindPartitioner))
	s.must(Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "t", Partitioner: *wasmSpec("geo", 0)}})
	if got := s.c.Topics["t"].Partitioner.String(); got != "wasm:geo@1" {
		t.Fatalf("after create: partitioner %s, want wasm:geo@1", got)
	}
	s.must(upload("geo", PluginKindPartitioner))
	if got := s.c.Topics["t"].Partitioner.String(); got != "wasm:geo@1" {
		t.Fatalf("after upload of @2: partitioner %s, want wasm:geo@1", got)
	}
	if users := s.c.UsersOfPlugin("geo", 2); len(users) != 0 {
		t.Fatalf("users of geo@2 = %v, want none", users)
	}
	res := s.must(Command{Op: OpAlterTopic, AlterTopic: &AlterTopic{Name: "t", Partitioner: wasmSpec("geo", 0)}})
	if !res.Changed || s.c.Topics["t"].Partitioner.String() != "wasm:geo@2" {
		t.Fatalf("alter to wasm:geo: changed %v, partitioner %s, want wasm:geo@2", res.Changed, s.c.Topics["t"].Partitioner)
	}
	// Altering to the version it already has is no change.
	if res := s.must(Command{Op: OpAlterTopic, AlterTopic: &AlterTopic{Name: "t", Partitioner: wasmSpec("geo", 2)}}); res.Changed {
		t.Fatal("alter to the pinned version reported a change")
	}
}

// A topic stored unpinned (by an earlier release) follows the latest
// version until its plugin's next upload, which pins it first to the
// version it was using.
func TestUnpinnedTopicPinnedByNextUpload(t *testing.T) {
	s := withBrokers(t, 1)
	s.must(upload("geo", PluginKindPartitioner))
	s.must(upload("geo", PluginKindPartitioner))
	s.must(Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "old", Partitioner: *wasmSpec("geo", 1)}})
	s.must(Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "other", Partitioner: PartitionerSpec{Name: PartitionerHash}}})
	// What an earlier release stored: no version, params kept.
	legacy := *s.c.Topics["old"]
	legacy.Partitioner = PartitionerSpec{Name: PartitionerWasm, Plugin: "geo", Params: map[string]string{"k": "v"}}
	next := *s.c
	next.Topics = cloneMap(s.c.Topics)
	next.Topics["old"] = &legacy
	s.c = &next
	if users := s.c.UsersOfPlugin("geo", 2); len(users) != 1 {
		t.Fatalf("unpinned topic should use the latest (@2); users of @2 = %v", users)
	}

	s.must(upload("geo", PluginKindPartitioner)) // @3
	got := s.c.Topics["old"].Partitioner
	if got.String() != "wasm:geo@2" || got.Params["k"] != "v" {
		t.Fatalf("after upload: partitioner %s %v, want wasm:geo@2 with its params", got, got.Params)
	}
	if s.c.Topics["other"].Partitioner.Name != PartitionerHash {
		t.Fatalf("other topic changed: %+v", s.c.Topics["other"].Partitioner)
	}
	if legacy.Partitioner.Version != 0 {
		t.Fatal("pinning modified the previous cluster's topic")
	}
	// An upload of another plugin pins nothing of geo's (nothing left to pin).
	s.must(upload("zone", PluginKindPartitioner))
	if s.c.Topics["old"].Partitioner.Version != 2 {
		t.Fatalf("partitioner %s", s.c.Topics["old"].Partitioner)
	}
}
