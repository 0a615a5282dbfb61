package wsapi_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/platform/wsapi"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// gate stalls the server's writes on the connections it accepted (the
// fault: a client whose network stops draining), and tells the test when
// a write is waiting.
type gate struct {
	mu      sync.Mutex
	open    chan struct{} // nil while writes flow; closed to release them
	waiting chan struct{}
}

func (g *gate) stall() {
	g.mu.Lock()
	g.open = make(chan struct{})
	g.mu.Unlock()
}

func (g *gate) release() {
	g.mu.Lock()
	if g.open != nil {
		close(g.open)
		g.open = nil
	}
	g.mu.Unlock()
}

func (g *gate) wait() {
	g.mu.Lock()
	ch := g.open
	g.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case g.waiting <- struct{}{}:
	default:
	}
	<-ch
}

type gatedListener struct {
	net.Listener
	g *gate
}

func (l gatedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return gatedConn{c, l.g}, nil
}

type gatedConn struct {
	net.Conn
	g *gate
}

func (c gatedConn) Write(b []byte) (int, error) {
	c.g.wait()
	return c.Conn.Write(b)
}

// TestRevocationBetweenFrames: a member whose socket stalls while the
// server sends it a run of frames is revoked a partition meanwhile. The
// fault: the client stops draining its socket. The guarantee: once the
// frame in flight is written, the server sends `revoked` next, not the
// rest of the revoked partition's buffered records (which a pump of many
// frames used to send first, each write blocking up to WriteTimeout while
// the partition could already move).
func TestRevocationBetweenFrames(t *testing.T) {
	e := startEnv(t, func(c *wsapi.Config) {
		c.MaxFrameRecords = 1 // a run of many frames per pump
		c.IdleTimeout = 20 * time.Second
	})
	e.createTopic(t, "rv", 2)
	e.produce(t, "rv", "r", 200)

	g := &gate{waiting: make(chan struct{}, 1)}
	mux := http.NewServeMux()
	e.h.Register(mux)
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = gatedListener{srv.Listener, g}
	srv.Start()
	t.Cleanup(func() { g.release(); srv.Close() })

	u := "ws" + srv.URL[len("http"):] + "/v1/topics/rv/consume?group=rg&from=earliest&session_timeout_ms=20000"
	ws, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	readJSON(t, ws) // welcome
	var assigned wire.WSAssignedMsg
	if err := json.Unmarshal(readFrame(t, ws), &assigned); err != nil || len(assigned.Partitions) != 2 {
		t.Fatalf("assigned = %+v, %v", assigned, err)
	}
	// Both partitions fetched and buffered (no fetch reservation left).
	eventually(t, 10*time.Second, "both partitions are buffered", func() bool {
		for _, s := range e.h.Stats() {
			if s.Topic == "rv" && s.BufferedBytes > 0 && s.BufferedBytes < 1<<20 {
				return true
			}
		}
		return false
	})

	g.stall()
	if err := ws.WriteJSON(wire.WSCreditMsg{Type: wire.WSCredit, Records: 1000}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.waiting: // the server is stuck writing the first records frame
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not start writing records")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := e.cl.ConsumeWS(ctx, client.WSConsumerConfig{Topic: "rv", Group: "rg"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// B's join queued a revocation on A's member; now let A's socket drain.
	g.release()

	perPart := map[int32]int{}
	for {
		raw := readFrame(t, ws)
		typ, _ := wire.DecodeWSType(raw)
		switch typ {
		case wire.WSRecords:
			var m wire.WSRecordsMsg
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			perPart[m.Partition] += len(m.Records)
			continue
		case wire.WSRevoked:
			var m wire.WSRevokedMsg
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Partitions {
				// At most the frame in flight when the join happened.
				if perPart[p] > 1 {
					t.Fatalf("%d records of partition %d sent before its revocation (%v); want at most the one frame in flight", perPart[p], p, perPart)
				}
			}
			return
		}
	}
}

// readFrame reads one text frame (records are JSON on this connection).
func readFrame(t *testing.T, ws *websocket.Conn) []byte {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return data
}
