package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// sluiceBin is the `sluice` binary TestMain built for this run; empty when
// the fault tests are skipped (-short).
var sluiceBin string

// serverArgs is the one place the harness spells a `sluice server` command
// line. Flags every node of a real deployment would add (security, TLS)
// belong here.
func serverArgs(n *node, join []string) []string {
	args := []string{
		"server",
		"--node-id", strconv.Itoa(int(n.id)),
		"--data-dir", n.dir,
		"--http-addr", n.httpAddr,
		"--raft-addr", n.raftAddr,
		"--serf-addr", n.serfAddr,
		"--bootstrap-expect", strconv.Itoa(n.bootstrapExpect),
		"--cluster-addr", n.clusterAddr,
		"--cluster-name", n.cluster.name,
		"--log-level", "info",
		// The secure setup users run (docs/security.md): node-to-node
		// mutual TLS and gossip encryption from the TLS directory TestMain
		// wrote; the client listener on TLS with the node's certificate
		// (one cluster CA for nodes and clients); client authentication
		// (on by default) with one bootstrap admin token every node
		// knows, which the harness's clients present.
		"--tls-dir", tlsDir,
		"--tls-cert", filepath.Join(tlsDir, fmt.Sprintf("node-%d.crt", n.id)),
		"--tls-key", filepath.Join(tlsDir, fmt.Sprintf("node-%d.key", n.id)),
		"--tls-client-ca", filepath.Join(tlsDir, "ca.crt"),
		"--bootstrap-admin-token-file", adminTokenFile,
	}
	if n.advertise != "" {
		args = append(args, "--advertise-addr", n.advertise)
	}
	for _, j := range join {
		args = append(args, "--join", j)
	}
	return args
}

// node is one `sluice server` process and what it keeps across restarts.
type node struct {
	cluster  *cluster
	id       int32
	dir      string
	logPath  string
	httpAddr string // listen addresses, which the test's clients use
	raftAddr string
	serfAddr string
	// clusterAddr is the node-to-node API (mutual TLS): replica fetch,
	// forwarded produce, metadata proposals.
	clusterAddr string
	// advertise is the host other nodes reach this one at: the fabric's
	// address in front of it; empty when nodes talk directly.
	advertise string
	// bootstrapExpect: the first nodes form the quorum together; a node
	// added later joins it (1 with --join never bootstraps alone).
	bootstrapExpect int

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd exited
	paused  bool
	started bool // started at least once: later starts join the others
}

// cluster is a set of server processes on loopback.
type cluster struct {
	t    testing.TB
	name string
	root string
	net  *fabric // nil unless started withFabric

	mu    sync.Mutex // guards nodes (a membership fault adds and removes one)
	nodes []*node
}

// all returns the cluster's nodes.
func (c *cluster) all() []*node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*node(nil), c.nodes...)
}

func (c *cluster) add(n *node) {
	c.mu.Lock()
	c.nodes = append(c.nodes, n)
	c.mu.Unlock()
}

func (c *cluster) remove(n *node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.nodes {
		if m == n {
			c.nodes = append(c.nodes[:i], c.nodes[i+1:]...)
			return
		}
	}
}

// startCluster starts size nodes with distinct data directories and free
// loopback ports and waits until each one is healthy and the controller
// has a leader; every process is killed when the test ends. withFabric
// routes all node-to-node traffic through a fabric (Linux only) that
// network-partition faults cut.
func startCluster(t testing.TB, size int, withFabric bool) *cluster {
	t.Helper()
	if sluiceBin == "" {
		t.Skip("no sluice binary (TestMain builds it unless -short)")
	}
	c := &cluster{t: t, name: fmt.Sprintf("chaos-%d", rand.IntN(1e6)), root: t.TempDir()}
	if withFabric {
		if runtime.GOOS != "linux" {
			t.Skip("the network fabric needs Linux (127.0.0.0/8 on lo, /proc)")
		}
		c.net = newFabric(c.pids)
	}
	t.Cleanup(func() {
		for _, n := range c.all() {
			n.kill()
		}
		if c.net != nil {
			c.net.close()
		}
		if t.Failed() {
			c.dumpLogs()
		}
	})
	for range size {
		c.add(c.newNode(size))
	}
	for _, n := range c.all() {
		n.start(t)
		if n.id == 1 {
			// The first node must serve gossip before the others join it.
			waitFor(t, 30*time.Second, "node 1 gossip", func() error {
				conn, err := net.DialTimeout("tcp", n.serfAddr, time.Second)
				if err == nil {
					conn.Close()
				}
				return err
			})
		}
	}
	for _, n := range c.all() {
		c.waitHealthy(n)
	}
	return c
}

