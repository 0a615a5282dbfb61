package wsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/platform/wsapi"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// readJSON reads the next text frame into a map, failing on anything else.
func readJSON(t *testing.T, ws *websocket.Conn) map[string]any {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	mt, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if mt != websocket.TextMessage {
		t.Fatalf("got a binary frame, want text")
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("frame %q: %v", data, err)
	}
	return m
}

// expectFailure reads until the error frame and the close that follows,
// and checks both name code.
func expectFailure(t *testing.T, ws *websocket.Conn, code wire.Code, closeStatus int) {
	t.Helper()
	for {
		m := readJSON(t, ws)
		if m["type"] != wire.WSError {
			continue
		}
		e := m["error"].(map[string]any)
		if e["code"] != string(code) {
			t.Fatalf("error frame %v, want code %s", m, code)
		}
		break
	}
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != closeStatus || ce.Text != string(code) {
		t.Fatalf("after the error frame: %v, want close %d %q", err, closeStatus, code)
	}
}

func TestConsumeWithoutGroupInOrderWithCredit(t *testing.T) {
	e := startEnv(t, nil)
	e.createTopic(t, "t", 3)
	e.produce(t, "t", "a", 300)
	ws := e.dial(t, "/v1/topics/t/consume?from=earliest&partitions=0,2")
	w := readJSON(t, ws)
	if w["type"] != wire.WSWelcome || w["partitions"] != 3.0 || w["format"] != "json" {
		t.Fatalf("welcome = %v", w)
	}
	a := readJSON(t, ws)
	if a["type"] != wire.WSAssigned || len(a["partitions"].([]any)) != 2 {
		t.Fatalf("assigned = %v", a)
	}
	// No credit, no records: a ping is answered, nothing else arrives.
	ws.WriteJSON(wire.WSPingMsg{Type: wire.WSPing})
	if m := readJSON(t, ws); m["type"] != wire.WSPong {
		t.Fatalf("before any credit got %v, want only a pong", m)
	}
	ws.WriteJSON(wire.WSCreditMsg{Type: wire.WSCredit, Records: 1000})
	next := map[int32]int64{0: 0, 2: 0}
	got := 0
	for got < 200 {
		m := readJSON(t, ws)
		if m["type"] != wire.WSRecords {
			continue
		}
		var rm wire.WSRecordsMsg
		b, _ := json.Marshal(m)
		json.Unmarshal(b, &rm)
		if rm.Topic != "t" || (rm.Partition != 0 && rm.Partition != 2) {
			t.Fatalf("frame for %s/%d", rm.Topic, rm.Partition)
		}
		for _, r := range rm.Records {
			if r.Offset != next[rm.Partition] || r.Partition != rm.Partition {
				t.Fatalf("partition %d: offset %d, want %d", rm.Partition, r.Offset, next[rm.Partition])
			}
			next[rm.Partition]++
			got++
		}
		if rm.NextOffset != next[rm.Partition] {
			t.Fatalf("next_offset %d, want %d", rm.NextOffset, next[rm.Partition])
		}
	}
	if got != 200 {
		t.Fatalf("got %d records from partitions 0 and 2, want 200", got)
	}
}

func TestSlowClientBoundedMemory(t *testing.T) {
	const bound = 64 << 10
	e := startEnv(t, func(c *wsapi.Config) { c.MaxBufferedBytes = bound; c.FetchMaxBytes = 16 << 10 })
	e.createTopic(t, "slow", 2)
	e.produce(t, "slow", "r", 10000)
	ws := e.dial(t, "/v1/topics/slow/consume?from=earliest&format=binary")
	readJSON(t, ws) // welcome
	readJSON(t, ws) // assigned
	next := map[int32]int64{}
	granted, got := 0, 0
	for got < 10000 {
		if got == granted {
			granted += 10
			ws.WriteJSON(wire.WSCreditMsg{Type: wire.WSCredit, Records: 10})
		}
		ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		mt, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("after %d records: %v", got, err)
		}
		if mt != websocket.BinaryMessage {
			continue
		}
		fb, err := wire.DecodeFetchBatch(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range fb.Records {
			if r.Offset != next[fb.Partition] {
				t.Fatalf("partition %d: offset %d, want %d", fb.Partition, r.Offset, next[fb.Partition])
			}
			next[fb.Partition]++
		}
		got += len(fb.Records)
		if got > granted {
			t.Fatalf("server sent %d records with %d credit", got, granted)
		}
	}
	var stats []wsapi.ConnStats
	eventually(t, 10*time.Second, "the server counts 10000 records sent", func() bool {
		stats = e.h.Stats()
		return len(stats) == 1 && stats[0].RecordsSent == 10000
	})
	// The bound may be passed by one record per partition (a fetch always
	// returns a whole record); records here are ~10 bytes.
	limit := int64(bound + 2*(wsapi.RecordOverhead+16))
	if s := stats[0]; s.PeakBufferedBytes > limit || s.PeakBufferedBytes == 0 || s.RecordsSent != 10000 {
		t.Fatalf("stats = %+v, want peak buffered <= %d", s, limit)
	}
	t.Logf("peak buffered %d bytes (bound %d) for a backlog of 10000 records", stats[0].PeakBufferedBytes, bound)
}

