package membership

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fastConfig is a config with failure detection tuned for loopback tests.
func fastConfig(id int32, join ...string) Config {
	return Config{
		BindAddr: "127.0.0.1:0",
		Tags: Tags{NodeID: id, Roles: []string{"controller", "broker"},
			HTTPAddr: fmt.Sprintf("127.0.0.1:%d", 9000+id), RaftAddr: fmt.Sprintf("127.0.0.1:%d", 9100+id), Rack: "r1"},
		Join: join,
		// Fast, but not so fast that a live node is taken for failed when
		// the race detector and the rest of the suite load both cores: at
		// 100 ms probes and a suspicion multiplier of 2, a node in
		// TestJoinFailLeave once saw its only peer as failed, so its Leave
		// sent no leave intent (serf broadcasts one only with a peer
		// alive) and the peer reported it failed, not left.
		ProbeInterval:       200 * time.Millisecond,
		ProbeTimeout:        300 * time.Millisecond,
		GossipInterval:      20 * time.Millisecond,
		SuspicionMult:       3,
		LeavePropagateDelay: 500 * time.Millisecond,
	}
}

func start(t *testing.T, cfg Config) *Membership {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// seen keeps the events each test membership delivered, so waiting for one
// event never throws away another that arrived first.
var seen = map[*Membership][]Event{}

// waitEvent returns the first event of that type for that node, reading m's
// events until it arrives or the deadline passes.
func waitEvent(t *testing.T, m *Membership, typ EventType, id int32) Event {
	t.Helper()
	match := func(ev Event) bool { return ev.Type == typ && ev.Member.ID == id }
	for i, ev := range seen[m] {
		if match(ev) {
			seen[m] = slices.Delete(seen[m], i, i+1)
			return ev
		}
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-m.Events():
			if match(ev) {
				return ev
			}
			seen[m] = append(seen[m], ev)
		case <-deadline:
			t.Fatalf("no %s event for node %d (other events: %+v)", typ, id, seen[m])
		}
	}
}

func memberByID(ms []Member, id int32) (Member, bool) {
	i := slices.IndexFunc(ms, func(m Member) bool { return m.ID == id })
	if i < 0 {
		return Member{}, false
	}
	return ms[i], true
}

func TestJoinFailLeave(t *testing.T) {
	a := start(t, fastConfig(1))
	seed := a.Local().SerfAddr
	b := start(t, fastConfig(2, seed))
	c := start(t, fastConfig(3, seed))

	// a hears about both joins, with typed tags.
	ev := waitEvent(t, a, EventJoin, 2)
	if ev.Member.Name != "node-2" || ev.Member.HTTPAddr != "127.0.0.1:9002" || ev.Member.RaftAddr != "127.0.0.1:9102" ||
		ev.Member.Rack != "r1" || !ev.Member.HasRole("broker") || !ev.Member.HasRole("controller") ||
		ev.Member.Status != StatusAlive || ev.Member.SerfAddr != b.Local().SerfAddr {
		t.Fatalf("join event member: %+v", ev.Member)
	}
	waitEvent(t, a, EventJoin, 3)
	if got := len(a.Members()); got != 3 {
		t.Fatalf("a knows %d members, want 3", got)
	}

	// c crashes (no leave): a sees it fail.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	ev = waitEvent(t, a, EventFailed, 3)
	if ev.Member.Status != StatusFailed {
		t.Fatalf("failed event status %s", ev.Member.Status)
	}
	if m, ok := memberByID(a.Members(), 3); !ok || m.Status != StatusFailed {
		t.Fatalf("Members() has node 3 as %+v", m)
	}

	// b leaves on purpose, then stops: a sees a leave, not a failure (even
	// if a missed the leave gossip, serf remembers the intent when the
	// probes fail).
	if err := b.Leave(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	ev = waitEvent(t, a, EventLeave, 2)
	if ev.Member.Status != StatusLeft {
		t.Fatalf("leave event status %s", ev.Member.Status)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for range a.Events() { // Close closes Events after what was buffered
	}
}

func TestEventsDroppedWhenNobodyReads(t *testing.T) {
	cfg := fastConfig(1)
	cfg.EventBuffer = 1
	a := start(t, cfg)
	for id := int32(2); id <= 4; id++ {
		start(t, fastConfig(id, a.Local().SerfAddr))
	}
	deadline := time.Now().Add(10 * time.Second)
	for a.Dropped() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no event counted as dropped")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Members still reports everyone: the reconcile loop's safety net.
	for len(a.Members()) != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("Members() = %d, want 4", len(a.Members()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestJoinFailureFailsStart(t *testing.T) {
	// Start retries until its context ends; then it fails.
	cfg := fastConfig(1, "127.0.0.1:1")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	m, err := Start(ctx, cfg)
	if err == nil {
		_ = m.Close()
		t.Fatal("Start with an unreachable join address succeeded")
	}
}

func TestBadBindAddr(t *testing.T) {
	cfg := fastConfig(1)
	cfg.BindAddr = "nope"
	if _, err := Start(context.Background(), cfg); err == nil {
		t.Fatal("bad bind address accepted")
	}
}

// TestAdvertiseHostName: a DNS name as the serf advertise address is
// resolved to an IP (memberlist only gossips IPs); an IP is kept.
func TestAdvertiseHostName(t *testing.T) {
	for in, want := range map[string]string{"localhost": "127.0.0.1", "10.1.2.3": "10.1.2.3", "::1": "::1"} {
		got, err := advertiseIP(in)
		if err != nil || got != want {
			t.Errorf("advertiseIP(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	old := advertiseResolveWait
	advertiseResolveWait = 0
	defer func() { advertiseResolveWait = old }()
	if got, err := advertiseIP("no-such-host.invalid"); err == nil {
		t.Errorf("advertiseIP(no-such-host.invalid) = %q, want an error", got)
	}
}
