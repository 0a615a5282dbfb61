package controller

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
)

func clusterWith(brokers ...*meta.Broker) *meta.Cluster {
	c := meta.NewCluster()
	for _, b := range brokers {
		c.Brokers[b.ID] = b
	}
	return c
}

func TestSessionsExpire(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := newSessions(time.Second, t0)
	c := clusterWith(
		&meta.Broker{ID: 1, State: meta.BrokerAlive, DirID: "a"},
		&meta.Broker{ID: 2, State: meta.BrokerAlive, DirID: "b"},
		&meta.Broker{ID: 3, State: meta.BrokerAlive},                                                   // never heartbeated: serf's
		&meta.Broker{ID: 4, State: meta.BrokerFenced, DirID: "d"},                                      // already fenced
		&meta.Broker{ID: 5, State: meta.BrokerAlive, DirID: "e", Roles: []string{meta.RoleController}}, // no broker role
	)
	if got := s.expired(c, t0.Add(time.Second)); len(got) != 0 {
		t.Fatalf("within the grace of a new leadership: %v", got)
	}
	s.beat(1, t0.Add(800*time.Millisecond))
	if got := s.expired(c, t0.Add(1500*time.Millisecond)); !slices.Equal(got, []meta.NodeID{2}) {
		t.Fatalf("expired %v, want [2]", got)
	}
	if !s.heard(1, t0.Add(1800*time.Millisecond)) || s.heard(1, t0.Add(1801*time.Millisecond)) || s.heard(2, t0) {
		t.Fatal("heard")
	}
	s.beat(1, t0.Add(100*time.Millisecond)) // an older beat never moves the session back
	if got := s.expired(c, t0.Add(1700*time.Millisecond)); !slices.Equal(got, []meta.NodeID{2}) {
		t.Fatalf("expired %v", got)
	}
}

func TestHeartbeatCommand(t *testing.T) {
	alive := &meta.Broker{ID: 1, State: meta.BrokerAlive, DirID: "a", HTTPAddr: "h"}
	c := clusterWith(alive, &meta.Broker{ID: 2, State: meta.BrokerFenced, DirID: "b"})
	if cmd, known := heartbeatCommand(c, meta.Heartbeat{Broker: 9, DirID: "x"}); cmd != nil || known {
		t.Fatal("unknown broker")
	}
	if cmd, known := heartbeatCommand(c, meta.Heartbeat{Broker: 1, DirID: "a"}); cmd != nil || !known {
		t.Fatal("steady state proposes nothing")
	}
	cmd, _ := heartbeatCommand(c, meta.Heartbeat{Broker: 1, DirID: "new"})
	if cmd == nil || cmd.RegisterBroker.Broker.DirID != "new" || cmd.RegisterBroker.Broker.HTTPAddr != "h" {
		t.Fatalf("new directory: %+v", cmd)
	}
	if cmd, _ := heartbeatCommand(c, meta.Heartbeat{Broker: 2, DirID: "b"}); cmd == nil || cmd.Op != meta.OpRegisterBroker {
		t.Fatal("a fenced broker's heartbeat brings it back")
	}
}