// newNode prepares (does not start) the node with the next id.
func (c *cluster) newNode(bootstrapExpect int) *node {
	t := c.t
	id := int32(1)
	for _, n := range c.all() {
		id = max(id, n.id+1)
	}
	ports := freePorts(t, 4) // http, raft, serf, cluster
	host := "127.0.0.1"
	n := &node{
		cluster:         c,
		id:              id,
		dir:             filepath.Join(c.root, fmt.Sprintf("data-%d", id)),
		logPath:         filepath.Join(c.root, fmt.Sprintf("node-%d.log", id)),
		bootstrapExpect: bootstrapExpect,
	}
	if c.net != nil {
		host, n.advertise = realHost(id), proxyHost(id)
		if err := c.net.addNode(id, ports, ports[2]); err != nil {
			t.Fatal(err)
		}
	}
	n.httpAddr = net.JoinHostPort(host, strconv.Itoa(ports[0]))
	n.raftAddr = net.JoinHostPort(host, strconv.Itoa(ports[1]))
	n.serfAddr = net.JoinHostPort(host, strconv.Itoa(ports[2]))
	n.clusterAddr = net.JoinHostPort(host, strconv.Itoa(ports[3]))
	return n
}

// joinAddrs are the serf addresses of every other node: a restarted node
// finds the cluster through whichever is up.
func (c *cluster) joinAddrs(self *node) []string {
	var out []string
	for _, n := range c.all() {
		if n != self {
			out = append(out, n.advertisedSerf())
		}
	}
	return out
}

// advertisedSerf is where other nodes reach n's gossip.
func (n *node) advertisedSerf() string {
	if n.advertise == "" {
		return n.serfAddr
	}
	_, port, _ := net.SplitHostPort(n.serfAddr)
	return net.JoinHostPort(n.advertise, port)
}

// pids maps the running node processes to their ids.
func (c *cluster) pids() map[int]int32 {
	out := map[int]int32{}
	for _, n := range c.all() {
		n.mu.Lock()
		if n.cmd != nil {
			out[n.cmd.Process.Pid] = n.id
		}
		n.mu.Unlock()
	}
	return out
}

func (n *node) start(t testing.TB) {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.upLocked() {
		t.Fatalf("node %d already running", n.id)
	}
	var join []string
	if n.id != 1 || n.started {
		join = n.cluster.joinAddrs(n)
	}
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("node %d log: %v", n.id, err)
	}
	fmt.Fprintf(logf, "=== %s start: sluice %s\n", time.Now().Format(time.StampMilli), strings.Join(serverArgs(n, join), " "))
	cmd := exec.Command(sluiceBin, serverArgs(n, join)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start node %d: %v", n.id, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	n.cmd, n.done, n.paused, n.started = cmd, done, false, true
}

// running reports whether the process is up (paused counts as up): it
// was started and has not exited (a crash at start counts as down).
func (n *node) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.upLocked()
}

func (n *node) upLocked() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

func (n *node) signal(sig syscall.Signal) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return fmt.Errorf("node %d not running", n.id)
	}
	if err := n.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v to node %d: %w", sig, n.id, err)
	}
	switch sig {
	case syscall.SIGSTOP:
		n.paused = true
	case syscall.SIGCONT:
		n.paused = false
	}
	return nil
}

// kill sends SIGKILL (after SIGCONT, so a paused process dies at once)
// and waits for the process to exit. A no-op when it is not running.
func (n *node) kill() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	n.mu.Lock()
	n.cmd, n.paused = nil, false
	n.mu.Unlock()
}

