package plugins

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"github.com/sluicehq/sluice/record"
)

// guestIO is where one instance's stdout and stderr go. It travels in the
// context of every call into the instance, so the WASI functions (shared by
// all instances) find it without a lookup. Calls into one instance are
// never concurrent, so it needs no lock.
type guestIO struct {
	stdout, stderr *lineLogger
	sink           *logSink
	// Per-call cap: lines and bytes accepted since beginCall, and lines
	// dropped past the cap.
	lines, bytes, capped int
	// clock is the instance's running call's time limit and depth limit
	// (timelimit.go).
	clock *clock
	// batch is the running sluice_partition call's records as the host
	// holds them (values and headers too, whatever the module is sent),
	// and partitions its partition count; nil outside a partition call.
	// Read by sluice.partition_call_by_json_field (hostfn.go).
	batch      []record.Record
	partitions int
}

type guestKey struct{}

func withGuest(ctx context.Context, g *guestIO) context.Context {
	return context.WithValue(ctx, guestKey{}, g)
}

func guestFrom(ctx context.Context) *guestIO {
	g, _ := ctx.Value(guestKey{}).(*guestIO)
	return g
}

// Per-call caps on what a plugin may log (lines, and bytes of them). What
// goes past them is dropped and counted in one host line at the end of the
// call.
const (
	maxLogLinesPerCall = 100
	maxLogBytesPerCall = 64 << 10
)

// maxLogLine bounds one logged line; longer lines are cut, so a plugin
// cannot make the host buffer without limit.
const maxLogLine = 4096

func newGuestIO(sink *logSink) *guestIO {
	g := &guestIO{sink: sink}
	g.stdout = &lineLogger{g: g, stream: StreamStdout}
	g.stderr = &lineLogger{g: g, stream: StreamStderr}
	return g
}

// beginCall starts a new call's cap (what the instance logged before, at
// start-up, is flushed and noted first).
func (g *guestIO) beginCall() {
	g.endCall()
	g.lines, g.bytes = 0, 0
}

// endCall logs what is left without a trailing newline and, if lines went
// past the cap, one host line that says how many.
func (g *guestIO) endCall() {
	g.stdout.flush()
	g.stderr.flush()
	if g.capped > 0 {
		g.sink.add(StreamHost, fmt.Sprintf("%d more lines of this call dropped (a call may log %d lines, %d KiB)",
			g.capped, maxLogLinesPerCall, maxLogBytesPerCall>>10))
		g.capped = 0
	}
}

// line takes one complete line from stream under the per-call cap.
func (g *guestIO) line(stream string, text []byte) {
	if g.lines >= maxLogLinesPerCall || g.bytes+len(text) > maxLogBytesPerCall {
		g.capped++
		return
	}
	g.lines++
	g.bytes += len(text)
	g.sink.add(stream, string(text))
}

// lineLogger turns a byte stream into lines.
type lineLogger struct {
	g      *guestIO
	stream string
	buf    []byte
}

func (l *lineLogger) Write(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxLogLine - len(l.buf)
			if room > 0 {
				l.buf = append(l.buf, p[:min(room, len(p))]...)
			}
			return
		}
		room := maxLogLine - len(l.buf)
		l.buf = append(l.buf, p[:min(max(room, 0), i)]...)
		l.flush()
		p = p[i+1:]
	}
}

func (l *lineLogger) flush() {
	if len(l.buf) == 0 {
		return
	}
	l.g.line(l.stream, l.buf)
	l.buf = l.buf[:0]
}

// logSink is where one plugin version's lines go: its ring buffer (read by
// `sluice plugin logs`, whatever the node's log level) and the node's log
// (stdout at INFO, stderr and host notes at WARN), both behind the
// plugin's rate limit.
type logSink struct {
	ring    *logRing
	version int
	log     *slog.Logger
}

func (s *logSink) add(stream, text string) {
	if !s.ring.add(s.version, stream, text) {
		return // over the rate limit: counted in the ring
	}
	level := slog.LevelInfo
	if stream != StreamStdout {
		level = slog.LevelWarn
	}
	s.log.Log(context.Background(), level, text, "stream", stream)
}

// newLogSink returns the sink of plugin m's instances.
func (h *Host) newLogSink(m Module) *logSink {
	return &logSink{ring: h.logs.ring(m.Name), version: m.Version, log: h.log.With("plugin", m.ID())}
}
