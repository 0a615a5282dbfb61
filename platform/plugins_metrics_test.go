package platform_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// metricValue returns the value of the /metrics sample matching re (a
// regexp of the whole sample name and labels), or -1.
func metricValue(h httpc, re string) float64 {
	h.t.Helper()
	st, raw := h.do(http.MethodGet, "/metrics", "", nil)
	if st != http.StatusOK {
		h.t.Fatalf("/metrics: %d", st)
	}
	m := regexp.MustCompile(`(?m)^` + re + ` ([0-9.e+]+)$`).FindSubmatch(raw)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// TestPluginMetrics: per-plugin counters by result and latency histograms
// appear on /metrics: partitioner calls that succeed, a partitioner that
// loops past its limit (result timeout), then backed off.
func TestPluginMetrics(t *testing.T) {
	n := testnode.Start(t, pluginNode)
	h := httpc{t: t, base: n.URL()}
	h.mustUpload("keys", "kind=partitioner", watWasm(t, "examples/wat-partitioner/partitioner.wat"))
	h.mustUpload("spin", "kind=partitioner&timeout_ms=5", watWasm(t, "plugins/testdata/loop.wat"))
	createPluginTopic(h, "good", 2, "wasm:keys", nil)
	createPluginTopic(h, "bad", 2, "wasm:spin", nil)
	rec := []wire.ProduceRecord{{Key: strp("k"), Value: "v"}}
	for range 3 {
		h.mustProduce("good", rec)
	}
	for range 3 {
		if st, _ := h.produce("bad", rec); st == http.StatusOK {
			t.Fatal("a produce through a looping partitioner succeeded")
		}
	}
	// Backed off now (for a second: asked at once, before the metrics
	// reads below, so that a loaded machine cannot outlast the back-off):
	// a retriable error naming the plugin.
	body, _ := json.Marshal(wire.ProduceRequest{Records: rec})
	resp, err := http.Post(n.URL()+"/v1/topics/bad/records", wire.MediaTypeJSON, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	e := h.apiError(resp.StatusCode, raw, http.StatusServiceUnavailable, wire.CodeUnavailable)
	if e.Details.Plugin != "spin@1" {
		t.Errorf("backed-off answer: %+v", e)
	}
	// When to retry: the back-off's first period (1 s), in whole seconds.
	if ra := resp.Header.Get("Retry-After"); ra != "1" {
		t.Errorf("backed-off answer: Retry-After %q, want 1", ra)
	}
	if v := metricValue(h, `sluice_plugin_calls_total\{kind="partitioner",plugin="keys",result="ok",version="1"\}`); v < 3 {
		t.Errorf("ok calls of keys@1: %v, want >= 3", v)
	}
	if v := metricValue(h, `sluice_plugin_calls_total\{kind="partitioner",plugin="spin",result="timeout",version="1"\}`); v != 3 {
		t.Errorf("timeouts of spin@1: %v, want 3 (then it is backed off)", v)
	}
	if v := metricValue(h, `sluice_plugin_calls_total\{kind="partitioner",plugin="spin",result="backed_off",version="1"\}`); v < 1 {
		t.Errorf("backed-off calls of spin@1: %v, want >= 1", v)
	}
	if v := metricValue(h, `sluice_plugin_call_duration_seconds_count\{kind="partitioner",plugin="keys",version="1"\}`); v < 3 {
		t.Errorf("duration samples of keys@1: %v", v)
	}
}
