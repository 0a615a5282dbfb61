// Command websocket-consumer is a small Go consumer of a Sluice topic over
// the WebSocket API: it joins a consumer group, prints every record, and
// commits its position every second and when it stops (Ctrl-C).
//
//	go run ./examples/websocket -topic orders -group printers
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

func main() {
	server := flag.String("server", "http://localhost:8080", "a node's HTTP address")
	topic := flag.String("topic", "orders", "topic to read")
	group := flag.String("group", "printers", "consumer group (empty: read every partition without a group)")
	from := flag.String("from", "earliest", "where to start without a committed offset: earliest, latest or @MS")
	processor := flag.String("processor", "", "processor plugin NAME[@N] to run on the server")
	params := flag.String("params", "", "processor parameters k=v,k=v")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *server, *topic, *group, *from, *processor, *params); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, server, topic, group, from, processor, params string) error {
	cl, err := client.New(server)
	if err != nil {
		return err
	}
	defer cl.Close()
	cfg := client.WSConsumerConfig{
		Topic: topic, Group: group, From: from, ClientID: "go-example",
		Processor: processor, Params: map[string]string{},
		AutoCommitInterval: time.Second,
		OnAssigned: func(gen int32, ps []wire.WSPartitionStart) {
			log.Printf("generation %d: assigned %v", gen, ps)
		},
		OnRevoked: func(gen int32, ps []int32) {
			log.Printf("generation %d: revoked %v (committing, then letting go)", gen, ps)
		},
	}
	for _, kv := range strings.Split(params, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			cfg.Params[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	c, err := cl.ConsumeWS(ctx, cfg)
	if err != nil {
		return err
	}
	w := c.Welcome()
	log.Printf("connected to %s (%d partitions) as %s", w.Topic, w.Partitions, w.MemberID)
	for {
		b, err := c.Poll(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				break
			}
			return err
		}
		for _, r := range b.Records {
			fmt.Printf("%d/%d\t%s\t%s\n", b.Partition, r.Offset, r.Key, r.Value)
		}
	}
	// Save our place, then leave the group at once (a clean goodbye).
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if group != "" {
		if err := c.CommitPositions(cctx); err != nil {
			log.Printf("final commit: %v", err)
		}
	}
	return c.Close()
}
