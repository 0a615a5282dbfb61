package main

import (
	"testing"

	"github.com/sluicehq/sluice/sdk"
)

func TestFilterAndRedact(t *testing.T) {
	params := map[string]string{
		"drop-field": "status", "drop-values": "cancelled,test",
		"redact": "email, card.number",
	}
	in := []sdk.Record{
		{Offset: 1, Value: []byte(`{"status":"paid","email":"a@b.c","card":{"number":"4111","exp":"12/30"}}`), Key: []byte("k1")},
		{Offset: 2, Value: []byte(`{"status":"cancelled","email":"x@y.z"}`)},
		{Offset: 3, Value: []byte(`{"status":"test"}`)},
		{Offset: 4, Value: []byte(`plain text`)},
		{Offset: 5, Value: []byte(`{"status":"paid"}`), Headers: []sdk.Header{{Key: "h", Value: []byte("v")}}},
	}
	outs, err := sdk.LocalProcess(params, 0, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		src   int64
		value string
	}{
		{1, `{"status":"paid","email":"***","card":{"number":"***","exp":"12/30"}}`},
		{4, `plain text`},
		{5, `{"status":"paid"}`},
	}
	if len(outs) != len(want) {
		t.Fatalf("%d outputs: %+v", len(outs), outs)
	}
	for i, w := range want {
		if outs[i].SourceOffset != w.src || string(outs[i].Value) != w.value {
			t.Errorf("output %d = %d %s, want %d %s", i, outs[i].SourceOffset, outs[i].Value, w.src, w.value)
		}
	}
	if string(outs[0].Key) != "k1" || len(outs[2].Headers) != 1 {
		t.Errorf("key or headers lost: %+v", outs)
	}
	outs, err = sdk.LocalProcess(map[string]string{"drop-invalid": "true", "redact": "email", "mask": "<hidden>"}, 0, in[3:4])
	if err != nil || len(outs) != 0 {
		t.Fatalf("drop-invalid: %v %v", outs, err)
	}
	outs, _ = sdk.LocalProcess(map[string]string{"redact": "email", "mask": "<hidden>"}, 0, in[:1])
	if string(outs[0].Value) != `{"status":"paid","email":"<hidden>","card":{"number":"4111","exp":"12/30"}}` {
		t.Errorf("mask: %s", outs[0].Value)
	}
}
