package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/sdk/wire"
)

// limitsWait bounds every poll of these tests.
const limitsWait = 60 * time.Second

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limitsWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v", what, limitsWait)
		}
		time.Sleep(10 * time.Millisecond) // poll interval, not synchronisation
	}
}

type limitsAPI struct {
	*apiClient
	srv  *Server
	addr string
}

// startLimitedAPI serves the API on a real loopback listener with its
// http.Server configured by ConfigureHTTPServer, as a node does.
func startLimitedAPI(t *testing.T, limits Limits, extra func(*Server)) *limitsAPI {
	t.Helper()
	ctl := newMemController(t)
	b, err := broker.Start(context.Background(), broker.Config{NodeID: 1, DataDir: t.TempDir(), Metadata: ctl, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{NodeID: 1, Broker: b, Admin: ctl, Metadata: ctl.Metadata, Logger: quiet, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	if extra != nil {
		extra(srv)
	}
	hs := httptest.NewUnstartedServer(srv)
	srv.ConfigureHTTPServer(hs.Config)
	hs.Start()
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		b.Close()
	})
	c := &limitsAPI{apiClient: &apiClient{t: t, url: hs.URL}, srv: srv, addr: hs.Listener.Addr().String()}
	c.createTopic("t", 1, nil)
	return c
}

// rawRequest opens a connection and sends a request's head announcing
// length body bytes, and the first bytes of the body.
func (c *limitsAPI) rawRequest(path string, length int, first []byte) net.Conn {
	c.t.Helper()
	conn, err := net.Dial("tcp", c.addr)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { conn.Close() })
	// Host names the node: the DNS-rebinding guard refuses other names.
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, c.addr, length)
	if _, err := conn.Write(append([]byte(head), first...)); err != nil {
		c.t.Fatal(err)
	}
	return conn
}

// readAnswer reads one HTTP answer from conn and its API error code.
func readAnswer(t *testing.T, conn net.Conn) (*http.Response, wire.Code) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(limitsWait))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var er wire.ErrorResponse
	if json.Unmarshal(raw, &er) == nil && er.Error != nil {
		return resp, er.Error.Code
	}
	return resp, ""
}

func (c *limitsAPI) healthy() {
	c.t.Helper()
	var h wire.Health
	if st, raw := c.do("GET", "/healthz", "", nil, &h); st != 200 || h.Status != HealthOK {
		c.t.Fatalf("healthz after the attack: %d %s", st, raw)
	}
	if st, raw := c.do("POST", "/v1/topics/t/records", "", []byte(`{"records":[{"value":"ok"}]}`), nil); st != 200 {
		c.t.Fatalf("produce after the attack: %d %s", st, raw)
	}
}

// A body trickling a byte at a time is cut off by the body deadline with
// 408 request_timeout and its connection closed; the node keeps serving.
func TestSlowBodyIsCutOffByTheDeadline(t *testing.T) {
	c := startLimitedAPI(t, Limits{BodyReadTimeout: 300 * time.Millisecond}, nil)
	body := []byte(`{"records":[{"value":"slow"}]}`)
	conn := c.rawRequest("/v1/topics/t/records", len(body), body[:1])
	stop := make(chan struct{})
	trickled := make(chan struct{})
	go func() {
		defer close(trickled)
		for _, b := range body[1:] {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{b}); err != nil {
				return // the server closed the connection
			}
		}
	}()
	resp, code := readAnswer(t, conn)
	close(stop)
	<-trickled
	if resp.StatusCode != http.StatusRequestTimeout || code != wire.CodeRequestTimeout {
		t.Fatalf("answer %d %s, want 408 request_timeout", resp.StatusCode, code)
	}
	// The server closes the connection: the rest of the body is not read.
	_ = conn.SetReadDeadline(time.Now().Add(limitsWait))
	if n, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatalf("connection still open after the timeout (read %d bytes)", n)
	}
	c.healthy()
	if n := c.srv.InFlightBodyBytes(); n != 0 {
		t.Fatalf("%d body bytes still counted in flight", n)
	}
	c.wantMetric(`sluice_http_body_refusals_total{reason="timeout"} 1`)
}

func (c *limitsAPI) wantMetric(line string) {
	c.t.Helper()
	_, raw := c.do("GET", "/metrics", "", nil, nil)
	if !strings.Contains(string(raw), line) {
		c.t.Fatalf("/metrics lacks %s", line)
	}
}

// Connections announcing 64 MiB bodies and sending nothing cost no 64 MiB
// allocation each (the body buffer grows as bytes arrive) and time out.
func TestAnnouncedButAbsentBodiesAllocateNothing(t *testing.T) {
	const conns, announced = 8, 64 << 20
	c := startLimitedAPI(t, Limits{BodyReadTimeout: 500 * time.Millisecond}, nil)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var cs []net.Conn
	for range conns {
		cs = append(cs, c.rawRequest("/v1/topics/t/records", announced, nil))
	}
	for _, conn := range cs {
		resp, code := readAnswer(t, conn)
		if resp.StatusCode != http.StatusRequestTimeout || code != wire.CodeRequestTimeout {
			t.Fatalf("answer %d %s, want 408 request_timeout", resp.StatusCode, code)
		}
	}
	runtime.ReadMemStats(&after)
	// TotalAlloc counts every allocation in the process meanwhile: a
	// single body pre-allocated from its Content-Length would pass this.
	if grew := after.TotalAlloc - before.TotalAlloc; grew >= announced {
		t.Fatalf("%d connections announcing %d bytes allocated %d bytes", conns, announced, grew)
	} else {
		t.Logf("%d connections announcing %d MiB each: %d KiB allocated in the process", conns, announced>>20, grew>>10)
	}
	c.healthy()
}

