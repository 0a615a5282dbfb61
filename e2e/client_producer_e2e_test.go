package e2e_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// TestConcurrentProducersGetDistinctOffsets has four goroutines share one
// producer: every record is answered once, and the (partition, offset)
// pairs are exactly the dense ranges the partitions hold.
func TestConcurrentProducersGetDistinctOffsets(t *testing.T) {
	c := startNode(t)
	ctx := ctxT(t)
	const writers, each, parts = 4, 2500, 3
	if _, err := c.CreateTopic(ctx, wire.CreateTopicRequest{Name: "shared", Partitions: parts, Config: map[string]string{wire.ConfigDurability: "replicated"}}); err != nil {
		t.Fatal(err)
	}
	p := c.NewProducer(client.ProducerConfig{Acks: client.AcksLeader, Linger: time.Millisecond, BatchRecords: 300, MaxInFlight: 4, MaxBuffered: 1000})
	var mu sync.Mutex
	seen := map[[2]int64]bool{}
	var failures []error
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := p.ProduceFunc(ctx, "shared", client.Record{Value: []byte(strconv.Itoa(w*each + i))}, func(r client.ProduceResult) {
					mu.Lock()
					defer mu.Unlock()
					if r.Err != nil {
						failures = append(failures, r.Err)
						return
					}
					k := [2]int64{int64(r.Partition), r.Offset}
					if seen[k] {
						failures = append(failures, errors.New("offset answered twice"))
					}
					seen[k] = true
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if len(failures) > 0 || len(seen) != writers*each {
		t.Fatalf("%d answers, failures %v", len(seen), failures)
	}
	tp, err := c.DescribeTopic(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range tp.Partitions {
		for o := int64(0); o < pt.LogEnd; o++ {
			if !seen[[2]int64{int64(pt.Index), o}] {
				t.Fatalf("partition %d offset %d holds a record no one was told about", pt.Index, o)
			}
		}
	}
}

// TestFlushAndAcksNone: acks=0 answers without offsets, yet the records
// arrive; Flush honours its context.
func TestFlushAndAcksNone(t *testing.T) {
	c := startNode(t)
	ctx := ctxT(t)
	if _, err := c.CreateTopic(ctx, wire.CreateTopicRequest{Name: "fire", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	p := c.NewProducer(client.ProducerConfig{Acks: client.AcksNone, Linger: time.Hour})
	defer p.Close()
	f, err := p.Produce(ctx, "fire", client.Record{Value: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	// With an hour of linger only Flush sends the batch.
	expired, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Flush(expired); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush with a cancelled context: %v", err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := f.Wait(ctx)
	if err != nil || r.Partition != -1 || r.Offset != -1 {
		t.Fatalf("acks=0 result %+v, %v", r, err)
	}
	// The record lands although nobody waited for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		off, err := c.Offset(ctx, "fire", 0, wire.AtLatest)
		if err == nil && off == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("acks=0 record never arrived: offset %d, %v", off, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRecordsSurviveRestart produces through the client, restarts the node
// on the same data directory and reads every record back.
func TestRecordsSurviveRestart(t *testing.T) {
	n := testnode.Start(t)
	c, err := client.New(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := ctxT(t)
	if _, err := c.CreateTopic(ctx, wire.CreateTopicRequest{Name: "durable", Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	recs := make([]client.Record, 500)
	for i := range recs {
		recs[i] = client.Record{Key: []byte("k" + strconv.Itoa(i%10)), Value: []byte(strconv.Itoa(i))}
	}
	if _, err := c.Produce(ctx, "durable", recs, client.ProduceOptions{Acks: client.AcksAll}); err != nil {
		t.Fatal(err)
	}
	n.Restart(t)
	cs, err := c.NewConsumer(ctx, client.ConsumerConfig{Topic: "durable", MaxWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	got := map[string]bool{}
	for len(got) < len(recs) {
		fb, err := cs.Poll(ctx)
		if err != nil {
			t.Fatalf("after %d records: %v", len(got), err)
		}
		for _, r := range fb.Records {
			got[string(r.Value)] = true
		}
	}
}
