package platform_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// acks=all on a partition whose ISR is below min.insync.replicas is
// refused with not_enough_replicas and writes nothing, on a real node: a
// second broker is registered in the metadata (it never runs), the topic
// gets both as replicas, then the second is fenced out of the ISR.
func TestAcksAllBelowMinISROnARealNode(t *testing.T) {
	n := testnode.Start(t)
	ctl := n.Controller()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The controller's reconcile loop fences brokers serf does not know,
	// possibly between the registration and the creation: retry then.
	for {
		_, err := ctl.RegisterBroker(ctx, meta.Broker{ID: 2, HTTPAddr: "http://127.0.0.1:1", Roles: []string{meta.RoleBroker}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ctl.CreateTopic(ctx, meta.CreateTopic{Name: "safe", Partitions: 1, ReplicationFactor: 2,
			Config: map[string]string{meta.KeyMinInsyncReplicas: "2"}})
		if err == nil {
			break
		}
		if !errors.Is(err, meta.ErrNotEnoughBrokers) || ctx.Err() != nil {
			t.Fatal(err)
		}
	}
	if err := ctl.FenceBroker(ctx, 2); err != nil {
		t.Fatal(err)
	}
	// The broker acts on the fence once it has applied it.
	if err := n.Broker().WaitForVersion(ctx, ctl.Metadata().Version); err != nil {
		t.Fatal(err)
	}
	a := api{t, n.URL()}
	var tp wire.Topic
	a.json("GET", "/v1/topics/safe", nil, &tp)
	if p := tp.Partitions[0]; p.Leader != 1 || len(p.ISR) != 1 {
		t.Fatalf("partition after the fence: %+v, want leader 1 alone in the ISR", p)
	}
	st, raw := a.call("POST", "/v1/topics/safe/records?acks=all", "", "", []byte(`{"records":[{"value":"must not be written"}]}`))
	a.wantError(st, raw, http.StatusServiceUnavailable, wire.CodeNotEnoughReplicas)
	a.json("GET", "/v1/topics/safe", nil, &tp)
	if p := tp.Partitions[0]; p.LogEnd != 0 {
		t.Fatalf("log end %d after a refused produce, want 0", p.LogEnd)
	}
	// acks=1 does not need the ISR.
	var pr wire.ProduceResponse
	a.json("POST", "/v1/topics/safe/records?acks=1", wire.ProduceRequest{Records: []wire.ProduceRecord{{Value: "ok"}}}, &pr)
	if len(pr.Results) != 1 || pr.Results[0].Offset != 0 {
		t.Fatalf("acks=1: %+v", pr)
	}
}
