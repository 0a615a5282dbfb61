package platform_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

func strp(s string) *string { return &s }

// pluginNode runs plugins in the interpreter under the race detector.
var pluginNode = testnode.WithConfig(func(c *platform.Config) { c.PluginInterpreter = raceEnabled })

// goLimits are the upload limits of the Go-SDK examples in these tests:
// behaviour is tested here, not time limits, on a loaded 2-core machine.
const goLimits = "&timeout_ms=10000"

// createPluginTopic creates a topic with a partitioner spec and parameters.
func createPluginTopic(h httpc, name string, partitions int32, spec string, params map[string]string) wire.Topic {
	h.t.Helper()
	var tp wire.Topic
	h.ok(http.MethodPost, "/v1/topics", wire.CreateTopicRequest{Name: name, Partitions: partitions,
		Partitioner: spec, PartitionerParams: params}, &tp)
	return tp
}

// logEnds returns every partition's log end offset.
func logEnds(h httpc, topic string) []int64 {
	h.t.Helper()
	var tp wire.Topic
	h.ok(http.MethodGet, "/v1/topics/"+topic, nil, &tp)
	ends := make([]int64, len(tp.Partitions))
	for i, p := range tp.Partitions {
		ends[i] = p.LogEnd
	}
	return ends
}

// TestPluginPartitioners uploads the Go-SDK JSON-field partitioner and the
// hand-written WAT one, routes records through topics that use them,
// checks every record's partition, refuses deleting a plugin in use, and
// finds everything again after a restart (the compiled modules come from
// the cache under the data dir).
func TestPluginPartitioners(t *testing.T) {
	jsonPart := exampleWasm(t, "json-partitioner")
	watPart := watWasm(t, "examples/wat-partitioner/partitioner.wat")
	n := testnode.Start(t, pluginNode)
	h := httpc{t: t, base: n.URL()}

	v := h.mustUpload("by-customer", "kind=partitioner&param.field=customer_id"+goLimits, jsonPart)
	if v.Version != 1 || v.Kind != wire.KindPartitioner || v.Size != int64(len(jsonPart)) || len(v.SHA256) != 64 ||
		v.Params["field"] != "customer_id" || v.Limits.MemoryPages != 1024 || v.Limits.TimeoutMs != 10000 || v.ABIVersion != 1 {
		t.Fatalf("upload answered %+v", v)
	}
	if w := h.mustUpload("murmur-wat", "kind=partitioner", watPart); w.Version != 1 {
		t.Fatalf("wat upload answered %+v", w)
	}

	createPluginTopic(h, "orders", 6, "wasm:by-customer", nil)
	// A partitioner that refuses the topic's parameters is refused at
	// create and alter, naming the plugin and the reason.
	h.mustUpload("by-field", "kind=partitioner"+goLimits, jsonPart)
	st, raw := h.do(http.MethodPost, "/v1/topics", wire.MediaTypeJSON, []byte(`{"name":"nofield","partitions":2,"partitioner":"wasm:by-field"}`))
	if e := h.apiError(st, raw, http.StatusBadRequest, wire.CodeInvalidRequest); e.Details == nil || e.Details.Plugin != "by-field@1" || !strings.Contains(e.Message, `"field"`) {
		t.Errorf("create with a parameter missing: %+v", e)
	}
	body, _ := json.Marshal(wire.AlterTopicRequest{Partitioner: strp("wasm:by-field")})
	st, raw = h.do(http.MethodPatch, "/v1/topics/orders", wire.MediaTypeJSON, body)
	h.apiError(st, raw, http.StatusBadRequest, wire.CodeInvalidRequest)
	createPluginTopic(h, "withfield", 2, "wasm:by-field", map[string]string{"field": "customer_id"})
	h.ok(http.MethodDelete, "/v1/topics/withfield", nil, nil)
	createPluginTopic(h, "keyed", 5, "wasm:murmur-wat@1", nil)
	// An unknown plugin is refused.
	st, raw = h.do(http.MethodPost, "/v1/topics", wire.MediaTypeJSON, []byte(`{"name":"bad","partitions":1,"partitioner":"wasm:nope"}`))
	h.apiError(st, raw, http.StatusNotFound, wire.CodeUnknownPlugin)

	produceOrders := func(round int) {
		t.Helper()
		var recs []wire.ProduceRecord
		for i := range 40 {
			recs = append(recs, wire.ProduceRecord{Key: strp(fmt.Sprintf("k%d", i)),
				Value: fmt.Sprintf(`{"order":%d,"customer_id":"c-%d","round":%d}`, i, i%9, round)})
		}
		res := h.mustProduce("orders", recs)
		for i, r := range res {
			want := partitioner.HashPartition([]byte(fmt.Sprintf("c-%d", i%9)), 6)
			if r.Partition != want {
				t.Errorf("round %d: order %d (customer c-%d) went to partition %d, want murmur2 %d", round, i, i%9, r.Partition, want)
			}
		}
		var keyed []wire.ProduceRecord
		for i := range 30 {
			keyed = append(keyed, wire.ProduceRecord{Key: strp(fmt.Sprintf("user-%d", i)), Value: "v"})
		}
		for i, r := range h.mustProduce("keyed", keyed) {
			if want := partitioner.HashPartition([]byte(fmt.Sprintf("user-%d", i)), 5); r.Partition != want {
				t.Errorf("round %d: key user-%d went to partition %d, want murmur2 %d", round, i, r.Partition, want)
			}
		}
	}
	produceOrders(1)

	// In use: neither the plugin nor its version can go.
	var p wire.Plugin
	h.ok(http.MethodGet, "/v1/plugins/by-customer", nil, &p)
	if p.Kind != wire.KindPartitioner || p.Latest != 1 || len(p.Versions) != 1 || strings.Join(p.UsedBy, ",") != "topic:orders" {
		t.Fatalf("describe: %+v", p)
	}
	st, raw = h.do(http.MethodDelete, "/v1/plugins/by-customer", "", nil)
	if e := h.apiError(st, raw, http.StatusConflict, wire.CodePluginInUse); !strings.Contains(e.Message, "orders") || e.Details == nil || e.Details.Plugin != "by-customer" {
		t.Errorf("delete in use: %+v", e)
	}
	st, raw = h.do(http.MethodDelete, "/v1/plugins/murmur-wat/versions/1", "", nil)
	h.apiError(st, raw, http.StatusConflict, wire.CodePluginInUse)
	st, raw = h.do(http.MethodDelete, "/v1/plugins/murmur-wat/versions/7", "", nil)
	h.apiError(st, raw, http.StatusNotFound, wire.CodeUnknownPlugin)

	// A second version of an unused plugin can be deleted alone.
	h.mustUpload("spare", "kind=partitioner", watPart)
	h.mustUpload("spare", "kind=partitioner", watPart)
	if st, raw := h.do(http.MethodDelete, "/v1/plugins/spare/versions/1", "", nil); st != http.StatusNoContent {
		t.Fatalf("delete spare@1: %d %s", st, raw)
	}
	h.ok(http.MethodGet, "/v1/plugins/spare", nil, &p)
	if len(p.Versions) != 1 || p.Versions[0].Version != 2 || p.Latest != 2 {
		t.Fatalf("after deleting spare@1: %+v", p)
	}

	// Restart: registry, topics and partitioners come back; compiled
	// modules were cached under the data dir (the interpreter compiles
	// nothing to cache).
	if !raceEnabled {
		if ents, err := os.ReadDir(filepath.Join(n.Config.DataDir, "plugin-cache")); err != nil || len(ents) == 0 {
			t.Errorf("plugin compilation cache in the data dir: %d entries, %v", len(ents), err)
		}
	}
	n.Restart(t)
	h.base = n.URL()
	var list wire.PluginList
	h.ok(http.MethodGet, "/v1/plugins", nil, &list)
	var names []string
	for _, p := range list.Plugins {
		names = append(names, fmt.Sprintf("%s@%d", p.Name, p.Latest))
	}
	if got := strings.Join(names, " "); got != "by-customer@1 by-field@1 murmur-wat@1 spare@2" {
		t.Fatalf("plugins after restart: %s", got)
	}
	produceOrders(2)

	// Unused once the topic moves to a built-in partitioner: deletable.
	h.ok(http.MethodPatch, "/v1/topics/orders", wire.AlterTopicRequest{Partitioner: strp("hash")}, nil)
	if st, raw := h.do(http.MethodDelete, "/v1/plugins/by-customer", "", nil); st != http.StatusNoContent {
		t.Fatalf("delete unused by-customer: %d %s", st, raw)
	}
	st, raw = h.do(http.MethodGet, "/v1/plugins/by-customer", "", nil)
	h.apiError(st, raw, http.StatusNotFound, wire.CodeUnknownPlugin)
}

