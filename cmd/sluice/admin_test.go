package main

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

func TestPartitionAdminCommands(t *testing.T) {
	srv := startNode(t)
	ok(t, srv, "", "topic", "create", "orders", "--partitions", "2")

	r := ok(t, srv, "", "partition", "elect-leader")
	if !strings.Contains(r.stdout, "elected 0 preferred leaders; 0 partitions still led by another replica") {
		t.Fatalf("elect-leader on a balanced node: %q", r.stdout)
	}
	r = ok(t, srv, "", "--output", "json", "partition", "elect-leader", "orders/1")
	var el wire.ElectLeadersResponse
	if err := json.Unmarshal([]byte(r.stdout), &el); err != nil || len(el.Elected)+len(el.NotElected) != 0 {
		t.Fatalf("elect-leader orders/1 json: %q %v", r.stdout, err)
	}
	if r := sluice(t, srv, "", "partition", "elect-leader", "nope"); r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("unknown topic: %+v", r)
	}

	// Increasing partitions warns about keys; decreasing is refused.
	r = ok(t, srv, "", "topic", "alter", "orders", "--partitions", "4")
	if !strings.Contains(r.stdout, "4 partitions") || !strings.Contains(r.stderr, "warning: orders goes from 2 to 4 partitions") {
		t.Fatalf("alter --partitions 4: %+v", r)
	}
	if r := sluice(t, srv, "", "topic", "alter", "orders", "--partitions", "3"); r.code == 0 || !strings.Contains(r.stderr, "can only grow") {
		t.Fatalf("alter --partitions 3: %+v", r)
	}

	// A generated plan on the only broker changes nothing; a move to a
	// broker that does not exist is refused, naming it.
	r = ok(t, srv, "", "partition", "reassign", "--generate", "--brokers", "1")
	var plan wire.ReassignRequest
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil || len(plan.Reassignments) != 0 {
		t.Fatalf("generated plan: %q %v", r.stdout, err)
	}
	if r := sluice(t, srv, "", "partition", "reassign", "orders/0", "--replicas", "1,7"); r.code == 0 || !strings.Contains(r.stderr, "broker 7 does not exist") {
		t.Fatalf("reassign to broker 7: %+v", r)
	}
	if r := sluice(t, srv, "", "partition", "reassign", "--generate", "--brokers", "1,2"); r.code == 0 || !strings.Contains(r.stderr, "broker 2 does not exist") {
		t.Fatalf("generate with broker 2: %+v", r)
	}
	r = ok(t, srv, "", "partition", "reassign", "orders/0", "--replicas", "1", "--wait")
	if !strings.Contains(r.stderr, "reassignment complete") {
		t.Fatalf("reassign --wait: %+v", r)
	}
	r = ok(t, srv, "", "partition", "reassign", "--status")
	if !strings.Contains(r.stdout, "0 partitions, 0 moving") {
		t.Fatalf("status: %q", r.stdout)
	}
	r = ok(t, srv, "", "partition", "reassign", "--cancel")
	if !strings.Contains(r.stdout, "nothing to do") {
		t.Fatalf("cancel with nothing in progress: %q", r.stdout)
	}

	// The only controller cannot be removed.
	if r := sluice(t, srv, "", "controller", "remove", "1"); r.code == 0 || !strings.Contains(r.stderr, "alive") {
		t.Fatalf("controller remove 1: %+v", r)
	}
}

// cluster health exits 0 when healthy and 1 with the problem named when
// a partition is under-replicated; cluster status shows both.
func TestClusterHealthExitCode(t *testing.T) {
	n := testnode.Start(t)
	srv := n.URL()
	r := ok(t, srv, "", "cluster", "health")
	if !strings.HasPrefix(r.stdout, "healthy:") {
		t.Fatalf("health: %q", r.stdout)
	}
	// A second broker exists only in the metadata; the topic gets it as
	// a replica, then it is fenced out of the ISR.
	ctl := n.Controller()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if _, err := ctl.RegisterBroker(ctx, meta.Broker{ID: 2, HTTPAddr: "http://127.0.0.1:1", Roles: []string{meta.RoleBroker}}); err != nil {
			t.Fatal(err)
		}
		_, err := ctl.CreateTopic(ctx, meta.CreateTopic{Name: "pair", Partitions: 1, ReplicationFactor: 2})
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
	// The node may create __consumer_offsets meanwhile, with broker 2 among
	// its replicas too: pair/0 must be under-replicated, and nothing else
	// but those.
	r = sluice(t, srv, "", "cluster", "health")
	if r.code != 1 || !strings.Contains(r.stdout, "NOT HEALTHY") || !strings.Contains(r.stdout, "partitions under-replicated: ") {
		t.Fatalf("unhealthy: %+v", r)
	}
	r = sluice(t, srv, "", "--output", "json", "cluster", "health")
	var h wire.ClusterHealth
	if err := json.Unmarshal([]byte(r.stdout), &h); err != nil || r.code != 1 || h.Healthy ||
		h.Partitions.UnderReplicated != len(h.UnderReplicated) || !slices.Contains(h.UnderReplicated, "pair/0") {
		t.Fatalf("json health: %+v %v", r, err)
	}
	for _, p := range h.UnderReplicated {
		if p != "pair/0" && !strings.HasPrefix(p, "__consumer_offsets/") {
			t.Fatalf("under-replicated %s: only pair/0 lost a replica", p)
		}
	}
	r = ok(t, srv, "", "cluster", "status")
	for _, want := range []string{"NOT HEALTHY", "CONTROLLER", "Leader", "BROKER", "under-replicated"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("status lacks %q:\n%s", want, r.stdout)
		}
	}
}
