package wire

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestProduceResultJSON(t *testing.T) {
	resp := ProduceResponse{Results: []ProduceResult{
		{Partition: 2, Offset: 0},
		{Error: &Error{Code: CodeNotLeader, Message: "moved", Details: &ErrorDetails{LeaderID: Ptr[int32](3), LeaderAddr: "http://n3:8080"}}},
	}}
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"results":[{"partition":2,"offset":0},{"error":{"code":"not_leader","message":"moved","details":{"leader_id":3,"leader_addr":"http://n3:8080"}}}]}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	var back ProduceResponse
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Results[0].Partition != 2 || back.Results[0].Error != nil || back.Results[1].Error.Code != CodeNotLeader || *back.Results[1].Error.Details.LeaderID != 3 {
		t.Fatalf("round trip: %+v", back)
	}
}

func TestProduceRecordDecode(t *testing.T) {
	body := `{"records":[
		{"value":"hello"},
		{"key":"k","value":"aGk=","value_encoding":"base64","headers":[{"key":"h","value":"AAE=","encoding":"base64"}]},
		{"key":"AP8=","value":"AQ==","encoding":"base64","timestamp":42},
		{"key":"","value":""},
		{"value":"x","encoding":"hex"}
	]}`
	var req ProduceRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	r0, _ := req.Records[0].Decode()
	if r0.Key != nil || string(r0.Value) != "hello" {
		t.Errorf("r0 = %+v", r0)
	}
	r1, _ := req.Records[1].Decode()
	if string(r1.Key) != "k" || string(r1.Value) != "hi" || string(r1.Headers[0].Value) != "\x00\x01" {
		t.Errorf("r1 = %+v", r1)
	}
	r2, _ := req.Records[2].Decode()
	if string(r2.Key) != "\x00\xff" || string(r2.Value) != "\x01" || r2.Timestamp != 42 {
		t.Errorf("r2 = %+v", r2)
	}
	r3, _ := req.Records[3].Decode()
	if r3.Key == nil || len(r3.Key) != 0 {
		t.Errorf("r3 key = %#v, want empty non-nil", r3.Key)
	}
	if _, err := req.Records[4].Decode(); err == nil || !strings.Contains(err.Error(), "hex") {
		t.Errorf("unknown encoding: err = %v", err)
	}
}

func TestFetchJSONRoundTrip(t *testing.T) {
	fb := &FetchBatch{Partition: 1, NextOffset: 3, HighWatermark: 3, LogEnd: 3, Records: []Record{
		{Partition: 1, Offset: 1, Timestamp: 5, Value: []byte("text")},
		{Partition: 1, Offset: 2, Key: []byte{0xff}, Value: []byte{0xfe}, Headers: []Header{{Key: "a", Value: []byte("b")}}},
	}}
	js := fb.JSON(false)
	if js.Records[0].ValueEncoding != "" || js.Records[1].KeyEncoding != EncodingBase64 {
		t.Errorf("encodings: %+v", js.Records)
	}
	b, _ := json.Marshal(js)
	var back FetchResponse
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	got, err := back.Batch()
	if err != nil {
		t.Fatal(err)
	}
	equalRecords(t, got.Records, fb.Records)
	forced := fb.JSON(true)
	if forced.Records[0].Value != "dGV4dA==" || forced.Records[0].ValueEncoding != EncodingBase64 {
		t.Errorf("forced base64: %+v", forced.Records[0])
	}
}

func TestCodesHaveStatuses(t *testing.T) {
	for _, c := range Codes() {
		if s := c.HTTPStatus(); s < 400 || http.StatusText(s) == "" {
			t.Errorf("%s -> %d", c, s)
		}
	}
	if CodeNotLeader.HTTPStatus() != 503 || CodeOffsetOutOfRange.HTTPStatus() != 416 || Code("nope").HTTPStatus() != 500 {
		t.Error("status mapping wrong")
	}
}

func TestNames(t *testing.T) {
	for _, ok := range []string{"orders", "a.b-c_D9", strings.Repeat("x", 249)} {
		if err := ValidateTopicName(ok, false); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "a b", "__internal", strings.Repeat("x", 250)} {
		if ValidateTopicName(bad, false) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if ValidateTopicName("__consumer_offsets", true) != nil {
		t.Error("internal name refused with allowInternal")
	}
	cases := []struct {
		spec    string
		name    string
		version int32
		wasm    bool
		bad     bool
	}{
		{"", "auto", 0, false, false},
		{"hash", "hash", 0, false, false},
		{"wasm:by-customer", "by-customer", 0, true, false},
		{"wasm:by-customer@3", "by-customer", 3, true, false},
		{"wasm:x@0", "", 0, false, true},
		{"wasm:", "", 0, false, true},
		{"murmur", "", 0, false, true},
	}
	for _, c := range cases {
		n, v, w, err := ParsePartitioner(c.spec)
		if (err != nil) != c.bad || n != c.name || v != c.version || w != c.wasm {
			t.Errorf("%q -> %q %d %v %v", c.spec, n, v, w, err)
		}
	}
}
