// Package testnode starts real Sluice nodes for tests: a temporary data
// directory, free loopback ports, fast raft and serf timings, and cleanup
// through t.Cleanup.
//
// Nodes run the secure node-to-node plane: mutual TLS under a test CA
// (one per test process, created on first use; each node issues its own
// certificate from it at start) and encrypted gossip, so every
// multi-node test exercises it. TLSDir names that directory, for tests
// that issue certificates of their own.
//
//	n := testnode.Start(t)
//	resp, err := http.Get(n.URL() + "/v1/topics")
//	n.Restart(t) // same data directory and ports
package testnode

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/clusternet"
)

// Node is a running test node.
type Node struct {
	*platform.Node
	Config platform.Config
}

// Option changes the node's configuration before it starts.
type Option func(*platform.Config)

// WithConfig applies f to the configuration.
func WithConfig(f func(*platform.Config)) Option { return Option(f) }

// WithLogger sends the node's logs to l (default: discarded, unless the
// test runs with -v, where they go to t.Log).
func WithLogger(l *slog.Logger) Option { return func(c *platform.Config) { c.Logger = l } }

// startTimeout bounds a node's start in tests.
const startTimeout = 30 * time.Second

// Start starts a one-node cluster (both roles) on t.TempDir() with free
// 127.0.0.1 ports and FastTiming; the node is closed when the test ends.
func Start(t testing.TB, opts ...Option) *Node {
	t.Helper()
	cfg := platform.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.RaftAddr = freeAddr(t)
	cfg.SerfAddr = freeAddr(t)
	cfg.ClusterAddr = "127.0.0.1:0"
	cfg.ClusterTLSDir = TLSDir(t)
	cfg.Timing = platform.FastTiming()
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Logger = slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	for _, o := range opts {
		o(&cfg)
	}
	n := &Node{Config: cfg}
	n.start(t)
	t.Cleanup(func() {
		if n.Node != nil {
			if err := n.Node.Close(); err != nil {
				t.Errorf("close node %d: %v", cfg.NodeID, err)
			}
		}
	})
	return n
}

func (n *Node) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	pn, err := platform.Start(ctx, n.Config)
	if err != nil {
		t.Fatalf("start node %d: %v", n.Config.NodeID, err)
	}
	n.Node = pn
	// Later restarts keep the ports the first start picked.
	n.Config.HTTPAddr = pn.HTTPAddr()
	n.Config.ClusterAddr = pn.ClusterAddr()
}

// Restart closes the node and starts it again on the same data directory
// and addresses, as an operator's restart would.
func (n *Node) Restart(t testing.TB) {
	t.Helper()
	n.Stop(t)
	n.start(t)
}

// Stop closes the node (Restart or the test's cleanup may start it again).
func (n *Node) Stop(t testing.TB) {
	t.Helper()
	if n.Node == nil {
		return
	}
	if err := n.Node.Close(); err != nil {
		t.Fatalf("close node %d: %v", n.Config.NodeID, err)
	}
	n.Node = nil
}

// freeAddr returns a 127.0.0.1 address with a port free right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	return FreePorts(t, 1)
}

// FreePorts returns "127.0.0.1:p" where p..p+n-1 are free for both TCP and
// UDP right now (serf binds both; dev --nodes counts ports up from p).
//
// Serf and raft bind their own sockets, so a port is released before they
// take it. Ports come from below Linux's ephemeral range (32768+): the
// outgoing connections of tests running in parallel take ephemeral ports,
// and one of them could otherwise take a port between this check and the
// bind.
func FreePorts(t testing.TB, n int) string {
	t.Helper()
	handedMu.Lock()
	defer handedMu.Unlock()
	for range 200 {
		p := portLow + rand.IntN(portHigh-portLow-n)
		if !handed[p] && portsFree(p, n) {
			for i := range n {
				handed[p+i] = true
			}
			return "127.0.0.1:" + strconv.Itoa(p)
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return ""
}

// Test ports come from [portLow, portHigh): below the ephemeral range and
// apart from the range platform/controller's own tests use (20000-32000),
// since test binaries of several packages run at once. handed keeps one
// process from handing out a port twice (a port is free again once checked).
const portLow, portHigh = 10000, 20000

var (
	handedMu sync.Mutex
	handed   = map[int]bool{}
)

func portsFree(p, n int) bool {
	for i := range n {
		addr := "127.0.0.1:" + strconv.Itoa(p+i)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return false
		}
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err != nil {
			return false
		}
		u.Close()
	}
	return true
}

// tWriter sends log lines to t.Log.
type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// Join starts another node (id, roles; both roles when none are given)
// that joins first's cluster through serf, and waits until it serves. A
// controller-role node joins the quorum as a voter when the active
// controller adds it.
func Join(t testing.TB, first *Node, id int32, roles []string, opts ...Option) *Node {
	t.Helper()
	all := append([]Option{func(c *platform.Config) {
		c.NodeID = id
		if len(roles) > 0 {
			c.Roles = roles
		}
		c.Join = []string{first.Config.SerfAddr}
		c.BootstrapExpect = 0
	}}, opts...)
	n := Start(t, all...)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := n.WaitReady(ctx); err != nil {
		t.Fatalf("node %d joining node %d: %v", id, first.Config.NodeID, err)
	}
	return n
}

var (
	tlsOnce sync.Once
	tlsDir  string
	tlsErr  error
)

// TLSDir is the test process's cluster TLS directory (ca.crt, ca.key,
// gossip.key), created on first use and removed never: it lives in the
// system's temporary directory, shared by every test of the process.
func TLSDir(t testing.TB) string {
	t.Helper()
	tlsOnce.Do(func() {
		if tlsDir, tlsErr = os.MkdirTemp("", "sluice-testnode-tls-"); tlsErr == nil {
			tlsErr = clusternet.DevDir(tlsDir)
		}
	})
	if tlsErr != nil {
		t.Fatalf("test cluster TLS directory: %v", tlsErr)
	}
	return tlsDir
}