func TestBadInput(t *testing.T) {
	e := startEnv(t, nil)
	e.createTopic(t, "t", 2)
	cases := []struct {
		name   string
		path   string
		send   func(ws *websocket.Conn)
		code   wire.Code
		status int
	}{
		{"unknown topic", "/v1/topics/nope/consume", nil, wire.CodeUnknownTopic, websocket.ClosePolicyViolation},
		{"unknown processor", "/v1/topics/t/consume?processor=nope", nil, wire.CodeUnknownPlugin, websocket.ClosePolicyViolation},
		{"bad from", "/v1/topics/t/consume?from=yesterday", nil, wire.CodeInvalidRequest, websocket.ClosePolicyViolation},
		{"bad format", "/v1/topics/t/consume?format=xml", nil, wire.CodeInvalidRequest, websocket.ClosePolicyViolation},
		{"unknown parameter", "/v1/topics/t/consume?colour=red", nil, wire.CodeInvalidRequest, websocket.ClosePolicyViolation},
		{"partition out of range", "/v1/topics/t/consume?partitions=5", nil, wire.CodeInvalidRequest, websocket.ClosePolicyViolation},
		{"unknown assignor", "/v1/topics/t/consume?group=g&assignor=fair", nil, wire.CodeInvalidRequest, websocket.ClosePolicyViolation},
		{"not json", "/v1/topics/t/consume", func(ws *websocket.Conn) {
			ws.WriteMessage(websocket.TextMessage, []byte("credit please"))
		}, wire.CodeInvalidRequest, websocket.CloseUnsupportedData},
		{"wrong field type", "/v1/topics/t/consume", func(ws *websocket.Conn) {
			ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"credit","records":"ten"}`))
		}, wire.CodeInvalidRequest, websocket.CloseUnsupportedData},
		{"negative credit", "/v1/topics/t/consume", func(ws *websocket.Conn) {
			ws.WriteJSON(wire.WSCreditMsg{Type: wire.WSCredit, Records: -5})
		}, wire.CodeInvalidRequest, websocket.CloseUnsupportedData},
		{"unknown message type", "/v1/topics/t/consume", func(ws *websocket.Conn) {
			ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe"}`))
		}, wire.CodeInvalidRequest, websocket.CloseUnsupportedData},
		{"garbage binary frame", "/v1/topics/t/consume", func(ws *websocket.Conn) {
			ws.WriteMessage(websocket.BinaryMessage, []byte{0xde, 0xad, 0xbe, 0xef})
		}, wire.CodeInvalidRequest, websocket.CloseUnsupportedData},
		{"produce: unknown topic", "/v1/topics/nope/produce", nil, wire.CodeUnknownTopic, websocket.ClosePolicyViolation},
		{"produce: bad acks", "/v1/topics/t/produce?acks=2", nil, wire.CodeInvalidRequest, websocket.ClosePolicyViolation},
		{"produce: garbage binary frame", "/v1/topics/t/produce", func(ws *websocket.Conn) {
			ws.WriteMessage(websocket.BinaryMessage, []byte{0xff, 0xff, 0xff})
		}, wire.CodeInvalidRequest, websocket.CloseUnsupportedData},
		{"produce: not json", "/v1/topics/t/produce", func(ws *websocket.Conn) {
			ws.WriteMessage(websocket.TextMessage, []byte("{"))
		}, wire.CodeInvalidRequest, websocket.CloseUnsupportedData},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws := e.dial(t, tc.path)
			if tc.send != nil {
				tc.send(ws)
			}
			expectFailure(t, ws, tc.code, tc.status)
		})
	}

	t.Run("processor failure", func(t *testing.T) {
		e.uploadWasm(t, "trap", watWasm(t, "trap-processor"))
		e.produce(t, "t", "x", 10)
		ws := e.dial(t, "/v1/topics/t/consume?from=earliest&processor=trap")
		ws.WriteJSON(wire.WSCreditMsg{Type: wire.WSCredit, Records: 10})
		expectFailure(t, ws, wire.CodePluginFailed, websocket.CloseInternalServerErr)
	})

	t.Run("client that sends nothing", func(t *testing.T) {
		// The client never reads, so it never answers the server's pings.
		ws := e.dial(t, "/v1/topics/t/consume?group=silent")
		ws.SetPingHandler(func(string) error { return nil }) // too late to answer
		eventually(t, 10*time.Second, "the server drops the silent connection", func() bool {
			return len(e.h.Stats()) == 0
		})
		expectFailure(t, ws, wire.CodeIdleTimeout, websocket.ClosePolicyViolation)
	})

	t.Run("plain HTTP request", func(t *testing.T) {
		_, err := e.cl.DescribeGroup(context.Background(), "nobody")
		if err == nil {
			t.Fatal("describe of an unknown group succeeded")
		}
		resp, err := e.srv.Client().Get(e.srv.URL + "/v1/topics/t/consume")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("GET without upgrade: %d, want 400", resp.StatusCode)
		}
	})
	// A connection is unregistered by its handler goroutine after the
	// close handshake, which the client does not wait for: wait for the
	// server to finish, rather than racing it.
	eventually(t, 10*time.Second, "every connection unregistered", func() bool {
		return len(e.h.Stats()) == 0
	})
	_ = fmt.Sprint
}

