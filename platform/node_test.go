package platform_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// api is a minimal HTTP client for the tests: the node is driven through
// its public API only.
type api struct {
	t    *testing.T
	base string
}

func (a api) call(method, path, ctype, accept string, body []byte) (int, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if ctype == "" && method == http.MethodPost {
		ctype = wire.MediaTypeJSON // the browser check refuses a simple POST
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp.StatusCode, raw
}

func (a api) json(method, path string, in, out any) int {
	a.t.Helper()
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	st, raw := a.call(method, path, wire.MediaTypeJSON, "", body)
	if out != nil && st < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s %s: %v in %.200s", method, path, err, raw)
		}
	}
	if st >= 300 && out != nil {
		a.t.Fatalf("%s %s: %d %.300s", method, path, st, raw)
	}
	return st
}

func (a api) wantError(st int, raw []byte, status int, code wire.Code) {
	a.t.Helper()
	var er wire.ErrorResponse
	if err := json.Unmarshal(raw, &er); err != nil || er.Error == nil || er.Error.Message == "" {
		a.t.Fatalf("error body %.200q: %v", raw, err)
	}
	if st != status || er.Error.Code != code {
		a.t.Fatalf("got %d %s (%s), want %d %s", st, er.Error.Code, er.Error.Message, status, code)
	}
}

// consume reads a partition from offset 0 to its high watermark with
// binary fetches.
func (a api) consume(topic string, p int32) []wire.Record {
	a.t.Helper()
	var out []wire.Record
	for off := int64(0); ; {
		st, raw := a.call("GET", fmt.Sprintf("/v1/topics/%s/partitions/%d/records?offset=%d&format=binary&max_bytes=65536", topic, p, off), "", "", nil)
		if st != 200 {
			a.t.Fatalf("fetch %s-%d@%d: %d %.200s", topic, p, off, st, raw)
		}
		fb, err := wire.DecodeFetchBatch(raw)
		if err != nil {
			a.t.Fatal(err)
		}
		if len(fb.Records) == 0 {
			return out
		}
		for _, r := range fb.Records {
			r.Key, r.Value = bytes.Clone(r.Key), bytes.Clone(r.Value)
			out = append(out, r)
		}
		off = fb.NextOffset
	}
}

func TestNodeProducesConsumesAndSurvivesRestart(t *testing.T) {
	n := testnode.Start(t)
	a := api{t, n.URL()}
	const parts = 6
	var tp wire.Topic
	a.json("POST", "/v1/topics", wire.CreateTopicRequest{Name: "events", Partitions: parts}, &tp)

	// 10,000 records: 5,000 as JSON in batches of 500, 5,000 binary in
	// batches of 1,000; every tenth record has no key (round-robin).
	type sent struct {
		key       []byte
		value     string
		partition int32
		offset    int64
	}
	var all []sent
	record := func(i int) wire.Record {
		r := wire.Record{Value: fmt.Appendf(nil, "value-%05d", i)}
		if i%10 != 0 {
			r.Key = fmt.Appendf(nil, "key-%d", i%97)
		}
		return r
	}
	for batch := range 10 {
		var recs []wire.Record
		for i := batch * 500; i < (batch+1)*500; i++ {
			recs = append(recs, record(i))
		}
		var pr wire.ProduceResponse
		req := wire.ProduceRequest{}
		for _, r := range recs {
			req.Records = append(req.Records, wire.NewProduceRecord(r))
		}
		a.json("POST", "/v1/topics/events/records?acks=all", req, &pr)
		for i, res := range pr.Results {
			all = append(all, sent{recs[i].Key, string(recs[i].Value), res.Partition, res.Offset})
		}
	}
	for batch := range 5 {
		var recs []wire.Record
		for i := 5000 + batch*1000; i < 5000+(batch+1)*1000; i++ {
			recs = append(recs, record(i))
		}
		st, raw := a.call("POST", "/v1/topics/events/records?acks=1", wire.MediaTypeRecords, wire.MediaTypeResults, wire.AppendRecords(nil, recs))
		results, err := wire.DecodeProduceResults(raw)
		if st != 200 || err != nil || len(results) != len(recs) {
			t.Fatalf("binary produce: %d %v %d results", st, err, len(results))
		}
		for i, res := range results {
			if res.Error != nil {
				t.Fatalf("record %d: %v", i, res.Error)
			}
			all = append(all, sent{recs[i].Key, string(recs[i].Value), res.Partition, res.Offset})
		}
	}
	if len(all) != 10000 {
		t.Fatalf("%d results for 10,000 records", len(all))
	}
	perPartition := make([][]sent, parts)
	for _, s := range all {
		if s.key != nil {
			// Kafka's default partitioner: positive-masked murmur2 mod count.
			if want := int32(int(partitioner.Murmur2(s.key)&0x7fffffff) % parts); s.partition != want {
				t.Fatalf("key %s in partition %d, Kafka's murmur2 puts it in %d", s.key, s.partition, want)
			}
		}
		perPartition[s.partition] = append(perPartition[s.partition], s)
	}

	check := func(when string) {
		t.Helper()
		for p := range int32(parts) {
			got := a.consume("events", p)
			want := perPartition[p]
			if len(got) != len(want) {
				t.Fatalf("%s: partition %d holds %d records, want %d", when, p, len(got), len(want))
			}
			for i := range got {
				if got[i].Offset != int64(i) || want[i].offset != int64(i) || string(got[i].Value) != want[i].value || !bytes.Equal(got[i].Key, want[i].key) {
					t.Fatalf("%s: partition %d[%d] = offset %d %q, want offset %d %q", when, p, i, got[i].Offset, got[i].Value, want[i].offset, want[i].value)
				}
			}
		}
	}
	check("before restart")

	n.Restart(t)
	a.base = n.URL()
	check("after restart")
	var desc wire.Topic
	a.json("GET", "/v1/topics/events", nil, &desc)
	for _, p := range desc.Partitions {
		if p.HighWatermark != int64(len(perPartition[p.Index])) || p.LogEnd != p.HighWatermark {
			t.Fatalf("after restart partition %d: HW %d LEO %d, want %d", p.Index, p.HighWatermark, p.LogEnd, len(perPartition[p.Index]))
		}
	}
	// Appends continue where the log ended.
	var pr wire.ProduceResponse
	a.json("POST", "/v1/topics/events/records", wire.ProduceRequest{Records: []wire.ProduceRecord{{Key: wire.Ptr("key-1"), Value: "after"}}}, &pr)
	if p := pr.Results[0].Partition; pr.Results[0].Offset != int64(len(perPartition[p])) {
		t.Fatalf("first offset after restart %d, want %d", pr.Results[0].Offset, len(perPartition[p]))
	}
}

