package platform_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// TestPartitionerVersionPinned: a topic created with wasm:NAME keeps the
// version latest at its creation. After NAME@2 (a different mapping) is
// uploaded, keys still go where @1 sends them; after an explicit alter to
// NAME@2 they follow @2. Describe shows the pinned version throughout.
func TestPartitionerVersionPinned(t *testing.T) {
	hash := watWasm(t, "examples/wat-partitioner/partitioner.wat")
	last := watWasm(t, "plugins/testdata/lastpartition.wat")
	n := testnode.Start(t, pluginNode)
	h := httpc{t: t, base: n.URL()}
	h.mustUpload("keys", "kind=partitioner", hash)
	tp := createPluginTopic(h, "orders", 4, "wasm:keys", nil)
	if tp.Partitioner != "wasm:keys@1" {
		t.Fatalf("created with wasm:keys: partitioner %q, want wasm:keys@1", tp.Partitioner)
	}
	var recs []wire.ProduceRecord
	for i := range 40 {
		recs = append(recs, wire.ProduceRecord{Key: strp(fmt.Sprintf("k%d", i)), Value: "v"})
	}
	byHash := func(stage string) {
		t.Helper()
		for i, r := range h.mustProduce("orders", recs) {
			if want := partitioner.HashPartition([]byte(fmt.Sprintf("k%d", i)), 4); r.Partition != want {
				t.Fatalf("%s: record %d went to partition %d, want %d (keys@1's)", stage, i, r.Partition, want)
			}
		}
	}
	byHash("before the upload of @2")

	if v := h.mustUpload("keys", "kind=partitioner", last); v.Version != 2 {
		t.Fatalf("second upload got version %d", v.Version)
	}
	byHash("after the upload of @2")
	var desc wire.Topic
	h.ok(http.MethodGet, "/v1/topics/orders", nil, &desc)
	if desc.Partitioner != "wasm:keys@1" {
		t.Fatalf("describe after the upload: partitioner %q, want wasm:keys@1", desc.Partitioner)
	}

	h.ok(http.MethodPatch, "/v1/topics/orders", wire.AlterTopicRequest{Partitioner: strp("wasm:keys@2")}, &desc)
	if desc.Partitioner != "wasm:keys@2" {
		t.Fatalf("after alter: partitioner %q", desc.Partitioner)
	}
	// The broker applies the alter when its metadata catches up.
	eventually(t, "produce follows keys@2", func() (bool, string) {
		r := h.mustProduce("orders", recs[:1])[0]
		return r.Partition == 3, fmt.Sprintf("k0 went to partition %d", r.Partition)
	})
	for i, r := range h.mustProduce("orders", recs) {
		if r.Partition != 3 {
			t.Fatalf("after alter to @2: record %d went to partition %d, want 3 (keys@2 sends all to the last)", i, r.Partition)
		}
	}
}