// TestPluginProcessorsOnFetch runs the filter-redact and flatten examples
// on HTTP fetches: dropped records are gone, kept ones rewritten, arrays
// expanded, every output carries its source offset, and next_offset moves
// past a dropped tail so a consumer that goes on from it re-reads nothing.
func TestPluginProcessorsOnFetch(t *testing.T) {
	redact := exampleWasm(t, "filter-redact")
	flatten := exampleWasm(t, "flatten")
	n := testnode.Start(t, pluginNode)
	h := httpc{t: t, base: n.URL()}
	h.mustUpload("redact", "kind=processor&param.redact=email"+goLimits, redact)
	h.mustUpload("flatten", "kind=processor&param.field=items"+goLimits, flatten)
	createPluginTopic(h, "events", 1, "", nil)

	values := []string{
		`{"id":0,"email":"a@x","status":"new","items":[{"sku":"s1"},{"sku":"s2"}]}`,
		`{"id":1,"email":"b@x","status":"cancelled","items":[{"sku":"s3"}]}`,
		`{"id":2,"email":"c@x","status":"new","items":[]}`,
		`{"id":3,"email":"d@x","status":"new","items":[{"sku":"s4"},{"sku":"s5"},{"sku":"s6"}]}`,
		`{"id":4,"email":"e@x","status":"cancelled"}`,
		`{"id":5,"email":"f@x","status":"cancelled","items":[{"sku":"s7"}]}`,
	}
	var recs []wire.ProduceRecord
	for i, v := range values {
		recs = append(recs, wire.ProduceRecord{Key: strp(fmt.Sprintf("k%d", i)), Value: v})
	}
	h.mustProduce("events", recs)

	// Filter + redact: the parameters given on the fetch join the
	// version's default (redact=email).
	fr := h.fetch("events", 0, 0, "processor=redact&param.drop-field=status&param.drop-values=cancelled")
	var got []string
	for _, r := range fr.Records {
		var v struct {
			ID    int    `json:"id"`
			Email string `json:"email"`
		}
		if err := json.Unmarshal([]byte(r.Value), &v); err != nil {
			t.Fatalf("output %q: %v", r.Value, err)
		}
		if v.Email != "***" {
			t.Errorf("offset %d: email %q not redacted", r.Offset, v.Email)
		}
		if r.Key == nil || *r.Key != fmt.Sprintf("k%d", v.ID) {
			t.Errorf("offset %d: key %v, want k%d", r.Offset, r.Key, v.ID)
		}
		got = append(got, fmt.Sprintf("%d:%d", r.Offset, v.ID))
	}
	if s := strings.Join(got, " "); s != "0:0 2:2 3:3" {
		t.Errorf("filter-redact kept (offset:id) %s, want 0:0 2:2 3:3", s)
	}
	if fr.NextOffset != 6 || fr.HighWatermark != 6 {
		t.Errorf("next_offset %d (high watermark %d), want 6: past the dropped tail", fr.NextOffset, fr.HighWatermark)
	}
	if again := h.fetch("events", 0, fr.NextOffset, "processor=redact"); len(again.Records) != 0 || again.NextOffset != 6 {
		t.Errorf("fetch from next_offset: %d records, next %d", len(again.Records), again.NextOffset)
	}
	// Mid-log: the first output is the first kept record at or after the offset.
	if mid := h.fetch("events", 0, 1, "processor=redact@1&param.drop-field=status&param.drop-values=cancelled"); len(mid.Records) != 2 || mid.Records[0].Offset != 2 {
		t.Errorf("fetch from 1: %+v", mid.Records)
	}

	// Flatten: one output per array element, tied to its order's offset.
	fr = h.fetch("events", 0, 0, "processor=flatten&param.key-field=sku")
	got = got[:0]
	for _, r := range fr.Records {
		idx := ""
		for _, hd := range r.Headers {
			if hd.Key == "flatten-index" {
				idx = hd.Value
			}
		}
		key := ""
		if r.Key != nil {
			key = *r.Key
		}
		got = append(got, fmt.Sprintf("%d/%s/%s", r.Offset, key, idx))
	}
	if s := strings.Join(got, " "); s != "0/s1/0 0/s2/1 1/s3/0 3/s4/0 3/s5/1 3/s6/2 5/s7/0" {
		t.Errorf("flatten gave (offset/key/index) %s", s)
	}
	if fr.NextOffset != 6 {
		t.Errorf("flatten next_offset %d, want 6", fr.NextOffset)
	}

	// The same through the binary answer.
	st, raw := h.do(http.MethodGet, "/v1/topics/events/partitions/0/records?offset=0&format=binary&processor=flatten", "", nil)
	if st != http.StatusOK {
		t.Fatalf("binary fetch: %d %s", st, raw)
	}
	fb, err := wire.DecodeFetchBatch(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(fb.Records) != 7 || fb.NextOffset != 6 || fb.Records[6].Offset != 5 {
		t.Errorf("binary flatten: %d records, next %d", len(fb.Records), fb.NextOffset)
	}

	// Errors name the plugin.
	st, raw = h.do(http.MethodGet, "/v1/topics/events/partitions/0/records?offset=0&processor=nope", "", nil)
	if e := h.apiError(st, raw, http.StatusNotFound, wire.CodeUnknownPlugin); e.Details == nil || e.Details.Plugin != "nope" {
		t.Errorf("unknown processor: %+v", e)
	}
	st, raw = h.do(http.MethodGet, "/v1/topics/events/partitions/0/records?offset=0&processor=redact@9", "", nil)
	h.apiError(st, raw, http.StatusNotFound, wire.CodeUnknownPlugin)
	// flatten without its required parameter fails to start: plugin_failed.
	h.mustUpload("flatten-bare", "kind=processor"+goLimits, flatten)
	st, raw = h.do(http.MethodGet, "/v1/topics/events/partitions/0/records?offset=0&processor=flatten-bare", "", nil)
	if e := h.apiError(st, raw, http.StatusUnprocessableEntity, wire.CodePluginFailed); e.Details == nil || e.Details.Plugin != "flatten-bare@1" || !strings.Contains(e.Message, "field") {
		t.Errorf("processor refusing its parameters: %+v", e)
	}
}

// TestPluginHostileUploads: modules that cannot work are refused at upload
// with invalid_plugin and the reason; nothing is stored.
func TestPluginHostileUploads(t *testing.T) {
	nothing := watWasm(t, "plugins/testdata/nothing.wat")
	pathOpen := watWasm(t, "plugins/testdata/pathopen.wat")
	sock := watWasm(t, "plugins/testdata/sockaccept.wat")
	watPart := watWasm(t, "examples/wat-partitioner/partitioner.wat")
	n := testnode.Start(t, pluginNode)
	h := httpc{t: t, base: n.URL()}

	cases := []struct {
		name, query string
		body        []byte
		status      int
		code        wire.Code
		reason      string
	}{
		{"empty", "kind=partitioner", nil, 400, wire.CodeInvalidPlugin, "empty module"},
		{"text", "kind=partitioner", []byte("hello, I am not WebAssembly"), 400, wire.CodeInvalidPlugin, "not a WebAssembly binary"},
		{"wat-text", "kind=partitioner", []byte("(module)"), 400, wire.CodeInvalidPlugin, "wat2wasm"},
		{"nothing", "kind=partitioner", nothing, 400, wire.CodeInvalidPlugin, "memory"},
		{"filesystem", "kind=partitioner", pathOpen, 400, wire.CodeInvalidPlugin, "path_open"},
		{"socket", "kind=partitioner", sock, 400, wire.CodeInvalidPlugin, "sock_accept"},
		{"wrong-kind", "kind=processor", watPart, 400, wire.CodeInvalidPlugin, "sluice_process"},
		{"too-big", "kind=partitioner", make([]byte, 16<<20+1), 413, wire.CodeRecordTooLarge, "16 MiB"},
		{"no-kind", "", watPart, 400, wire.CodeInvalidRequest, "kind"},
		{"bad-kind", "kind=filter", watPart, 400, wire.CodeInvalidRequest, "kind"},
		{"bad-limit", "kind=partitioner&timeout_ms=0", watPart, 400, wire.CodeInvalidRequest, "timeout_ms"},
		{"bad%20name", "kind=partitioner", watPart, 400, wire.CodeInvalidRequest, "not allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := httpc{t: t, base: h.base}
			st, raw := h.upload(c.name, c.query, c.body)
			e := h.apiError(st, raw, c.status, c.code)
			if !strings.Contains(e.Message, c.reason) {
				t.Errorf("message %q does not say %q", e.Message, c.reason)
			}
		})
	}
	var list wire.PluginList
	h.ok(http.MethodGet, "/v1/plugins", nil, &list)
	if len(list.Plugins) != 0 {
		t.Errorf("refused uploads stored plugins: %+v", list.Plugins)
	}
}

