package plugins

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/record"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestLogRingRateLimit(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := newLogRing(clk.now)
	kept := 0
	for i := range logBurst + 50 {
		if r.add(1, StreamStdout, fmt.Sprint("line ", i)) {
			kept++
		}
	}
	if kept != logBurst {
		t.Fatalf("kept %d of a burst of %d, want %d", kept, logBurst+50, logBurst)
	}
	lines, dropped := r.since(0, 0)
	if len(lines) != logBurst || dropped != 50 {
		t.Fatalf("%d lines, %d dropped", len(lines), dropped)
	}
	// A second later, logRate tokens are back; the first line kept is
	// preceded by a note counting the drops.
	clk.t = clk.t.Add(time.Second)
	if !r.add(2, StreamStderr, "after") {
		t.Fatal("refused after a second")
	}
	lines, _ = r.since(uint64(logBurst), 0)
	if len(lines) != 2 || lines[0].Stream != StreamHost || !strings.Contains(lines[0].Text, "50 lines dropped: over the rate limit of 100 lines/s") ||
		lines[1].Text != "after" || lines[1].Version != 2 || lines[1].Stream != StreamStderr || lines[1].Seq != logBurst+2 {
		t.Fatalf("after the pause: %+v", lines)
	}
	for i := 1; i < logRate; i++ {
		if !r.add(2, StreamStdout, "x") {
			t.Fatalf("line %d of the second's %d refused", i, logRate)
		}
	}
	if r.add(2, StreamStdout, "x") {
		t.Fatal("more than the rate within the second")
	}
}

func TestLogRingKeepsTheNewest(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := newLogRing(clk.now)
	for i := range logRingLines + 10 {
		clk.t = clk.t.Add(time.Second) // never rate limited
		r.add(1, StreamStdout, fmt.Sprint(i))
	}
	lines, _ := r.since(0, 0)
	if len(lines) != logRingLines || lines[0].Text != "10" || lines[len(lines)-1].Text != fmt.Sprint(logRingLines+9) {
		t.Fatalf("%d lines, first %q last %q", len(lines), lines[0].Text, lines[len(lines)-1].Text)
	}
	if got, _ := r.since(uint64(logRingLines+5), 3); len(got) != 3 || got[0].Seq != logRingLines+6 {
		t.Fatalf("since with a limit: %+v", got)
	}
}

// A call's log lines are capped (the rest counted in one host line), kept
// in the plugin's ring buffer whatever the node's log level, and readable
// with PluginLogs.
func TestPluginLogsCappedPerCall(t *testing.T) {
	h, logs := newTestHost(t, Config{})
	ctx := context.Background()
	pr, err := h.Processor(ctx, Module{Name: "chatty", Version: 4, Wasm: buildWAT(t, "testdata/chatty.wat")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close(ctx)
	if _, err := pr.Process(ctx, 0, []record.Record{{Offset: 7, Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	lines, dropped := h.PluginLogs("chatty", 0, 0)
	if dropped != 0 || len(lines) != maxLogLinesPerCall+1 {
		t.Fatalf("%d lines (%d dropped by the rate limit), want %d and a note", len(lines), dropped, maxLogLinesPerCall)
	}
	for _, l := range lines[:maxLogLinesPerCall] {
		if l.Text != "chatty: line" || l.Stream != StreamStdout || l.Version != 4 {
			t.Fatalf("line %+v", l)
		}
	}
	note := lines[maxLogLinesPerCall]
	if note.Stream != StreamHost || !strings.Contains(note.Text, "400 more lines of this call dropped (a call may log 100 lines") {
		t.Fatalf("note %+v", note)
	}
	if n := strings.Count(logs.String(), "chatty: line"); n != maxLogLinesPerCall {
		t.Fatalf("node log has %d lines of the plugin, want %d", n, maxLogLinesPerCall)
	}
	// The next call: the burst (200) lets its 100 lines through, the third
	// call's are over the rate limit.
	for range 2 {
		if _, err := pr.Process(ctx, 0, []record.Record{{Offset: 8, Value: []byte("v")}}); err != nil {
			t.Fatal(err)
		}
	}
	_, dropped = h.PluginLogs("chatty", 0, 0)
	if dropped == 0 {
		t.Fatal("three calls of 100 lines within moments: nothing dropped by the rate limit")
	}
	if lines, _ := h.PluginLogs("nobody", 0, 0); lines != nil {
		t.Fatalf("unknown plugin: %v", lines)
	}
}
