package platform_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// A topic created with the sticky partitioner, over the real HTTP API:
// a small request's keyless records go to one partition, the next
// request's to another, keyed records hash as with auto; through the Go
// client's idempotent producer as well; describe names the partitioner.
func TestStickyPartitionerKeepsSmallRequestsTogether(t *testing.T) {
	n := testnode.Start(t)
	h := httpc{t: t, base: n.URL()}
	const parts = 6
	var tp wire.Topic
	h.ok(http.MethodPost, "/v1/topics", wire.CreateTopicRequest{Name: "s", Partitions: parts, Partitioner: wire.PartitionerSticky}, &tp)
	if tp.Partitioner != wire.PartitionerSticky {
		t.Fatalf("created topic's partitioner = %q", tp.Partitioner)
	}
	h.ok(http.MethodPost, "/v1/topics", wire.CreateTopicRequest{Name: "a", Partitions: parts}, nil)

	keyless := func(n int) []wire.ProduceRecord {
		recs := make([]wire.ProduceRecord, n)
		for i := range recs {
			recs[i] = wire.ProduceRecord{Value: "v"}
		}
		return recs
	}
	used := map[int32]bool{}
	for req := range parts {
		res := h.mustProduce("s", keyless(10))
		for _, r := range res {
			if r.Partition != res[0].Partition {
				t.Fatalf("request %d: keyless records split over partitions %d and %d", req, res[0].Partition, r.Partition)
			}
		}
		used[res[0].Partition] = true
	}
	if len(used) != parts {
		t.Errorf("%d requests used partitions %v, want each of the %d", parts, used, parts)
	}
	// auto, for contrast, spreads one request's keyless records.
	spread := map[int32]bool{}
	for _, r := range h.mustProduce("a", keyless(10)) {
		spread[r.Partition] = true
	}
	if len(spread) != parts {
		t.Errorf("auto put 10 keyless records on partitions %v", spread)
	}
	// A keyed record hashes as with auto.
	key := "customer-7"
	ks, ka := h.mustProduce("s", []wire.ProduceRecord{{Key: &key, Value: "k"}}), h.mustProduce("a", []wire.ProduceRecord{{Key: &key, Value: "k"}})
	if ks[0].Partition != ka[0].Partition {
		t.Errorf("key %q: sticky partition %d, auto %d", key, ks[0].Partition, ka[0].Partition)
	}

	// The Go client's idempotent producer (the default): one request's
	// records together.
	cl, err := client.New(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	p := cl.NewProducer(client.ProducerConfig{Acks: client.AcksAll, BatchRecords: 20})
	var futs []*client.Future
	for range 20 {
		f, err := p.Produce(context.Background(), "s", client.Record{Value: []byte("idem")})
		if err != nil {
			t.Fatal(err)
		}
		futs = append(futs, f)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	byPart := map[int32]int{}
	for _, f := range futs {
		r := f.Result()
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		byPart[r.Partition]++
	}
	if len(byPart) != 1 {
		t.Errorf("one idempotent request of 20 keyless records went to partitions %v", byPart)
	}
}
