package controller

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/platform/meta"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// handed holds the ports freeAddr gave out, so one test binary never gets
// the same port twice (testnode's tests pick from 10000-20000).
var (
	handedMu sync.Mutex
	handed   = map[int]bool{}
)

// freeAddr returns a loopback host:port that was free (TCP and UDP) a moment
// ago. It picks below Linux's ephemeral range (32768+), so the outgoing
// connections of nodes already running cannot take it before it is bound.
func freeAddr(t testing.TB) string {
	t.Helper()
	handedMu.Lock()
	defer handedMu.Unlock()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		if handed[port] {
			continue
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		handed[port] = true
		return addr
	}
	t.Fatal("no free port")
	return ""
}

// fastConfig scales raft's timing down for loopback tests.
func fastConfig(id meta.NodeID, dir, raftAddr string) Config {
	return Config{
		NodeID:             id,
		DataDir:            dir,
		RaftAddr:           raftAddr,
		HeartbeatTimeout:   150 * time.Millisecond,
		ElectionTimeout:    150 * time.Millisecond,
		LeaderLeaseTimeout: 100 * time.Millisecond,
		CommitTimeout:      5 * time.Millisecond,
		ApplyTimeout:       5 * time.Second,
		ReconcileInterval:  300 * time.Millisecond,
		BootstrapPoll:      50 * time.Millisecond,
		TransportTimeout:   2 * time.Second,
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitMeta watches c's metadata until cond holds.
func waitMeta(t *testing.T, c *Controller, d time.Duration, what string, cond func(*meta.Cluster) bool) *meta.Cluster {
	t.Helper()
	ctx := ctxT(t, d)
	md := c.Metadata()
	for !cond(md) {
		var err error
		if md, err = c.Watch(ctx, md.Version); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	return md
}

// startSingle starts a bootstrapped one-node controller with broker 1
// registered.
func startSingle(t *testing.T, dir string, mod func(*Config)) *Controller {
	t.Helper()
	cfg := fastConfig(1, dir, freeAddr(t))
	cfg.Bootstrap = true
	if mod != nil {
		mod(&cfg)
	}
	c, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	waitLeaderSelf(t, c)
	// The new active controller sets the cluster id; wait for it so that
	// tests see only their own changes.
	waitMeta(t, c, 10*time.Second, "cluster id", func(md *meta.Cluster) bool { return md.ClusterID != "" })
	return c
}

func waitLeaderSelf(t *testing.T, c *Controller) {
	t.Helper()
	if err := c.WaitLeader(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "leadership", c.IsLeader)
}