// Body bytes in flight are capped node-wide: while one request holds most
// of the budget, another whose body does not fit is refused with 503
// overloaded and Retry-After; the first completes, and the budget is
// given back.
func TestInFlightBodyBytesAreCapped(t *testing.T) {
	const budget = 1 << 20
	c := startLimitedAPI(t, Limits{MaxInFlightBodyBytes: budget}, nil)
	// Request A: a valid produce body padded with spaces, 900 KiB of
	// which are sent now and the rest later.
	value := `{"records":[{"value":"a"}]}`
	bodyA := append([]byte(value), bytes.Repeat([]byte(" "), 1000<<10-len(value))...)
	held := 900 << 10
	connA := c.rawRequest("/v1/topics/t/records", len(bodyA), bodyA[:held])
	waitFor(t, "request A's bytes counted", func() bool { return c.srv.InFlightBodyBytes() >= int64(held) })

	bodyB := append([]byte(value), bytes.Repeat([]byte(" "), 300<<10)...)
	connB := c.rawRequest("/v1/topics/t/records", len(bodyB), bodyB)
	resp, code := readAnswer(t, connB)
	if resp.StatusCode != http.StatusServiceUnavailable || code != wire.CodeOverloaded || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("request B: %d %s (Retry-After %q), want 503 overloaded with Retry-After", resp.StatusCode, code, resp.Header.Get("Retry-After"))
	}

	if _, err := connA.Write(bodyA[held:]); err != nil {
		t.Fatal(err)
	}
	if resp, code := readAnswer(t, connA); resp.StatusCode != 200 {
		t.Fatalf("request A: %d %s, want 200", resp.StatusCode, code)
	}
	waitFor(t, "budget given back", func() bool { return c.srv.InFlightBodyBytes() == 0 })
	c.wantMetric(`sluice_http_body_refusals_total{reason="overloaded"} 1`)
	c.wantMetric(`sluice_http_inflight_body_bytes 0`)
	c.healthy()
}

// The body deadline ends with the body: a handler that waits after reading
// its body (as a replica fetch long-polls) is not cancelled by it.
func TestBodyDeadlineEndsWithTheBody(t *testing.T) {
	const timeout = 200 * time.Millisecond
	// A route of the test's own needs an access rule like any other.
	routeAccess["POST /test/wait"] = access{public: true}
	t.Cleanup(func() { delete(routeAccess, "POST /test/wait") })
	c := startLimitedAPI(t, Limits{BodyReadTimeout: timeout}, func(s *Server) {
		s.HandleFunc("POST /test/wait", func(w http.ResponseWriter, r *http.Request) {
			var v map[string]any
			if err := readJSON(w, r, 1<<20, &v); err != nil {
				s.writeError(w, r, err)
				return
			}
			select {
			case <-r.Context().Done():
				s.writeError(w, r, fmt.Errorf("request cancelled while waiting: %w", r.Context().Err()))
			case <-time.After(5 * timeout):
				writeJSON(w, http.StatusOK, map[string]string{"waited": "yes"})
			}
		})
	})
	conn := c.rawRequest("/test/wait", 2, []byte("{}"))
	if resp, code := readAnswer(t, conn); resp.StatusCode != 200 {
		t.Fatalf("answer %d %s, want 200: the deadline outlived the body", resp.StatusCode, code)
	}
	// The same connection serves a second request (keep-alive intact).
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: " + c.addr + "\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if resp, _ := readAnswer(t, conn); resp.StatusCode != 200 {
		t.Fatalf("second request on the connection: %d", resp.StatusCode)
	}
}

func TestServerTimeoutsConfigured(t *testing.T) {
	srv, err := New(Config{Metadata: newMemController(t).Metadata, Limits: Limits{MaxHeaderBytes: 4096}})
	if err != nil {
		t.Fatal(err)
	}
	var hs http.Server
	srv.ConfigureHTTPServer(&hs)
	if hs.ReadHeaderTimeout != DefaultReadHeaderTimeout || hs.IdleTimeout != DefaultIdleTimeout || hs.MaxHeaderBytes != 4096 {
		t.Fatalf("server limits %v %v %d", hs.ReadHeaderTimeout, hs.IdleTimeout, hs.MaxHeaderBytes)
	}
	if !strings.Contains(fmt.Sprint(srv.cfg.Limits.BodyReadTimeout), "1m") {
		t.Fatalf("default body timeout %v", srv.cfg.Limits.BodyReadTimeout)
	}
}
