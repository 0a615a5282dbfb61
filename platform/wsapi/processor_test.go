package wsapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/wsapi"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/client"
)

// TestProcessorFiltersAndCommitsPastFilteredTail runs a Wasm filter (WAT in
// testdata: drops records whose key starts with "n") on the stream:
// dropped records never arrive, and the position after a run of dropped
// records at the end moves past them, so a commit does too. (The Go-SDK
// examples run on consumers in the plugins package's tests; a Go-built
// module takes a minute to compile under -race.)
func TestProcessorFiltersAndCommitsPastFilteredTail(t *testing.T) {
	e := startEnv(t, nil)
	e.uploadWasm(t, "drop-n", watWasm(t, "drop-n-keys"))
	e.createTopic(t, "events", 1)
	var recs []record.Record
	for i := range 30 {
		kind := "keep"
		if i%3 == 1 || i >= 20 { // every third record, and a filtered tail of 10
			kind = "noise"
		}
		recs = append(recs, record.Record{Key: []byte(kind), Value: fmt.Appendf(nil, `{"kind":%q,"i":%d}`, kind, i)})
	}
	if _, err := wsapi.FromBroker(e.node.Broker()).Produce(context.Background(), "events", recs, "all"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := e.cl.ConsumeWS(ctx, client.WSConsumerConfig{Topic: "events", Group: "pg", From: "earliest",
		Processor: "drop-n"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var offsets []int64
	var position int64
	for position < 30 {
		b, err := c.Poll(ctx)
		if err != nil {
			t.Fatalf("poll at position %d: %v", position, err)
		}
		for _, r := range b.Records {
			v := string(r.Value)
			if strings.Contains(v, "noise") || string(r.Key) != "keep" {
				t.Fatalf("record %d not filtered: %s", r.Offset, v)
			}
			offsets = append(offsets, r.Offset)
		}
		position = b.NextOffset
	}
	want := []int64{0, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18}
	if fmt.Sprint(offsets) != fmt.Sprint(want) {
		t.Fatalf("kept offsets %v, want %v", offsets, want)
	}
	if position != 30 {
		t.Fatalf("position %d, want 30 (past the filtered tail)", position)
	}
	if err := c.CommitPositions(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := e.cl.DescribeGroup(ctx, "pg")
	if err != nil || d.Offsets[0].Committed != 30 || d.Offsets[0].Lag != 0 {
		t.Fatalf("describe = %+v, %v", d, err)
	}
}
