package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// okSoon runs the CLI until it exits 0, retrying while the controller
// quorum elects (not_controller is retriable), for at most a minute.
func okSoon(t *testing.T, server, stdin string, args ...string) cliResult {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r := sluice(t, server, stdin, args...)
		if r.code == 0 {
			return r
		}
		if !strings.Contains(r.stderr, "not the active controller") || time.Now().After(deadline) {
			t.Fatalf("sluice %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		time.Sleep(100 * time.Millisecond) // poll interval, not synchronisation
	}
}

// fencedSoon waits until the controller has seen broker id stop (fenced
// it): `broker remove` refuses a broker the metadata still counts alive,
// and a stop reaches the controller through membership, not at once.
func fencedSoon(t *testing.T, server string, id int32) {
	t.Helper()
	healthSoon(t, server, fmt.Sprintf("broker %d fenced", id), func(h wire.ClusterHealth) bool {
		for _, b := range h.Brokers {
			if b.ID == id {
				return b.Fenced
			}
		}
		return false
	})
}

// healthSoon polls `cluster health -o json` until want says yes.
func healthSoon(t *testing.T, server, what string, want func(h wire.ClusterHealth) bool) wire.ClusterHealth {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r := sluice(t, server, "", "--output", "json", "cluster", "health")
		var h wire.ClusterHealth
		err := json.Unmarshal([]byte(r.stdout), &h)
		if err == nil && want(h) {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached; last health (exit %d): %s %s", what, r.code, r.stdout, r.stderr)
		}
		time.Sleep(100 * time.Millisecond) // poll interval, not synchronisation
	}
}

