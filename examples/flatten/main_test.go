package main

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/sdk"
)

func TestFlatten(t *testing.T) {
	in := []sdk.Record{
		{Offset: 7, Timestamp: 99, Key: []byte("order-1"),
			Value: []byte(`{"id":"order-1","items":[{"sku":"a","qty":1},{"sku":"b","qty":2}]}`)},
		{Offset: 8, Value: []byte(`{"id":"order-2","items":[]}`)},
		{Offset: 9, Value: []byte(`{"id":"order-3"}`)},
		{Offset: 10, Key: []byte("order-4"), Value: []byte(`{"items":[{"sku":"c"}]}`)},
	}
	outs, err := sdk.LocalProcess(map[string]string{"field": "items", "key-field": "sku"}, 2, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		src        int64
		key, value string
		index      string
	}{
		{7, "a", `{"sku":"a","qty":1}`, "0"},
		{7, "b", `{"sku":"b","qty":2}`, "1"},
		{10, "c", `{"sku":"c"}`, "0"},
	}
	if len(outs) != len(want) {
		t.Fatalf("%d outputs: %+v", len(outs), outs)
	}
	for i, w := range want {
		o := outs[i]
		idx, _ := o.Header("flatten-index")
		if o.SourceOffset != w.src || string(o.Key) != w.key || string(o.Value) != w.value || string(idx) != w.index {
			t.Errorf("output %d = src %d key %s value %s index %s", i, o.SourceOffset, o.Key, o.Value, idx)
		}
	}
	if outs[0].Timestamp != 99 {
		t.Errorf("timestamp not kept: %d", outs[0].Timestamp)
	}
	outs, err = sdk.LocalProcess(map[string]string{"field": "items", "missing": "keep"}, 0, in[2:3])
	if err != nil || len(outs) != 1 || outs[0].SourceOffset != 9 {
		t.Errorf("missing=keep: %+v %v", outs, err)
	}
	_, err = sdk.LocalProcess(map[string]string{"field": "items"}, 0, []sdk.Record{{Value: []byte(`{"items":[1 2]}`)}})
	if err == nil || !strings.Contains(err.Error(), "not a well-formed JSON array") {
		t.Errorf("malformed array: err = %v", err)
	}
}