func TestNodeBadInputLeavesDataIntact(t *testing.T) {
	n := testnode.Start(t)
	a := api{t, n.URL()}
	a.json("POST", "/v1/topics", wire.CreateTopicRequest{Name: "keep", Partitions: 2, Config: map[string]string{"max.message.bytes": "1024"}}, &wire.Topic{})
	a.json("POST", "/v1/topics", wire.CreateTopicRequest{Name: "gone", Partitions: 1}, &wire.Topic{})
	var pr wire.ProduceResponse
	a.json("POST", "/v1/topics/keep/records", wire.ProduceRequest{Records: []wire.ProduceRecord{{Value: "a"}, {Value: "b"}, {Value: "c"}}}, &pr)
	if st := a.json("DELETE", "/v1/topics/gone", nil, nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d", st)
	}

	big := bytes.Repeat([]byte("x"), 1025)
	cases := []struct {
		name         string
		method, path string
		ctype        string
		body         []byte
		status       int
		code         wire.Code
	}{
		{"unknown topic", "POST", "/v1/topics/nope/records", "", []byte(`{"records":[{"value":"x"}]}`), 404, wire.CodeUnknownTopic},
		{"malformed JSON", "POST", "/v1/topics/keep/records", "", []byte(`{"records":[`), 400, wire.CodeInvalidRequest},
		{"record over max.message.bytes", "POST", "/v1/topics/keep/records", wire.MediaTypeRecords,
			wire.AppendRecords(nil, []wire.Record{{Value: []byte("fine")}, {Value: big}}), 413, wire.CodeRecordTooLarge},
		{"partition that does not exist", "GET", "/v1/topics/keep/partitions/7/records?offset=0", "", nil, 404, wire.CodeUnknownPartition},
		{"produce to a deleted topic", "POST", "/v1/topics/gone/records", "", []byte(`{"records":[{"value":"x"}]}`), 404, wire.CodeUnknownTopic},
		{"fetch from a deleted topic", "GET", "/v1/topics/gone/partitions/0/records?offset=0", "", nil, 404, wire.CodeUnknownTopic},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, raw := a.call(c.method, c.path, c.ctype, "", c.body)
			api{t, a.base}.wantError(st, raw, c.status, c.code)
		})
	}
	total := len(a.consume("keep", 0)) + len(a.consume("keep", 1))
	if total != 3 {
		t.Fatalf("topic holds %d records after the bad requests, want 3", total)
	}
}