// fakeClock is the controller's Config.Now in tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fakeClock) Add(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// TestSessionExpiryFencesSilentBroker: on a real (one-voter) controller
// with a controlled clock, a broker that stops heartbeating is fenced
// once its session runs out and loses its leadership; its heartbeat
// brings it back; a heartbeat with a new directory id makes its replica
// a lost one.
func TestSessionExpiryFencesSilentBroker(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	c := startSingle(t, t.TempDir(), func(cfg *Config) {
		cfg.Now = clock.Now
		cfg.BrokerSessionTimeout = time.Second
	})
	ctx := ctxT(t, 30*time.Second)
	for id := meta.NodeID(1); id <= 3; id++ {
		if _, err := c.RegisterBroker(ctx, meta.Broker{ID: id, HTTPAddr: "http://127.0.0.1:1", Roles: []string{meta.RoleBroker}}); err != nil {
			t.Fatal(err)
		}
	}
	beat := func(id meta.NodeID, dir string) meta.HeartbeatReply {
		t.Helper()
		r, err := c.Heartbeat(ctx, meta.Heartbeat{Broker: id, DirID: dir})
		if err != nil {
			t.Fatalf("heartbeat %d: %v", id, err)
		}
		return r
	}
	for id := meta.NodeID(1); id <= 3; id++ {
		if r := beat(id, "dir"); !r.Registered || r.Fenced || r.BrokerEpoch == 0 || r.SessionTimeoutMs != 1000 {
			t.Fatalf("reply %+v", r)
		}
	}
	if _, err := c.CreateTopic(ctx, meta.CreateTopic{Name: "t", Partitions: 3, ReplicationFactor: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Heartbeat(ctx, meta.Heartbeat{Broker: 1}); err == nil {
		t.Fatal("a heartbeat without a directory id was accepted")
	}

	// Broker 3 falls silent; 1 and 2 keep beating past its timeout.
	for range 3 {
		clock.Add(400 * time.Millisecond)
		beat(1, "dir")
		beat(2, "dir")
	}
	md := waitMeta(t, c, 20*time.Second, "silent broker 3 fenced", func(md *meta.Cluster) bool {
		b, _ := md.Broker(3)
		return !b.Alive()
	})
	for _, p := range md.Topics["t"].Partitions {
		if p.Leader == 3 || p.InISR(3) {
			t.Fatalf("fenced broker still leads or is in sync: %+v", p)
		}
	}
	for _, id := range []meta.NodeID{1, 2} {
		if b, _ := md.Broker(id); !b.Alive() {
			t.Fatalf("beating broker %d fenced", id)
		}
	}

	// It heartbeats again: alive again.
	if r := beat(3, "dir"); !r.Registered {
		t.Fatalf("%+v", r)
	}
	waitMeta(t, c, 10*time.Second, "broker 3 back", func(md *meta.Cluster) bool {
		b, _ := md.Broker(3)
		return b.Alive()
	})

	// Broker 1 comes back with a new directory (disk lost): its replicas
	// are lost, it leads nothing.
	before, _ := c.Metadata().Broker(1)
	r := beat(1, "dir-2")
	if r.BrokerEpoch <= before.Epoch {
		t.Fatalf("broker epoch %d, was %d", r.BrokerEpoch, before.Epoch)
	}
	for _, p := range c.Metadata().Topics["t"].Partitions {
		if p.Leader == 1 || p.InISR(1) || !p.IsLost(1) {
			t.Fatalf("after disk loss: %+v", p)
		}
	}
}

// TestSessionsSeededFromObservedHeartbeats: a controller that observed
// heartbeats before it took over does not give a broker that fell silent
// meanwhile a fresh timeout.
func TestSessionsSeededFromObservedHeartbeats(t *testing.T) {
	t0 := time.Unix(1000, 0)
	seen := newSessions(time.Second, t0)
	seen.beat(1, t0.Add(-900*time.Millisecond)) // silent since
	seen.beat(2, t0.Add(-10*time.Millisecond))  // beating
	c := clusterWith(
		&meta.Broker{ID: 1, State: meta.BrokerAlive, DirID: "a"},
		&meta.Broker{ID: 2, State: meta.BrokerAlive, DirID: "b"},
		&meta.Broker{ID: 3, State: meta.BrokerAlive, DirID: "c"}, // never seen: a full timeout
	)
	s := newSessions(time.Second, t0)
	if got := s.expired(c, t0.Add(200*time.Millisecond)); len(got) != 0 {
		t.Fatalf("unseeded: %v", got)
	}
	s.seedFrom(seen)
	if got := s.expired(c, t0.Add(200*time.Millisecond)); !slices.Equal(got, []meta.NodeID{1}) {
		t.Fatalf("seeded: %v, want [1]", got)
	}
}