// TestPluginHostilePartitioners: a partitioner that traps, one that never
// returns and one that answers a partition out of range each fail the
// produce with plugin_failed naming plugin@version, write nothing, and the
// node keeps serving its other topics.
func TestPluginHostilePartitioners(t *testing.T) {
	hostile := map[string][]byte{
		"trap":         watWasm(t, "plugins/testdata/trap.wat"),
		"loop":         watWasm(t, "plugins/testdata/loop.wat"),
		"badpartition": watWasm(t, "plugins/testdata/badpartition.wat"),
	}
	watPart := watWasm(t, "examples/wat-partitioner/partitioner.wat")
	n := testnode.Start(t, pluginNode)
	h := httpc{t: t, base: n.URL()}
	h.mustUpload("good", "kind=partitioner", watPart)
	createPluginTopic(h, "healthy", 3, "wasm:good", nil)
	createPluginTopic(h, "plain", 2, "", nil)

	healthy := func() {
		t.Helper()
		h.mustProduce("healthy", []wire.ProduceRecord{{Key: strp("a"), Value: "1"}, {Key: strp("b"), Value: "2"}})
		h.mustProduce("plain", []wire.ProduceRecord{{Value: "x"}})
	}
	for _, name := range []string{"trap", "loop", "badpartition"} {
		t.Run(name, func(t *testing.T) {
			h := httpc{t: t, base: h.base}
			h.mustUpload(name, "kind=partitioner&timeout_ms=50", hostile[name])
			topic := "t-" + name
			createPluginTopic(h, topic, 3, "wasm:"+name, nil)
			for range 2 { // the second try runs on a fresh instance
				st, raw := h.produce(topic, []wire.ProduceRecord{{Value: "a"}, {Key: strp("k"), Value: "b"}})
				e := h.apiError(st, raw, http.StatusUnprocessableEntity, wire.CodePluginFailed)
				if e.Details == nil || e.Details.Plugin != name+"@1" || !strings.Contains(e.Message, name+"@1") {
					t.Errorf("error does not name %s@1: %+v (details %+v)", name, e.Message, e.Details)
				}
			}
			for p, end := range logEnds(h, topic) {
				if end != 0 {
					t.Errorf("partition %d has %d records after failed produces", p, end)
				}
			}
			healthy()
		})
	}
	if st, raw := h.do(http.MethodGet, "/healthz", "", nil); st != http.StatusOK {
		t.Fatalf("healthz: %d %s", st, raw)
	}
}

