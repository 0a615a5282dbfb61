package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// TestStrictBodiesWriteNothing: a misspelt field or a negative timestamp
// is a 400 invalid_request that names the problem, in the JSON and the
// binary produce bodies and in topic create/alter; nothing is written.
func TestStrictBodiesWriteNothing(t *testing.T) {
	c := startAPI(t, 64<<10)
	c.createTopic("t", 1, nil)
	negBinary := string(appendRecords(nil, []record.Record{{Value: []byte("ok")}, {Timestamp: -5, Value: []byte("x")}}))
	cases := []struct {
		name, method, path, ctype, body string
		want                            string // in the message
		index                           int    // -1: no record index
	}{
		{"misspelt record field", "POST", "/v1/topics/t/records", "", `{"records":[{"valu":"x"}]}`, `"valu"`, -1},
		{"misspelt top-level field", "POST", "/v1/topics/t/records", wire.MediaTypeJSON, `{"record":[{"value":"x"}]}`, `"record"`, -1},
		{"negative timestamp (JSON)", "POST", "/v1/topics/t/records", "", `{"records":[{"value":"ok"},{"value":"x","timestamp":-5}]}`, "timestamp -5", 1},
		{"negative timestamp (binary)", "POST", "/v1/topics/t/records", wire.MediaTypeRecords, negBinary, "timestamp -5", 1},
		{"misspelt create field", "POST", "/v1/topics", "", `{"name":"u","partitons":3}`, `"partitons"`, -1},
		{"misspelt alter field", "PATCH", "/v1/topics/t", "", `{"confg":{"retention.ms":"1"}}`, `"confg"`, -1},
	}
	for _, tc := range cases {
		st, raw := c.do(tc.method, tc.path, tc.ctype, []byte(tc.body), nil)
		e := c.wantError(st, raw, http.StatusBadRequest, wire.CodeInvalidRequest)
		if !strings.Contains(e.Message, tc.want) {
			t.Errorf("%s: message %q does not name %s", tc.name, e.Message, tc.want)
		}
		if tc.index >= 0 && (e.Details == nil || e.Details.Index == nil || *e.Details.Index != tc.index) {
			t.Errorf("%s: details %+v, want index %d", tc.name, e.Details, tc.index)
		}
	}
	var fr wire.FetchResponse
	if st, raw := c.do("GET", "/v1/topics/t/partitions/0/records?offset=0", "", nil, &fr); st != 200 || len(fr.Records) != 0 {
		t.Fatalf("after refused requests: %d %s, want an empty partition", st, raw)
	}
	if st, _ := c.do("GET", "/v1/topics/u", "", nil, nil); st != http.StatusNotFound {
		t.Fatalf("topic u exists (%d) after a refused create", st)
	}
	var tp wire.Topic
	c.do("GET", "/v1/topics/t", "", nil, &tp)
	if tp.Config["retention.ms"] == "1" {
		t.Fatal("a refused alter changed the topic")
	}

	// Zero (or absent) is "stamp on append"; a positive timestamp is kept.
	var pr wire.ProduceResponse
	if st, raw := c.do("POST", "/v1/topics/t/records", "", []byte(`{"records":[{"value":"a","timestamp":0},{"value":"b","timestamp":1700000000000}]}`), &pr); st != 200 {
		t.Fatalf("valid timestamps: %d %s", st, raw)
	}
	c.do("GET", "/v1/topics/t/partitions/0/records?offset=0", "", nil, &fr)
	if len(fr.Records) != 2 || fr.Records[0].Timestamp <= 0 || fr.Records[1].Timestamp != 1700000000000 {
		t.Fatalf("records %s", fmt.Sprint(fr.Records))
	}
}
