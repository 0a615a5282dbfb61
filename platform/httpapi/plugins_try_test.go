package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// fakeTester stands in for the plugin runtime: partition = len(key) mod
// n; the processor upper-cases values and drops empty ones.
type fakeTester struct {
	got  map[string]string // params of the last call
	fail error
}

func (f *fakeTester) TestPartitioner(_ context.Context, pv *meta.PluginVersion, params map[string]string, n int, recs []record.Record) ([]int32, error) {
	f.got = params
	if f.fail != nil {
		return nil, f.fail
	}
	out := make([]int32, len(recs))
	for i, r := range recs {
		out[i] = int32(len(r.Key) % n)
	}
	return out, nil
}

func (f *fakeTester) TestProcessor(_ context.Context, pv *meta.PluginVersion, params map[string]string, _ int32, recs []record.Record) ([]record.Record, error) {
	f.got = params
	var out []record.Record
	for _, r := range recs {
		if len(r.Value) > 0 {
			r.Value = []byte(strings.ToUpper(string(r.Value)))
			out = append(out, r)
		}
	}
	return out, nil
}

// TestPluginTestRoute: the request is checked, the version resolved with
// its default parameters under the given ones, and the outputs carry the
// input's index; a failing plugin answers with the plugin named.
func TestPluginTestRoute(t *testing.T) {
	ctl := newMemController(t)
	for _, up := range []meta.UploadPlugin{
		{Name: "part", Kind: meta.PluginKindPartitioner, Wasm: []byte{0}, Params: map[string]string{"a": "1", "b": "2"}},
		{Name: "part", Kind: meta.PluginKindPartitioner, Wasm: []byte{1}, Params: map[string]string{"a": "1", "b": "2"}},
		{Name: "proc", Kind: meta.PluginKindProcessor, Wasm: []byte{0}},
	} {
		if _, err := ctl.Propose(context.Background(), meta.Command{Op: meta.OpUploadPlugin, UploadPlugin: &up}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(Config{NodeID: 1, Admin: ctl, Metadata: ctl.Metadata})
	if err != nil {
		t.Fatal(err)
	}
	ft := &fakeTester{}
	s.HandlePluginTest(ft)
	call := func(name, body string) (int, []byte) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "http://127.0.0.1/v1/plugins/"+name+"/test", strings.NewReader(body))
		req.Header.Set("Content-Type", wire.MediaTypeJSON)
		s.ServeHTTP(rec, req)
		return rec.Code, rec.Body.Bytes()
	}
	st, raw := call("part", `{"partitions":4,"params":{"b":"9"},"records":[{"key":"abc","value":"x"},{"value":"y"},{"key":"abcdefg","value":"z","headers":[{"key":"h","value":"v"}]}]}`)
	var out wire.PluginTestResponse
	if st != 200 || json.Unmarshal(raw, &out) != nil {
		t.Fatalf("partitioner: %d %s", st, raw)
	}
	if out.Plugin != "part@2" || out.Kind != meta.PluginKindPartitioner || len(out.Outputs) != 3 ||
		*out.Outputs[0].Partition != 3 || *out.Outputs[1].Partition != 0 || *out.Outputs[2].Partition != 3 ||
		out.Outputs[2].Offset != 2 || len(out.Outputs[2].Headers) != 1 || *out.Outputs[0].Key != "abc" {
		t.Fatalf("partitioner answer %s", raw)
	}
	if ft.got["a"] != "1" || ft.got["b"] != "9" {
		t.Fatalf("params handed to the plugin %v", ft.got)
	}
	if st, raw = call("part", `{"version":1,"records":[{"value":"x"}]}`); st != 200 || !strings.Contains(string(raw), `"plugin":"part@1"`) {
		t.Fatalf("version 1: %d %s", st, raw)
	}
	st, raw = call("proc", `{"records":[{"value":"keep"},{"value":""},{"value":"me"}]}`)
	out = wire.PluginTestResponse{}
	if st != 200 || json.Unmarshal(raw, &out) != nil || len(out.Outputs) != 2 || out.Outputs[1].Value != "ME" || out.Outputs[1].Offset != 2 || out.Outputs[0].Partition != nil {
		t.Fatalf("processor: %d %s", st, raw)
	}
	for _, tc := range []struct {
		name, body string
		status     int
		code       wire.Code
	}{
		{"part", `{"records":[]}`, 400, wire.CodeInvalidRequest},
		{"part", `{"partitions":-1,"records":[{"value":"x"}]}`, 400, wire.CodeInvalidRequest},
		{"part", `{"version":-1,"records":[{"value":"x"}]}`, 400, wire.CodeInvalidRequest},
		{"part", `{"recods":[]}`, 400, wire.CodeInvalidRequest},
		{"part", `{"records":[{"value":"!!","value_encoding":"base64"}]}`, 400, wire.CodeInvalidRequest},
		{"part", `{"version":7,"records":[{"value":"x"}]}`, 404, wire.CodeUnknownPlugin},
		{"nope", `{"records":[{"value":"x"}]}`, 404, wire.CodeUnknownPlugin},
	} {
		st, raw := call(tc.name, tc.body)
		var er wire.ErrorResponse
		if json.Unmarshal(raw, &er) != nil || er.Error == nil || st != tc.status || er.Error.Code != tc.code {
			t.Errorf("%s %s: %d %s, want %d %s", tc.name, tc.body, st, raw, tc.status, tc.code)
		}
	}
	many := `{"records":[` + strings.TrimSuffix(strings.Repeat(`{"value":"x"},`, wire.MaxPluginTestRecords+1), ",") + `]}`
	if st, raw := call("part", many); st != 400 {
		t.Errorf("too many records: %d %s", st, raw)
	}
	ft.fail = errors.New("plugin part@2: trapped")
	if st, raw := call("part", `{"records":[{"value":"x"}]}`); st < 400 || !strings.Contains(string(raw), "trapped") || !strings.Contains(string(raw), "part@2") {
		t.Errorf("failing plugin: %d %s", st, raw)
	}
}
