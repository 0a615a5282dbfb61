package wsapi_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/platform/wsapi"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// flatten is a Go processor in the style of the flatten example: every
// input record becomes fanOut records of outSize bytes.
type flatten struct {
	fanOut, outSize int
	calls           atomic.Int64
}

func (f *flatten) Processor(context.Context, string, int, map[string]string) (wsapi.Processor, error) {
	return f, nil
}

func (f *flatten) Process(_ context.Context, _ int32, recs []record.Record) ([]wsapi.Output, error) {
	f.calls.Add(1)
	out := make([]wsapi.Output, 0, len(recs)*f.fanOut)
	for _, r := range recs {
		for i := range f.fanOut {
			v := make([]byte, f.outSize)
			copy(v, fmt.Appendf(nil, "%d/%d", r.Offset, i))
			out = append(out, wsapi.Output{Record: record.Record{Offset: r.Offset, Timestamp: r.Timestamp, Value: v}, SourceOffset: r.Offset})
		}
	}
	return out, nil
}

// TestExpandingProcessorBoundedMemory: a processor that turns each record
// into 20 records of 1 KiB must not make a connection hold more than
// MaxBufferedBytes (plus the output of about one input record): the output
// is what is buffered, so a fetch's records are processed in pieces. Every
// output still arrives exactly once, in order.
func TestExpandingProcessorBoundedMemory(t *testing.T) {
	const (
		bound   = 64 << 10
		fanOut  = 20
		outSize = 1 << 10
		inputs  = 300
	)
	proc := &flatten{fanOut: fanOut, outSize: outSize}
	e := startEnv(t, func(c *wsapi.Config) {
		c.MaxBufferedBytes = bound
		c.FetchMaxBytes = 16 << 10
		c.Processors = proc
	})
	e.createTopic(t, "src", 1)
	e.produce(t, "src", "r", inputs)
	ws := e.dial(t, "/v1/topics/src/consume?from=earliest&format=binary&processor=flatten")
	readJSON(t, ws) // welcome
	readJSON(t, ws) // assigned
	seen := map[int64]int{}
	var last int64 = -1
	granted, got := 0, 0
	for got < inputs*fanOut {
		if got == granted {
			granted += 50
			ws.WriteJSON(wire.WSCreditMsg{Type: wire.WSCredit, Records: 50})
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
			if r.Offset < last {
				t.Fatalf("source offset %d after %d", r.Offset, last)
			}
			last = r.Offset
			if want := fmt.Sprintf("%d/%d", r.Offset, seen[r.Offset]); string(r.Value[:len(want)]) != want {
				t.Fatalf("record %q, want %q (an output lost or repeated)", r.Value[:len(want)], want)
			}
			seen[r.Offset]++
		}
		got += len(fb.Records)
	}
	if len(seen) != inputs {
		t.Fatalf("outputs of %d inputs, want %d", len(seen), inputs)
	}
	stats := e.h.Stats()
	if len(stats) != 1 {
		t.Fatalf("stats = %+v", stats)
	}
	perInput := int64(fanOut * (outSize + wsapi.RecordOverhead))
	if peak := stats[0].PeakBufferedBytes; peak > bound+perInput || peak == 0 {
		t.Fatalf("peak buffered %d bytes, want at most %d (bound) + %d (one input's output)", peak, bound, perInput)
	}
	t.Logf("peak buffered %d bytes (bound %d), %d processor calls for %d inputs", stats[0].PeakBufferedBytes, bound, proc.calls.Load(), inputs)
}
