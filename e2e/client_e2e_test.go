package e2e_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startNode starts a real one-node cluster and returns a client for it.
func startNode(t *testing.T) *client.Client {
	t.Helper()
	n := testnode.Start(t)
	c, err := client.New(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestProducerConsumerTenThousand produces 10,000 keyed records through the
// batching producer and reads them back with the consumer: every record
// arrives once, in produce order within its partition, in the partition
// Kafka's murmur2 gives its key.
func TestProducerConsumerTenThousand(t *testing.T) {
	c := startNode(t)
	ctx := ctxT(t)
	const n, parts = 10_000, 4
	if _, err := c.CreateTopic(ctx, wire.CreateTopicRequest{Name: "orders", Partitions: parts, Config: map[string]string{wire.ConfigDurability: "replicated"}}); err != nil {
		t.Fatal(err)
	}
	p := c.NewProducer(client.ProducerConfig{Acks: client.AcksAll, BatchRecords: 500, MaxInFlight: 1})
	futs := make([]*client.Future, n)
	for i := range n {
		f, err := p.Produce(ctx, "orders", client.Record{
			Key:     []byte("customer-" + strconv.Itoa(i%97)),
			Value:   []byte("order-" + strconv.Itoa(i)),
			Headers: []client.Header{{Key: "i", Value: []byte(strconv.Itoa(i))}},
		})
		if err != nil {
			t.Fatal(err)
		}
		futs[i] = f
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	lastOff := map[int32]int64{}
	for i, f := range futs {
		select {
		case <-f.Done():
		default:
			t.Fatalf("record %d not answered after Flush", i)
		}
		r := f.Result()
		if r.Err != nil {
			t.Fatalf("record %d: %v", i, r.Err)
		}
		if want := partitioner.HashPartition([]byte("customer-"+strconv.Itoa(i%97)), parts); r.Partition != want {
			t.Fatalf("record %d in partition %d, murmur2 says %d", i, r.Partition, want)
		}
		if prev, ok := lastOff[r.Partition]; ok && r.Offset != prev+1 {
			t.Fatalf("record %d: offset %d after %d in partition %d (MaxInFlight 1 keeps order)", i, r.Offset, prev, r.Partition)
		}
		lastOff[r.Partition] = r.Offset
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Produce(ctx, "orders", client.Record{Value: []byte("late")}); !errors.Is(err, client.ErrClosed) {
		t.Errorf("produce after Close: %v", err)
	}

	cs, err := c.NewConsumer(ctx, client.ConsumerConfig{Topic: "orders", From: client.Earliest, MaxWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	seen := make([]bool, n)
	next := map[int32]int64{}
	for got := 0; got < n; {
		fb, err := cs.Poll(ctx)
		if err != nil {
			t.Fatalf("poll after %d records: %v", got, err)
		}
		for _, r := range fb.Records {
			if r.Offset != next[r.Partition] {
				t.Fatalf("partition %d: offset %d, want %d", r.Partition, r.Offset, next[r.Partition])
			}
			next[r.Partition]++
			i, _ := strconv.Atoi(strings.TrimPrefix(string(r.Value), "order-"))
			if seen[i] || string(r.Headers[0].Value) != strconv.Itoa(i) {
				t.Fatalf("record %d seen twice or wrong header %q", i, r.Headers[0].Value)
			}
			seen[i] = true
			got++
		}
	}
	pos := cs.Positions()
	var total int64
	for _, o := range pos {
		total += o
	}
	if total != n {
		t.Errorf("positions %v sum to %d, want %d", pos, total, n)
	}
}

func TestPositionsAndLongPoll(t *testing.T) {
	c := startNode(t)
	ctx := ctxT(t)
	if _, err := c.CreateTopic(ctx, wire.CreateTopicRequest{Name: "t", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	res, err := c.Produce(ctx, "t", []client.Record{{Value: []byte("old"), Timestamp: 1_000}, {Value: []byte("new"), Timestamp: 2_000}}, client.ProduceOptions{Acks: client.AcksLeader})
	if err != nil || res[1].Offset != 1 {
		t.Fatalf("produce: %v %+v", err, res)
	}
	for _, c2 := range []struct {
		pos  client.Position
		want int64
	}{{client.Earliest, 0}, {client.Latest, 2}, {client.AtTimestamp(1_500), 1}, {client.AtTimestamp(5_000), 2}, {client.AtOffset(1), 1}} {
		got, err := c.Resolve(ctx, "t", 0, c2.pos)
		if err != nil || got != c2.want {
			t.Errorf("resolve %s = %d, %v; want %d", c2.pos, got, err, c2.want)
		}
	}
	// A long-poll at the end returns the record produced while it waits.
	done := make(chan *wire.FetchBatch, 1)
	errc := make(chan error, 1)
	go func() {
		fb, err := c.Fetch(ctx, "t", 0, 2, client.FetchOptions{MaxWait: 10 * time.Second})
		errc <- err
		done <- fb
	}()
	// Produce until the waiting fetch answers (the fetch may not have
	// reached the server before the first produce).
	for i := 0; ; i++ {
		if _, err := c.Produce(ctx, "t", []client.Record{{Value: []byte("wake-" + strconv.Itoa(i))}}, client.ProduceOptions{}); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errc:
			fb := <-done
			if err != nil || len(fb.Records) == 0 || fb.Records[0].Offset != 2 || string(fb.Records[0].Value) != "wake-0" {
				t.Fatalf("long-poll answer %+v, %v", fb, err)
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func TestErrorsAreNamed(t *testing.T) {
	c := startNode(t)
	ctx := ctxT(t)
	if _, err := c.CreateTopic(ctx, wire.CreateTopicRequest{Name: "small", Partitions: 2, Config: map[string]string{wire.ConfigMaxMessageBytes: "100"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Produce(ctx, "small", []client.Record{{Value: []byte("ok")}}, client.ProduceOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.DescribeTopic(ctx, "missing")
	check := func(name string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	check("describe missing", err, client.ErrUnknownTopic)
	_, err = c.CreateTopic(ctx, wire.CreateTopicRequest{Name: "small", Partitions: 1})
	check("create twice", err, client.ErrTopicExists)
	_, err = c.CreateTopic(ctx, wire.CreateTopicRequest{Name: "bad name!", Partitions: 1})
	check("bad name", err, client.ErrInvalidRequest)
	_, err = c.CreateTopic(ctx, wire.CreateTopicRequest{Name: "cfg", Partitions: 1, Config: map[string]string{"no.such.key": "1"}})
	check("bad config", err, client.ErrInvalidConfig)
	_, err = c.Produce(ctx, "missing", []client.Record{{Value: []byte("x")}}, client.ProduceOptions{})
	check("produce missing", err, client.ErrUnknownTopic)
	_, err = c.Produce(ctx, "small", []client.Record{{Value: []byte("fine")}, {Value: make([]byte, 1000)}}, client.ProduceOptions{})
	check("too large", err, client.ErrRecordTooLarge)
	_, err = c.Fetch(ctx, "small", 7, 0, client.FetchOptions{})
	check("fetch partition 7", err, client.ErrUnknownPartition)
	_, err = c.Fetch(ctx, "small", 0, 99, client.FetchOptions{})
	check("fetch past end", err, client.ErrOffsetOutOfRange)
	var ae *client.APIError
	if errors.As(err, &ae) && (ae.Details == nil || ae.Details.LogEnd == nil) {
		t.Errorf("offset_out_of_range without log bounds: %+v", ae)
	}
	_, err = c.Fetch(ctx, "small", 0, 0, client.FetchOptions{Processor: "no-such-plugin"})
	check("unknown processor", err, client.ErrUnknownPlugin)
	_, err = c.NewConsumer(ctx, client.ConsumerConfig{Topic: "missing"})
	check("consume missing", err, client.ErrUnknownTopic)

	// The failed produce wrote nothing: partition logs hold one record.
	tp, err := c.DescribeTopic(ctx, "small")
	if err != nil {
		t.Fatal(err)
	}
	var hw int64
	for _, p := range tp.Partitions {
		hw += p.HighWatermark
	}
	if hw != 1 {
		t.Errorf("after failed produces the topic holds %d records, want 1", hw)
	}
	if err := c.DeleteTopic(ctx, "small"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Produce(ctx, "small", []client.Record{{Value: []byte("x")}}, client.ProduceOptions{})
	check("produce to deleted", err, client.ErrUnknownTopic)
	if _, err := c.Cluster(ctx); err != nil {
		t.Errorf("cluster: %v", err)
	}
}
