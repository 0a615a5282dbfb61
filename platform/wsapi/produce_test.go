package wsapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/platform/wsapi"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

func TestProducePipelinedInOrder(t *testing.T) {
	e := startEnv(t, nil)
	e.createTopic(t, "p", 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pr, err := e.cl.ProduceWS(ctx, client.WSProducerConfig{Topic: "p", Acks: "1", MaxInFlight: 16})
	if err != nil {
		t.Fatal(err)
	}
	// 200 batches of 10 keyed records, pipelined; offsets per key must
	// grow in the order sent.
	var mu sync.Mutex
	var errs []error
	last := map[string]int64{}
	order := []int{}
	var wg sync.WaitGroup
	for i := range 200 {
		recs := make([]wire.Record, 10)
		for j := range recs {
			recs[j] = wire.Record{Key: []byte(fmt.Sprintf("k%d", j%4)), Value: fmt.Appendf(nil, "%d-%d", i, j)}
		}
		wg.Add(1)
		err := pr.SendAsync(ctx, recs, func(res []wire.ProduceResult, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			order = append(order, i)
			if err != nil {
				errs = append(errs, err)
				return
			}
			for j, r := range res {
				key := fmt.Sprintf("k%d", j%4)
				if r.Error != nil {
					errs = append(errs, r.Error)
				} else if prev, ok := last[key]; ok && r.Offset <= prev {
					errs = append(errs, fmt.Errorf("key %s went to offset %d after %d", key, r.Offset, prev))
				} else {
					last[key] = r.Offset
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d errors, first: %v", len(errs), errs[0])
	}
	for i, n := range order {
		if n != i {
			t.Fatalf("answers out of order: %v", order[:i+1])
		}
	}
	if err := pr.Close(); err != nil {
		t.Fatal(err)
	}
	// An empty batch gets an error answer; the connection stays up.
	pr2, err := e.cl.ProduceWS(ctx, client.WSProducerConfig{Topic: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pr2.Send(ctx, nil); err == nil {
		t.Fatal("empty batch accepted")
	}
	if res, err := pr2.Send(ctx, []wire.Record{{Value: []byte("after")}}); err != nil || len(res) != 1 || res[0].Error != nil {
		t.Fatalf("send after a refused batch: %+v, %v", res, err)
	}
	pr2.Close()
}

// TestProduceBackpressure sends many batches without reading the answers:
// the server never holds more than its in-flight limit, answers all of them
// in order once the client reads, and stops reading meanwhile.
func TestProduceBackpressure(t *testing.T) {
	const limit = 4
	// The broker holds every produce until the server has taken in its
	// limit: without the gate a fast broker answers before batches pile up.
	gate := make(chan struct{})
	e := startEnv(t, func(c *wsapi.Config) {
		c.ProduceMaxInFlight = limit
		c.Broker = gatedBroker{Broker: c.Broker, gate: gate}
	})
	e.createTopic(t, "bp", 1)
	ws := e.dial(t, "/v1/topics/bp/produce?acks=1")
	const batches = 300
	done := make(chan error, 1)
	go func() {
		for i := 1; i <= batches; i++ {
			rec := wire.NewProduceRecord(wire.Record{Value: make([]byte, 4096)})
			if err := ws.WriteJSON(wire.WSProduceMsg{Type: wire.WSProduce, Seq: int64(i), Records: []wire.ProduceRecord{rec}}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	eventually(t, 10*time.Second, "the server reaches its in-flight limit", func() bool {
		s := e.h.Stats()
		return len(s) == 1 && s[0].PeakInFlight >= limit
	})
	close(gate)
	for i := 1; i <= batches; i++ {
		ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		var ack wire.WSAckMsg
		if err := json.Unmarshal(data, &ack); err != nil || ack.Type != wire.WSAck || ack.Seq != int64(i) || ack.Error != nil {
			t.Fatalf("answer %d = %s (%v)", i, data, err)
		}
		if ack.Results[0].Offset != int64(i-1) {
			t.Fatalf("batch %d at offset %d", i, ack.Results[0].Offset)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := e.h.Stats(); len(s) != 1 || s[0].PeakInFlight > limit || s[0].RecordsProduced != batches {
		t.Fatalf("stats = %+v, want peak in flight <= %d", s, limit)
	}
	ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
}

// gatedBroker holds produce calls until gate is closed (fault injection:
// a stalled broker).
type gatedBroker struct {
	wsapi.Broker
	gate chan struct{}
}

func (g gatedBroker) Produce(ctx context.Context, topic string, recs []record.Record, acks string) ([]wsapi.ProduceResult, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Broker.Produce(ctx, topic, recs, acks)
}
