package platform_test

import (
	"net/http"
	"testing"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// TestPluginTestRouteRealModules runs uploaded modules through
// POST /v1/plugins/{name}/test: the WAT partitioner places records as a
// topic using it does, the echo processor returns its input with each
// output's source index; nothing stays started.
func TestPluginTestRouteRealModules(t *testing.T) {
	watPart := watWasm(t, "examples/wat-partitioner/partitioner.wat")
	echo := watWasm(t, "plugins/testdata/echo.wat")
	n := testnode.Start(t, pluginNode)
	h := httpc{t: t, base: n.URL()}
	h.mustUpload("part", "kind=partitioner", watPart)
	h.mustUpload("echo", "kind=processor", echo)

	// Where a topic with the partitioner puts each key.
	createPluginTopic(h, "placed", 6, "wasm:part", nil)
	keys := []string{"alice", "bob", "carol", "dave"}
	var recs []wire.ProduceRecord
	for _, k := range keys {
		recs = append(recs, wire.ProduceRecord{Key: strp(k), Value: "v-" + k})
	}
	placed := h.mustProduce("placed", recs)

	var got wire.PluginTestResponse
	h.ok(http.MethodPost, "/v1/plugins/part/test", wire.PluginTestRequest{Partitions: 6, Records: recs}, &got)
	if got.Plugin != "part@1" || got.Kind != wire.KindPartitioner || len(got.Outputs) != len(keys) {
		t.Fatalf("partitioner test %+v", got)
	}
	for i, o := range got.Outputs {
		if o.Partition == nil || *o.Partition != placed[i].Partition || o.Offset != int64(i) || o.Key == nil || *o.Key != keys[i] {
			t.Errorf("record %d (%s): test says %+v, the topic placed it in %d", i, keys[i], o, placed[i].Partition)
		}
	}

	got = wire.PluginTestResponse{}
	h.ok(http.MethodPost, "/v1/plugins/echo/test", wire.PluginTestRequest{Partition: 3, Records: []wire.ProduceRecord{
		{Value: "one"}, {Key: strp("k"), Value: "two", Headers: []wire.JSONHeader{{Key: "h", Value: "x"}}}}}, &got)
	if got.Plugin != "echo@1" || len(got.Outputs) != 2 || got.Outputs[1].Value != "two" || got.Outputs[1].Offset != 1 ||
		*got.Outputs[1].Key != "k" || len(got.Outputs[1].Headers) != 1 || got.Outputs[0].Partition != nil {
		t.Fatalf("processor test %+v", got)
	}
	// The test's instances are closed: only the topic's partitioner runs.
	if n := startedPlugins(h, "processor"); n != 0 {
		t.Errorf("%d processors started after a test run", n)
	}
	st, raw := h.do(http.MethodPost, "/v1/plugins/echo/test", wire.MediaTypeJSON, []byte(`{"version":9,"records":[{"value":"x"}]}`))
	h.apiError(st, raw, http.StatusNotFound, wire.CodeUnknownPlugin)
}
