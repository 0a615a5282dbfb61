package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

func TestGroupCommands(t *testing.T) {
	srv := startNode(t)
	ok(t, srv, "", "topic", "create", "jobs", "--partitions", "2")
	ok(t, srv, "a\nb\nc\nd\ne\nf\n", "produce", "jobs")
	ok(t, srv, "", "consume", "jobs", "--group", "workers", "--from", "earliest", "--max", "4")

	r := ok(t, srv, "", "group", "list")
	if !strings.Contains(r.stdout, "workers") || !strings.Contains(r.stdout, "empty") {
		t.Fatalf("group list:\n%s", r.stdout)
	}
	r = ok(t, srv, "", "--output", "json", "group", "describe", "workers")
	var g wire.Group
	if err := json.Unmarshal([]byte(r.stdout), &g); err != nil {
		t.Fatalf("describe --output json: %v\n%s", err, r.stdout)
	}
	var committed, lag int64
	for _, o := range g.Offsets {
		committed += o.Committed
		lag += o.Lag
	}
	if len(g.Offsets) != 2 || committed != 4 || lag != 2 {
		t.Fatalf("describe = %+v, want 4 committed and a lag of 2", g)
	}
	r = ok(t, srv, "", "group", "describe", "workers")
	for _, want := range []string{"group workers: empty", "COMMITTED", "LAG", "total lag 2"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("describe lacks %q:\n%s", want, r.stdout)
		}
	}

	// While a member is connected, reset and delete are refused.
	cl, err := client.New(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := cl.ConsumeWS(ctx, client.WSConsumerConfig{Topic: "jobs", Group: "workers"})
	if err != nil {
		t.Fatal(err)
	}
	if r := sluice(t, srv, "", "group", "reset-offsets", "workers", "--topic", "jobs", "--to", "earliest"); r.code == 0 || !strings.Contains(r.stderr, "member") {
		t.Fatalf("reset with a member: exit %d, %q", r.code, r.stderr)
	}
	if r := sluice(t, srv, "", "group", "delete", "workers"); r.code == 0 {
		t.Fatalf("delete with a member: exit 0")
	}
	m.Close()

	// Close returns once the server removed the member: reset works at
	// once, and the next member reads from there.
	r = sluice(t, srv, "", "group", "reset-offsets", "workers", "--topic", "jobs", "--to", "earliest")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 3 {
		t.Fatalf("reset-offsets right after Close: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = ok(t, srv, "", "consume", "jobs", "--group", "workers", "--max", "6")
	if got := strings.Fields(r.stdout); len(got) != 6 {
		t.Fatalf("after reset read %q, want all 6 again", r.stdout)
	}
	ok(t, srv, "", "group", "delete", "workers")
	if r := sluice(t, srv, "", "group", "describe", "workers"); r.code == 0 {
		t.Fatalf("describe after delete: exit 0\n%s", r.stdout)
	}
	r = ok(t, srv, "", "group", "list")
	if strings.Contains(r.stdout, "workers") {
		t.Fatalf("list after delete:\n%s", r.stdout)
	}
}

// TestConsumerOffsetsProtected: __consumer_offsets is the cluster's own
// data. Altering its partitioner, deleting it or producing to it is
// refused, so committed offsets are neither lost nor corrupted, and
// commits keep working afterwards.
func TestConsumerOffsetsProtected(t *testing.T) {
	srv := startNode(t)
	ok(t, srv, "", "topic", "create", "jobs")
	ok(t, srv, "a\nb\nc\n", "produce", "jobs")
	ok(t, srv, "", "consume", "jobs", "--group", "workers", "--from", "earliest", "--max", "2")

	for _, args := range [][]string{
		{"topic", "alter", "__consumer_offsets", "--partitioner", "roundrobin"},
		{"topic", "alter", "__consumer_offsets", "--config", "retention.ms=1000"},
		{"topic", "delete", "__consumer_offsets"},
		{"produce", "__consumer_offsets"},
	} {
		r := sluice(t, srv, "garbage\n", args...)
		if r.code == 0 || !strings.Contains(r.stderr, "internal") {
			t.Errorf("sluice %s: exit %d, stderr %q; want a refusal naming the topic internal", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	// The offsets survived and commits still work.
	r := ok(t, srv, "", "consume", "jobs", "--group", "workers", "--max", "1")
	if r.stdout != "c\n" {
		t.Fatalf("after the refused changes the group read %q, want c", r.stdout)
	}
	r = ok(t, srv, "", "--output", "json", "group", "describe", "workers")
	var g wire.Group
	if err := json.Unmarshal([]byte(r.stdout), &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Offsets) != 1 || g.Offsets[0].Committed != 3 {
		t.Fatalf("describe = %+v, want offset 3 committed", g.Offsets)
	}
}