// The runbooks of docs/operations.md, as CLI commands against real
// nodes: add a broker, decommission one, replace a dead one under a new
// id, rebalance leaders, with every acknowledged record still readable.
func TestRunbooks(t *testing.T) {
	n1 := testnode.Start(t)
	broker := []string{platform.RoleBroker}
	n2 := testnode.Join(t, n1, 2, nil)
	n3 := testnode.Join(t, n1, 3, nil)
	srv := n1.URL()
	okSoon(t, srv, "", "topic", "create", "orders", "--partitions", "3", "--replication-factor", "3", "--config", "min.insync.replicas=2")
	// Every leader has the topic before records go to it.
	deadline := time.Now().Add(time.Minute)
	for {
		var tp wire.Topic
		r := okSoon(t, srv, "", "--output", "json", "topic", "describe", "orders")
		if err := json.Unmarshal([]byte(r.stdout), &tp); err != nil {
			t.Fatal(err)
		}
		ready := true
		for _, p := range tp.Partitions {
			ready = ready && p.LogEnd >= 0 && len(p.ISR) == 3
		}
		if ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("orders never ready on its leaders: %s", r.stdout)
		}
		time.Sleep(100 * time.Millisecond) // poll interval, not synchronisation
	}
	var in strings.Builder
	for i := range 200 {
		fmt.Fprintf(&in, "k%d:v%d\n", i, i)
	}
	okSoon(t, srv, in.String(), "produce", "orders", "--key-separator", ":", "--acks", "all")

	// Add a broker: it joins with a new id and gets replicas by a plan,
	// which also gives every topic (__consumer_offsets has one replica in
	// this version) three.
	n4 := testnode.Join(t, n1, 4, broker)
	// The group coordinators create __consumer_offsets at start; the plan
	// must cover it.
	deadline = time.Now().Add(time.Minute)
	for !strings.Contains(okSoon(t, srv, "", "topic", "list", "--internal").stdout, "__consumer_offsets") {
		if time.Now().After(deadline) {
			t.Fatal("__consumer_offsets never created")
		}
		time.Sleep(100 * time.Millisecond) // poll interval, not synchronisation
	}
	plan := filepath.Join(t.TempDir(), "plan.json")
	r := okSoon(t, srv, "", "partition", "reassign", "--generate", "--brokers", "1,2,3,4", "--replication-factor", "3")
	if err := os.WriteFile(plan, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	okSoon(t, srv, "", "partition", "reassign", "--plan", plan, "--wait", "--timeout", "1m", "--throttle", "50MiB")
	h := healthSoon(t, srv, "broker 4 holds replicas, cluster healthy", func(h wire.ClusterHealth) bool {
		for _, b := range h.Brokers {
			if b.ID == 4 && b.Replicas > 0 {
				return h.Healthy
			}
		}
		return false
	})

	// Decommission broker 3: its replicas move to the others, then it
	// stops and is removed.
	r = okSoon(t, srv, "", "broker", "decommission", "3", "--wait", "--timeout", "1m", "--throttle", "50MiB")
	if !strings.Contains(r.stdout, "broker 3 holds no replicas now") {
		t.Fatalf("decommission: %+v", r)
	}
	n3.Stop(t)
	fencedSoon(t, srv, 3)
	okSoon(t, srv, "", "broker", "remove", "3")
	// Controller 3 left the quorum with its clean stop; wait for it before
	// another controller stops (two gone at once is no majority of three).
	healthSoon(t, srv, "controller 3 out of the quorum", func(h wire.ClusterHealth) bool {
		for _, v := range h.Controller.Voters {
			if v.ID == 3 {
				return false
			}
		}
		return h.Controller.QuorumOK
	})

	// Broker 2 dies; broker 5 replaces it under a new id.
	n2.Stop(t)
	healthSoon(t, srv, "under-replicated without broker 2", func(h wire.ClusterHealth) bool { return h.Partitions.UnderReplicated > 0 })
	if r := sluice(t, srv, "", "cluster", "health"); r.code != 1 {
		t.Fatalf("health with broker 2 dead exits %d: %s", r.code, r.stdout)
	}
	if r := sluice(t, srv, "", "broker", "decommission", "2"); r.code == 0 || !strings.Contains(r.stderr, "below its replication factor") {
		t.Fatalf("decommission 2 with two brokers left for RF 3: %+v", r)
	}
	testnode.Join(t, n1, 5, broker)
	okSoon(t, srv, "", "broker", "decommission", "2", "--wait", "--timeout", "1m", "--throttle", "50MiB")
	fencedSoon(t, srv, 2)
	okSoon(t, srv, "", "broker", "remove", "2")
	// Controllers 2 and 3 left the quorum when they stopped; removing
	// them again names them unknown.
	if r := sluice(t, srv, "", "controller", "remove", "3"); r.code == 0 || !strings.Contains(r.stderr, "not in the raft configuration") {
		t.Fatalf("controller remove 3: %+v", r)
	}

	// Add a controller: it becomes a voter by itself once caught up;
	// controller add is then a no-op that succeeds.
	testnode.Join(t, n1, 6, []string{platform.RoleController})
	healthSoon(t, srv, "controller 6 a voter", func(h wire.ClusterHealth) bool {
		for _, v := range h.Controller.Voters {
			if v.ID == 6 && v.Voter && v.Alive && v.State == "Follower" {
				return h.Controller.QuorumOK
			}
		}
		return false
	})
	okSoon(t, srv, "", "controller", "add", "6")

	// Rebalance leaders, then the cluster is healthy and balanced.
	okSoon(t, srv, "", "partition", "elect-leader")
	h = healthSoon(t, srv, "healthy and balanced", func(h wire.ClusterHealth) bool {
		return h.Healthy && h.Partitions.NotPreferredLeader == 0
	})
	for _, b := range h.Brokers {
		if b.ID == 2 || b.ID == 3 {
			t.Fatalf("removed broker %d still listed: %+v", b.ID, h.Brokers)
		}
	}
	r = okSoon(t, n4.URL(), "", "consume", "orders", "--from", "earliest", "--max", "200", "--format", "json")
	if got := strings.Count(strings.TrimSpace(r.stdout), "\n") + 1; got != 200 {
		t.Fatalf("consumed %d records after the moves, want 200", got)
	}
}