// startedPlugins reads the sluice_plugins_started gauge of kind.
func startedPlugins(h httpc, kind string) int {
	h.t.Helper()
	st, raw := h.do(http.MethodGet, "/metrics", "", nil)
	if st != http.StatusOK {
		h.t.Fatalf("metrics: %d", st)
	}
	prefix := `sluice_plugins_started{kind="` + kind + `"} `
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			var n int
			if _, err := fmt.Sscan(v, &n); err != nil {
				h.t.Fatalf("metric line %q: %v", l, err)
			}
			return n
		}
	}
	h.t.Fatalf("no %s in /metrics", prefix)
	return 0
}

// waitStarted polls the gauge until it reads want (the janitor acts after
// the broker applied a metadata change).
func waitStarted(h httpc, kind string, want int) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := startedPlugins(h, kind)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d %s plugins started, want %d", got, kind, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPluginRuntimeReleases: topics with the same partitioner version
// share one started plugin; a topic altered to a new upload moves to it;
// started plugins are released when no topic uses them any more,
// and a fetch processor when its plugin is deleted.
func TestPluginRuntimeReleases(t *testing.T) {
	watPart := watWasm(t, "examples/wat-partitioner/partitioner.wat")
	echo := watWasm(t, "plugins/testdata/echo.wat")
	n := testnode.Start(t, pluginNode)
	h := httpc{t: t, base: n.URL()}
	h.mustUpload("good", "kind=partitioner", watPart)
	h.mustUpload("echo", "kind=processor", echo)
	createPluginTopic(h, "latest", 2, "wasm:good", nil)
	createPluginTopic(h, "pinned", 2, "wasm:good@1", nil)
	rec := []wire.ProduceRecord{{Key: strp("k"), Value: "v"}}
	h.mustProduce("latest", rec)
	h.mustProduce("pinned", rec)
	if got := startedPlugins(h, "partitioner"); got != 1 {
		t.Fatalf("two topics on good@1: %d partitioners started, want 1 shared", got)
	}

	h.mustUpload("good", "kind=partitioner", watPart) // good@2
	h.ok(http.MethodPatch, "/v1/topics/latest", wire.AlterTopicRequest{Partitioner: strp("wasm:good")}, nil)
	h.mustProduce("latest", rec)
	h.mustProduce("pinned", rec)
	waitStarted(h, "partitioner", 2)
	var p wire.Plugin
	h.ok(http.MethodGet, "/v1/plugins/good", nil, &p)
	if strings.Join(p.UsedBy, ",") != "topic:latest,topic:pinned" {
		t.Errorf("used_by %v", p.UsedBy)
	}
	// A request larger than one call's worth of records (partitionerBatch)
	// is partitioned in several calls, every record still by its key.
	var big []wire.ProduceRecord
	for i := range 2500 {
		big = append(big, wire.ProduceRecord{Key: strp(fmt.Sprintf("key-%d", i)), Value: "v"})
	}
	for i, r := range h.mustProduce("pinned", big) {
		if want := partitioner.HashPartition([]byte(fmt.Sprintf("key-%d", i)), 2); r.Partition != want {
			t.Fatalf("record %d of 2500 went to partition %d, want %d", i, r.Partition, want)
		}
	}
	h.ok(http.MethodDelete, "/v1/topics/pinned", nil, nil)
	waitStarted(h, "partitioner", 1)
	// good@1 is free now; good@2 is still the partitioner of "latest".
	if st, raw := h.do(http.MethodDelete, "/v1/plugins/good/versions/1", "", nil); st != http.StatusNoContent {
		t.Fatalf("delete good@1: %d %s", st, raw)
	}
	h.ok(http.MethodPatch, "/v1/topics/latest", wire.AlterTopicRequest{Partitioner: strp("roundrobin")}, nil)
	waitStarted(h, "partitioner", 0)
	h.mustProduce("latest", rec)

	fr := h.fetch("latest", 0, 0, "processor=echo")
	fr2 := h.fetch("latest", 1, 0, "processor=echo")
	if len(fr.Records)+len(fr2.Records) != 3 {
		t.Errorf("echo processor passed %d+%d records, want 3", len(fr.Records), len(fr2.Records))
	}
	if got := startedPlugins(h, "processor"); got != 1 {
		t.Errorf("%d processors started after two fetches with echo, want 1", got)
	}
	h.ok(http.MethodDelete, "/v1/plugins/echo", nil, nil)
	waitStarted(h, "processor", 0)
}

