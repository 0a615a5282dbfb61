// Command go-orders shows the Sluice Go client (sdk/client) end to end: it
// creates a topic if it is missing, produces JSON orders keyed by customer
// with the batching Producer, then reads them back from the beginning with
// the Consumer and prints how the keys spread over the partitions.
//
//	go run ./examples/clients/go-orders -server http://127.0.0.1:8080 -n 1000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sort"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

func main() {
	server := flag.String("server", "http://127.0.0.1:8080", "any node's HTTP API")
	topic := flag.String("topic", "orders", "topic to use (created with 3 partitions if missing)")
	n := flag.Int("n", 1000, "orders to produce")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *server, *topic, *n); err != nil {
		log.Fatalf("go-orders: %v", err)
	}
}

func run(ctx context.Context, server, topic string, n int) error {
	c, err := client.New(server)
	if err != nil {
		return err
	}
	defer c.Close()

	// Admin: create the topic unless it exists.
	_, err = c.CreateTopic(ctx, wire.CreateTopicRequest{Name: topic, Partitions: 3})
	switch {
	case errors.Is(err, client.ErrTopicExists):
	case err != nil:
		return err
	default:
		fmt.Printf("created topic %s\n", topic)
	}
	start, err := offsets(ctx, c, topic)
	if err != nil {
		return err
	}

	// Produce: records are batched (linger 5 ms, 1000 records) and sent in
	// the binary format; each Produce returns a future.
	p := c.NewProducer(client.ProducerConfig{Acks: client.AcksAll})
	futures := make([]*client.Future, 0, n)
	for i := 0; i < n; i++ {
		customer := fmt.Sprintf("customer-%d", i%5)
		value := fmt.Sprintf(`{"order":%d,"customer":%q,"amount":%d}`, i, customer, 10+i%90)
		f, err := p.Produce(ctx, topic, client.Record{Key: []byte(customer), Value: []byte(value)})
		if err != nil {
			p.Close()
			return err
		}
		futures = append(futures, f)
	}
	if err := p.Close(); err != nil { // flushes and waits for every answer
		return err
	}
	byCustomer := map[string]int32{}
	for i, f := range futures {
		r := f.Result()
		if r.Err != nil {
			return fmt.Errorf("order %d: %w", i, r.Err)
		}
		byCustomer[fmt.Sprintf("customer-%d", i%5)] = r.Partition
	}
	fmt.Printf("produced %d orders\n", n)
	keys := make([]string, 0, len(byCustomer))
	for k := range byCustomer {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  %s -> partition %d\n", k, byCustomer[k])
	}

	// Consume: one long-polling fetch loop per partition, starting where
	// this run began, until all n orders are back.
	cs, err := c.NewConsumer(ctx, client.ConsumerConfig{Topic: topic, Offsets: start, MaxWait: 500 * time.Millisecond})
	if err != nil {
		return err
	}
	defer cs.Close()
	perPartition := map[int32]int{}
	for got := 0; got < n; {
		fb, err := cs.Poll(ctx)
		if err != nil {
			return err
		}
		got += len(fb.Records)
		perPartition[fb.Partition] += len(fb.Records)
	}
	fmt.Printf("consumed them back: %v records per partition\n", perPartition)
	return nil
}

// offsets returns every partition's high watermark: where records produced
// from now on will start.
func offsets(ctx context.Context, c *client.Client, topic string) (map[int32]int64, error) {
	t, err := c.DescribeTopic(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make(map[int32]int64, len(t.Partitions))
	for _, p := range t.Partitions {
		out[p.Index] = p.HighWatermark
	}
	return out, nil
}
