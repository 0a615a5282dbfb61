package wsapi_test

import (
	"encoding/json"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/sluicehq/sluice/sdk/wire"
)

// On an idempotent connection a batch sent twice with the same seq is
// written once: the second answer carries the first one's offsets, also
// on a new connection of the same producer. Bad producer parameters end
// the connection with invalid_request.
func TestIdempotentProduceConnection(t *testing.T) {
	e := startEnv(t, nil)
	e.createTopic(t, "i", 3)
	send := func(ws *websocket.Conn, seq int64, values ...string) wire.WSAckMsg {
		t.Helper()
		m := wire.WSProduceMsg{Type: wire.WSProduce, Seq: seq}
		for _, v := range values {
			m.Records = append(m.Records, wire.ProduceRecord{Value: v})
		}
		if err := ws.WriteJSON(m); err != nil {
			t.Fatal(err)
		}
		var ack wire.WSAckMsg
		if err := ws.ReadJSON(&ack); err != nil {
			t.Fatal(err)
		}
		if ack.Type != wire.WSAck || ack.Seq != seq {
			t.Fatalf("answer %+v to batch %d", ack, seq)
		}
		return ack
	}
	path := "/v1/topics/i/produce?producer_id=4242&producer_epoch=0"
	ws := e.dial(t, path)
	first := send(ws, 0, "a", "b", "c")
	if first.Error != nil {
		t.Fatal(first.Error)
	}
	again := send(ws, 0, "a", "b", "c")
	ws.Close()
	ws2 := e.dial(t, path)
	third := send(ws2, 0, "a", "b", "c")
	for i := range first.Results {
		if first.Results[i].Error != nil || again.Results[i] != first.Results[i] || third.Results[i] != first.Results[i] {
			t.Fatalf("record %d: %+v, %+v, %+v", i, first.Results[i], again.Results[i], third.Results[i])
		}
	}
	if next := send(ws2, 3, "d"); next.Error != nil || next.Results[0].Error != nil {
		t.Fatalf("next batch: %+v", next)
	}
	if neg := send(ws2, -1, "e"); neg.Error == nil || neg.Error.Code != wire.CodeInvalidRequest {
		t.Fatalf("negative seq: %+v", neg)
	}
	total := int64(0)
	for p := range int32(3) {
		end, err := e.node.Broker().ListOffset(t.Context(), "i", p, -1)
		if err != nil {
			t.Fatal(err)
		}
		total += end
	}
	if total != 4 {
		t.Fatalf("%d records stored, want 4", total)
	}

	for _, q := range []string{"producer_epoch=1", "producer_id=-4", "producer_id=1&producer_epoch=99999"} {
		ws := e.dial(t, "/v1/topics/i/produce?"+q)
		_, data, err := ws.ReadMessage()
		var m wire.WSErrorMsg
		if err != nil || json.Unmarshal(data, &m) != nil || m.Error == nil || m.Error.Code != wire.CodeInvalidRequest {
			t.Errorf("%s: %s %v", q, data, err)
		}
	}
}
