package platform_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// TestProduceValidationIsTheSameEverywhere: a record HTTP produce refuses
// is refused over WebSocket too, and nothing of either request is stored.
// A request with more bytes for one partition than it takes per request
// is refused as a whole with 413 record_too_large.
func TestProduceValidationIsTheSameEverywhere(t *testing.T) {
	n := testnode.Start(t)
	cl, err := client.New(n.URL(), client.WithDeliveryTimeout(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := cl.CreateTopic(ctx, wire.CreateTopicRequest{Name: "v", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	bad := []client.Record{{Value: []byte("ok")}, {Timestamp: -5, Value: []byte("bad")}}
	_, httpErr := cl.Produce(ctx, "v", bad, client.ProduceOptions{})
	var ae *client.APIError
	if !errors.As(httpErr, &ae) || ae.Code != wire.CodeInvalidRequest || ae.Details == nil || ae.Details.Index == nil || *ae.Details.Index != 1 {
		t.Errorf("HTTP produce of a negative timestamp: %v", httpErr)
	}

	ws, err := cl.ProduceWS(ctx, client.WSProducerConfig{Topic: "v", Acks: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	res, wsErr := ws.Send(ctx, bad)
	failed := wsErr != nil
	for _, r := range res {
		failed = failed || r.Error != nil
	}
	if !failed || (wsErr != nil && !errors.As(wsErr, &ae)) {
		t.Errorf("WebSocket produce of a negative timestamp: %+v, %v", res, wsErr)
	}
	if wsErr != nil && errors.As(wsErr, &ae) && ae.Code != wire.CodeInvalidRequest {
		t.Errorf("WebSocket error code %s, want invalid_request", ae.Code)
	}

	// 9 records of 1000 KB each, all for the one partition: about 9 MB, over
	// the 8 MiB a partition takes per request, though each record is
	// within max.message.bytes and the body within the request limit.
	big := make([]client.Record, 9)
	for i := range big {
		big[i] = client.Record{Value: bytes.Repeat([]byte("x"), 1000*1000)}
	}
	_, err = cl.Produce(ctx, "v", big, client.ProduceOptions{Acks: client.AcksLeader})
	if !errors.As(err, &ae) || ae.Status != 413 || ae.Code != wire.CodeRecordTooLarge {
		t.Errorf("9 MB for one partition: %v", err)
	}
	if hw, err := cl.Offset(ctx, "v", 0, "latest"); err != nil || hw != 0 {
		t.Errorf("after the refused requests the partition holds %d records (%v), want 0", hw, err)
	}
	// Half of it is taken.
	if _, err := cl.Produce(ctx, "v", big[:4], client.ProduceOptions{Acks: client.AcksLeader}); err != nil {
		t.Errorf("4 MB: %v", err)
	}
}

// TestProduceToExplicitPartition: ?partition=P sends every record there,
// also when another node leads P (the request is forwarded); a partition
// out of range refuses the request.
func TestProduceToExplicitPartition(t *testing.T) {
	first := testnode.Start(t)
	testnode.Join(t, first, 2, []string{"broker"})
	cl, err := client.New(first.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tp, err := cl.CreateTopic(ctx, wire.CreateTopicRequest{Name: "x", Partitions: 4, ReplicationFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tp.Partitions {
		recs := []client.Record{{Key: []byte("k1"), Value: []byte("a")}, {Key: []byte("k2"), Value: []byte("b")}}
		res, err := cl.Produce(ctx, "x", recs, client.ProduceOptions{Partition: wire.Ptr(p.Index)})
		if err != nil {
			t.Fatalf("partition %d (leader %d): %v", p.Index, p.Leader, err)
		}
		for _, r := range res {
			if r.Err != nil || r.Partition != p.Index {
				t.Errorf("partition %d (leader %d): result %+v", p.Index, p.Leader, r)
			}
		}
	}
	for _, p := range tp.Partitions {
		if hw, err := cl.Offset(ctx, "x", p.Index, "latest"); err != nil || hw != 2 {
			t.Errorf("partition %d holds %d (%v), want 2", p.Index, hw, err)
		}
	}
	if _, err := cl.Produce(ctx, "x", []client.Record{{Value: []byte("c")}}, client.ProduceOptions{Partition: wire.Ptr(int32(4))}); !errors.Is(err, client.ErrUnknownPartition) {
		t.Errorf("partition 4 of 4: %v", err)
	}
}
