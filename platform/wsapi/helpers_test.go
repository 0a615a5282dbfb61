package wsapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/internal/testtool"
	"github.com/sluicehq/sluice/platform/groups"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/platform/wsapi"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/client"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cleanupBuilds()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// Timings short enough for fast tests, long enough for a loaded 2-core CI.
const (
	sessionTimeout = 1500 * time.Millisecond
	// pingInterval is how often the server pings; every pong renews a
	// member's session.
	pingInterval     = 200 * time.Millisecond
	rebalanceTimeout = 10 * time.Second
)

// env is a real node (raft controller, broker on bbolt) with the group
// coordinator and the WebSocket handler served on a real HTTP listener.
type env struct {
	node  *testnode.Node
	host  *plugins.Host
	coord *groups.Coordinator
	h     *wsapi.Handler
	srv   *httptest.Server
	cl    *client.Client
	mod   func(*wsapi.Config)
}

func startEnv(t *testing.T, mod func(*wsapi.Config)) *env { return startEnvMod(t, mod) }

// startEnvTB starts an env with the default configuration, for benchmarks.
func startEnvTB(tb testing.TB) *env { return startEnvMod(tb, nil) }

func startEnvMod(t testing.TB, mod func(*wsapi.Config)) *env {
	t.Helper()
	e := &env{node: testnode.Start(t), mod: mod}
	host, err := plugins.NewHost(context.Background(), plugins.Config{
		CacheDir: filepath.Join(t.TempDir(), "plugin-cache"), Logger: quiet(),
		// Go-built modules start slowly under -race on a busy machine.
		InstantiateTimeout: time.Minute,
		DefaultLimits:      plugins.Limits{CallTimeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.host = host
	e.up(t)
	t.Cleanup(func() {
		e.down()
		host.Close(context.Background())
	})
	return e
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (e *env) up(t testing.TB) {
	t.Helper()
	n := e.node
	coord, err := groups.NewCoordinator(groups.Config{
		Log:               groups.BrokerLog(n.Broker(), n.Controller()),
		Logger:            quiet(),
		SessionTimeout:    sessionTimeout,
		MinSessionTimeout: 100 * time.Millisecond,
		RebalanceTimeout:  rebalanceTimeout,
		LoadRetry:         20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := wsapi.Config{
		Broker:       wsapi.FromBroker(n.Broker()),
		Groups:       coord,
		Processors:   wsapi.PluginProcessors(e.host, n.Controller().Metadata),
		NodeID:       n.ID(),
		Logger:       quiet(),
		PingInterval: pingInterval,
		IdleTimeout:  time.Second,
		FetchMaxWait: 200 * time.Millisecond,
		CloseGrace:   300 * time.Millisecond,
		WriteTimeout: rebalanceTimeout / 3, // the invariant: RebalanceTimeout > 2 × WriteTimeout
	}
	if e.mod != nil {
		e.mod(&cfg)
	}
	h, err := wsapi.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	e.coord, e.h = coord, h
	e.srv = httptest.NewServer(mux)
	if e.cl, err = client.New(e.srv.URL); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	select {
	case <-coord.Ready():
	case <-ctx.Done():
		t.Fatal("coordinator did not load __consumer_offsets")
	}
}

func (e *env) down() {
	if e.h == nil {
		return
	}
	e.h.Close()
	e.srv.Close()
	e.coord.Close()
	e.cl.Close()
	e.h = nil
}

// restart stops the handler, coordinator and node, and starts them again
// on the same data.
func (e *env) restart(t *testing.T) {
	t.Helper()
	e.down()
	e.node.Restart(t)
	e.up(t)
}

// createTopic creates a topic and waits until the broker serves it.
func (e *env) createTopic(t testing.TB, name string, partitions int) {
	t.Helper()
	e.createTopicConfig(t, name, partitions, nil)
}

// createTopicConfig is createTopic with topic settings.
func (e *env) createTopicConfig(t testing.TB, name string, partitions int, config map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := e.node.Controller().CreateTopic(ctx, meta.CreateTopic{Name: name, Partitions: partitions, Config: config}); err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	for p := int32(0); p < int32(partitions); p++ {
		eventually(t, 20*time.Second, fmt.Sprintf("broker serves %s/%d", name, p), func() bool {
			_, err := e.node.Broker().ListOffset(ctx, name, p, -1)
			return err == nil
		})
	}
}

// produce appends n records with values prefix-i, round-robin over
// partitions, and returns them in the order given.
func (e *env) produce(t *testing.T, topic, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	b := wsapi.FromBroker(e.node.Broker())
	for i := 0; i < n; {
		batch := make([]record.Record, 0, 500)
		for ; i < n && len(batch) < 500; i++ {
			batch = append(batch, record.Record{Value: fmt.Appendf(nil, "%s-%d", prefix, i)})
		}
		res, err := b.Produce(ctx, topic, batch, "1")
		if err != nil {
			t.Fatalf("produce: %v", err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("produce: %v", r.Err)
			}
		}
	}
}

// uploadWasm registers a processor module under name.
func (e *env) uploadWasm(t *testing.T, name string, wasm []byte) { e.uploadWasmTB(t, name, wasm) }

func (e *env) uploadWasmTB(t testing.TB, name string, wasm []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := e.host.Validate(ctx, wasm, plugins.KindProcessor); err != nil {
		t.Fatalf("validate %s: %v", name, err)
	}
	if _, err := e.node.Controller().UploadPlugin(ctx, meta.UploadPlugin{Name: name, Kind: "processor", Wasm: wasm}); err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
}

// wsURL is the ws:// URL of a path on the test server.
func (e *env) wsURL(path string) string { return "ws" + strings.TrimPrefix(e.srv.URL, "http") + path }

// dial opens a raw WebSocket (for protocol-level tests).
func (e *env) dial(t *testing.T, path string) *websocket.Conn {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(e.wsURL(path), nil)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", path, err, resp)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// eventually polls cond every 10ms until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// killableDialer records the TCP connections it makes so a test can cut
// them without a WebSocket close (an abrupt disconnect).
type killableDialer struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (k *killableDialer) dialer() *websocket.Dialer {
	return &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			k.mu.Lock()
			k.conns = append(k.conns, c)
			k.mu.Unlock()
		}
		return c, err
	}}
}

func (k *killableDialer) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, c := range k.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // RST, not FIN
		}
		c.Close()
	}
}

// Wasm builds, once per test binary.
var builds struct {
	mu  sync.Mutex
	dir string
	m   map[string][]byte
}

func cleanupBuilds() {
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
}

// watWasm assembles testdata/NAME.wat with wat2wasm (skips without it).
func watWasm(t *testing.T, name string) []byte { return watWasmTB(t, name) }

func watWasmTB(t testing.TB, name string) []byte {
	t.Helper()
	testtool.Need(t, testtool.WAT2Wasm)
	return build(t, name, func(out string) *exec.Cmd {
		return exec.Command("wat2wasm", "-o", out, filepath.Join("testdata", name+".wat"))
	})
}

func build(t testing.TB, name string, cmd func(out string) *exec.Cmd) []byte {
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if b, ok := builds.m[name]; ok {
		return b
	}
	if builds.dir == "" {
		d, err := os.MkdirTemp("", "sluice-wsapi-wasm-")
		if err != nil {
			t.Fatal(err)
		}
		builds.dir, builds.m = d, map[string][]byte{}
	}
	out := filepath.Join(builds.dir, name+".wasm")
	if b, err := cmd(out).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	builds.m[name] = b
	return b
}