// TestPluginsOnTwoNodes: a plugin uploaded through a broker-only node (the
// upload is forwarded to the controller) is replicated to every node: both
// run it as a topic's partitioner, and the leader of a partition runs a
// processor on its fetches.
func TestPluginsOnTwoNodes(t *testing.T) {
	watPart := watWasm(t, "examples/wat-partitioner/partitioner.wat")
	echo := watWasm(t, "plugins/testdata/echo.wat")
	n1 := testnode.Start(t, pluginNode)
	n2 := testnode.Join(t, n1, 2, []string{platform.RoleBroker}, pluginNode)
	h1, h2 := httpc{t: t, base: n1.URL()}, httpc{t: t, base: n2.URL()}

	if v := h2.mustUpload("murmur", "kind=partitioner", watPart); v.Version != 1 {
		t.Fatalf("upload via the broker-only node: %+v", v)
	}
	h2.mustUpload("echo", "kind=processor", echo)
	tp := createPluginTopic(h2, "spread", 4, "wasm:murmur", nil)
	var list wire.PluginList
	h1.ok(http.MethodGet, "/v1/plugins", nil, &list)
	if len(list.Plugins) != 2 {
		t.Fatalf("node 1 lists %+v", list.Plugins)
	}
	for _, via := range []httpc{h1, h2} {
		var recs []wire.ProduceRecord
		for i := range 50 {
			recs = append(recs, wire.ProduceRecord{Key: strp(fmt.Sprintf("k%d", i)), Value: "v"})
		}
		for i, r := range via.mustProduce("spread", recs) {
			if want := partitioner.HashPartition([]byte(fmt.Sprintf("k%d", i)), 4); r.Partition != want {
				t.Fatalf("via %s: record %d went to partition %d, want %d", via.base, i, r.Partition, want)
			}
		}
	}
	leaders := map[int32]httpc{1: h1, 2: h2}
	total := 0
	for _, p := range tp.Partitions {
		fr := leaders[p.Leader].fetch("spread", p.Index, 0, "processor=echo")
		total += len(fr.Records)
	}
	if total != 100 {
		t.Errorf("echo on the leaders passed %d records, want 100", total)
	}
}