// stop sends SIGTERM and waits for a clean exit (SIGKILL after timeout).
func (n *node) stop(timeout time.Duration) {
	n.mu.Lock()
	cmd, done, paused := n.cmd, n.done, n.paused
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	if paused {
		_ = cmd.Process.Signal(syscall.SIGCONT)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(timeout):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
	n.mu.Lock()
	n.cmd, n.paused = nil, false
	n.mu.Unlock()
}

func (n *node) url() string { return "https://" + n.httpAddr }

// client returns an API client of this node with a short request timeout,
// so a paused node costs a caller seconds, not minutes. It presents the
// bootstrap admin's token and makes one attempt per call (no client
// retries): the harness records every attempt and does its own retrying,
// to a node of its choice.
func (n *node) client(timeout time.Duration) *client.Client {
	cl, err := client.New(n.url(), client.WithRequestTimeout(timeout),
		client.WithTLSConfig(clientTLS), client.WithToken(adminToken), client.WithDeliveryTimeout(0))
	if err != nil {
		panic(err) // the address is ours and well formed
	}
	return cl
}

func (c *cluster) node(id int32) *node {
	for _, n := range c.all() {
		if n.id == id {
			return n
		}
	}
	c.t.Fatalf("no node %d", id)
	return nil
}

// waitHealthy polls /healthz until the node answers 200.
func (c *cluster) waitHealthy(n *node) {
	c.t.Helper()
	waitFor(c.t, 90*time.Second, fmt.Sprintf("node %d healthy", n.id), n.healthy)
}

// healthy asks the node's /healthz once.
func (n *node) healthy() error {
	if !n.running() {
		return fmt.Errorf("node %d is down (see %s)", n.id, n.logPath)
	}
	code, body, err := n.healthz()
	if err != nil {
		return fmt.Errorf("node %d: %w", n.id, err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("node %d: healthz %d %s", n.id, code, body)
	}
	return nil
}

// healthz is one GET /healthz: the status and the body.
func (n *node) healthz() (int, string, error) {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: clientTLS, DisableKeepAlives: true}}
	resp, err := hc.Get(n.url() + "/healthz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

// live are the nodes running and not paused.
func (c *cluster) live() []*node {
	var out []*node
	for _, n := range c.all() {
		n.mu.Lock()
		if n.upLocked() && !n.paused {
			out = append(out, n)
		}
		n.mu.Unlock()
	}
	return out
}

// ask runs f against each live node in turn until one answers.
func (c *cluster) ask(f func(cl *client.Client) error) error {
	var errs []error
	for _, n := range c.live() {
		cl := n.client(3 * time.Second)
		err := f(cl)
		cl.Close()
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("node %d: %w", n.id, err))
	}
	if len(errs) == 0 {
		return errors.New("no live node")
	}
	return errors.Join(errs...)
}

// controllerLeader is the active controller according to a live node.
func (c *cluster) controllerLeader() (int32, error) {
	var id int32 = -1
	err := c.ask(func(cl *client.Client) error {
		info, err := cl.Cluster(context.Background())
		if err != nil {
			return err
		}
		if info.Controller.Leader < 0 {
			return errors.New("no active controller")
		}
		id = info.Controller.Leader
		return nil
	})
	return id, err
}

// describe returns the topic as a live node describes it.
func (c *cluster) describe(topic string) (*wire.Topic, error) {
	var out *wire.Topic
	err := c.ask(func(cl *client.Client) error {
		t, err := cl.DescribeTopic(context.Background(), topic)
		out = t
		return err
	})
	return out, err
}

// waitSettled waits until every node is healthy, the controller has a
// leader and every partition of topic has a leader and a full ISR: the
// state a fault starts from and a heal returns to.
func (c *cluster) waitSettled(topic string, timeout time.Duration) error {
	if err := poll(timeout, func() error { return c.settled(topic) }); err != nil {
		return fmt.Errorf("cluster not settled: %w", err)
	}
	return nil
}

func (c *cluster) settled(topic string) error {
	for _, n := range c.all() {
		if err := n.healthy(); err != nil {
			return err
		}
	}
	if _, err := c.controllerLeader(); err != nil {
		return err
	}
	t, err := c.describe(topic)
	if err != nil {
		return err
	}
	for _, p := range t.Partitions {
		if p.Leader < 0 || len(p.ISR) != len(p.Replicas) {
			return fmt.Errorf("partition %d: leader %d, isr %v of %v", p.Index, p.Leader, p.ISR, p.Replicas)
		}
	}
	return nil
}

// dumpLogs prints the tail of every node's log.
func (c *cluster) dumpLogs() {
	for _, n := range c.all() {
		b, err := os.ReadFile(n.logPath)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		c.t.Logf("--- node %d log (last %d lines of %s)\n%s", n.id, len(lines), n.logPath, strings.Join(lines, "\n"))
	}
}

// waitFor polls f until it succeeds or timeout passes, then fails t.
func waitFor(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	if err := poll(timeout, f); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// poll calls f every 100 ms until it succeeds or timeout passes, and
// returns its last error then.
func poll(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not after %v: %w", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Ports come from [portLow, portHigh): below Linux's ephemeral range
// (32768+), where outgoing connections cannot take them between the check
// and the server's bind, and apart from the ranges platform/testnode
// (10000-20000) and platform/controller (20000-32000) tests use, since
// test binaries of several packages run at once. Dev defaults (7946, 8080,
// 9093) lie outside it.
const portLow, portHigh = 4000, 7000

var (
	portsMu sync.Mutex
	handed  = map[int]bool{}
)

// freePorts returns n ports free for TCP and UDP right now, never handed
// out before in this process.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	var out []int
	for tries := 0; len(out) < n; tries++ {
		if tries > 2000 {
			t.Fatalf("no %d free ports in %d-%d", n, portLow, portHigh)
		}
		p := portLow + rand.IntN(portHigh-portLow)
		if handed[p] || !portFree(p) {
			continue
		}
		handed[p] = true
		out = append(out, p)
	}
	return out
}

func portFree(p int) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
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
	return true
}