// countRecordsUntilPong sends a ping and counts the records that arrive
// before its pong (the server answers pings in order with what it sent).
func countRecordsUntilPong(t *testing.T, ws *websocket.Conn) (n int, first int64) {
	t.Helper()
	ws.WriteJSON(wire.WSPingMsg{Type: wire.WSPing})
	first = -1
	for {
		m := readJSON(t, ws)
		switch m["type"] {
		case wire.WSPong:
			return n, first
		case wire.WSRecords:
			for _, r := range m["records"].([]any) {
				if first < 0 {
					first = int64(r.(map[string]any)["offset"].(float64))
				}
				n++
			}
		}
	}
}

func TestByteCreditAndStartOffsets(t *testing.T) {
	e := startEnv(t, nil)
	e.createTopic(t, "b", 1)
	value := strings.Repeat("x", 1000)
	bw := wsapi.FromBroker(e.node.Broker())
	var recs []record.Record
	for range 10 {
		recs = append(recs, record.Record{Value: []byte(value)})
	}
	if _, err := bw.Produce(context.Background(), "b", recs, "1"); err != nil {
		t.Fatal(err)
	}
	ws := e.dial(t, "/v1/topics/b/consume?from=0:2")
	readJSON(t, ws) // welcome
	var as wire.WSAssignedMsg
	next(t, ws, wire.WSAssigned, &as)
	if len(as.Partitions) != 1 || as.Partitions[0].Offset != 2 {
		t.Fatalf("assigned %+v, want partition 0 from offset 2", as)
	}
	// 2,500 bytes of credit: records go while the byte credit is positive,
	// so three 1,000-byte records arrive and no more.
	ws.WriteJSON(wire.WSCreditMsg{Type: wire.WSCredit, Records: 100, Bytes: 2500})
	total := 0
	eventually(t, 10*time.Second, "three records arrive", func() bool {
		n, _ := countRecordsUntilPong(t, ws)
		total += n
		return total >= 3
	})
	if n, _ := countRecordsUntilPong(t, ws); total != 3 || n != 0 {
		t.Fatalf("got %d then %d records with 2,500 bytes of credit, want 3 then 0", total, n)
	}
	// The credit is now -500: 1,000 more bytes allow exactly one record.
	ws.WriteJSON(wire.WSCreditMsg{Type: wire.WSCredit, Bytes: 1000})
	total = 0
	eventually(t, 10*time.Second, "one more record", func() bool {
		n, _ := countRecordsUntilPong(t, ws)
		total += n
		return total >= 1
	})
	if n, _ := countRecordsUntilPong(t, ws); total != 1 || n != 0 {
		t.Fatalf("got %d then %d records for 1,000 more bytes, want 1 then 0", total, n)
	}
	// A timestamp start resolves through the log's time index.
	ws2 := e.dial(t, "/v1/topics/b/consume?from=@99999999999999")
	readJSON(t, ws2)
	var as2 wire.WSAssignedMsg
	next(t, ws2, wire.WSAssigned, &as2)
	if as2.Partitions[0].Offset != 10 {
		t.Fatalf("from a future time: start %d, want the end (10)", as2.Partitions[0].Offset)
	}
}
