package platform_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// rawFetch sends a fetch with the given Accept and query and returns the
// answer's Content-Type and body.
func rawFetch(t *testing.T, base, topic string, query, accept string) (string, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/v1/topics/"+topic+"/partitions/0/records?"+query, nil)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("fetch %s: %d %s %v", query, resp.StatusCode, body, err)
	}
	return resp.Header.Get("Content-Type"), body
}

// TestFetchStoredBatches: a fetch that accepts wire.MediaTypeBatches is
// answered with the batches of the node's real file, and decoding them
// gives exactly the records (offsets, keys, values, headers, timestamps)
// the binary-records answer gives, from an offset in the middle of a
// batch, for plain and idempotent producers' batches (magic 1 and 2); the
// Go client takes the batches answer.
func TestFetchStoredBatches(t *testing.T) {
	n := testnode.Start(t)
	createTopic(t, n.URL(), "fb", 1, map[string]string{"durability": "replicated"})
	cl, err := client.New(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range 4 { // four batches of five records
		recs := make([]client.Record, 5)
		for j := range recs {
			recs[j] = client.Record{Value: fmt.Appendf(nil, "value-%d-%d", i, j), Timestamp: int64(1000*i + j)}
			if j%2 == 0 {
				recs[j].Key = fmt.Appendf(nil, "k%d", j)
			}
			if j == 3 {
				recs[j].Headers = []client.Header{{Key: "h", Value: []byte("v")}, {Key: "empty", Value: []byte{}}}
			}
		}
		opts := client.ProduceOptions{Acks: client.AcksLeader}
		if i%2 == 1 {
			opts.Idempotent = &client.Idempotent{ProducerID: 42, Sequence: int64(5 * (i / 2))}
		}
		if _, err := cl.Produce(ctx, "fb", recs, opts); err != nil {
			t.Fatal(err)
		}
	}
	for _, from := range []int64{0, 3, 7, 19, 20} {
		q := fmt.Sprintf("offset=%d&format=binary&max_bytes=1", from) // at least one batch
		ctype, body := rawFetch(t, n.URL(), "fb", q, wire.MediaTypeBatches+", "+wire.MediaTypeRecords)
		if ctype != wire.MediaTypeBatches {
			t.Fatalf("from %d: Content-Type %q, want %q", from, ctype, wire.MediaTypeBatches)
		}
		got, err := wire.DecodeFetchBatches(body)
		if err != nil {
			t.Fatalf("from %d: %v", from, err)
		}
		ctype, body = rawFetch(t, n.URL(), "fb", q, wire.MediaTypeRecords)
		if ctype != wire.MediaTypeRecords {
			t.Fatalf("records answer: Content-Type %q", ctype)
		}
		want, err := wire.DecodeFetchBatch(body)
		if err != nil {
			t.Fatal(err)
		}
		sameBatch(t, fmt.Sprintf("from %d", from), got, want)
		if from < 20 && (len(got.Records) == 0 || got.Records[0].Offset != from) {
			t.Fatalf("from %d: records %+v", from, got.Records)
		}
		viaClient, err := cl.Fetch(ctx, "fb", 0, from, client.FetchOptions{MaxBytes: 1})
		if err != nil {
			t.Fatal(err)
		}
		sameBatch(t, fmt.Sprintf("client from %d", from), viaClient, want)
	}
	// Asked for JSON, the answer stays JSON.
	if ctype, _ := rawFetch(t, n.URL(), "fb", "offset=0&format=json", wire.MediaTypeBatches); ctype != wire.MediaTypeJSON {
		t.Fatalf("format=json answered %q", ctype)
	}
}

func sameBatch(t *testing.T, what string, got, want *wire.FetchBatch) {
	t.Helper()
	if got.Partition != want.Partition || got.NextOffset != want.NextOffset || got.HighWatermark != want.HighWatermark ||
		got.LogStart != want.LogStart || got.LogEnd != want.LogEnd || len(got.Records) != len(want.Records) {
		t.Fatalf("%s: batches answer %+v (%d records), records answer %+v (%d records)", what,
			*got, len(got.Records), *want, len(want.Records))
	}
	for i := range got.Records {
		g, w := got.Records[i], want.Records[i]
		if g.Offset != w.Offset || g.Partition != w.Partition || g.Timestamp != w.Timestamp ||
			(g.Key == nil) != (w.Key == nil) || !bytes.Equal(g.Key, w.Key) || !bytes.Equal(g.Value, w.Value) ||
			len(g.Headers) != len(w.Headers) {
			t.Fatalf("%s: record %d: %+v, want %+v", what, i, g, w)
		}
		for j := range g.Headers {
			if g.Headers[j].Key != w.Headers[j].Key || !bytes.Equal(g.Headers[j].Value, w.Headers[j].Value) {
				t.Fatalf("%s: record %d header %d: %+v, want %+v", what, i, j, g.Headers[j], w.Headers[j])
			}
		}
	}
}
