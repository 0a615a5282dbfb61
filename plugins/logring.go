package plugins

import (
	"fmt"
	"sync"
	"time"
)

// Streams of a LogLine.
const (
	StreamStdout = "stdout"
	StreamStderr = "stderr"
	// StreamHost lines are the host's notes about the plugin's logging
	// (lines dropped by the per-call cap or the rate limit).
	StreamHost = "host"
)

// LogLine is one line a plugin wrote to stdout or stderr (or a host note).
type LogLine struct {
	// Seq numbers the plugin's lines on this Host from 1, without gaps
	// among lines kept (dropped lines take no number).
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Version int       `json:"version"`
	Stream  string    `json:"stream"`
	Text    string    `json:"text"`
}

// Log retention and rate limit, per plugin name (all its versions).
const (
	// logRingLines is how many lines a plugin's ring buffer keeps.
	logRingLines = 1000
	// logRate and logBurst: lines per second a plugin may log, and the
	// burst above it; lines beyond are dropped and counted.
	logRate  = 100
	logBurst = 200
)

// logRing is one plugin's recent lines: a ring buffer behind a token
// bucket. Safe for concurrent use (instances of one plugin log at once).
type logRing struct {
	mu      sync.Mutex
	now     func() time.Time
	lines   []LogLine // ring of logRingLines, oldest at start once full
	start   int
	seq     uint64
	tokens  float64
	last    time.Time // of the last refill
	dropped uint64    // by the rate limit, since the last note
	total   uint64    // dropped by the rate limit, ever
}

func newLogRing(now func() time.Time) *logRing {
	return &logRing{now: now, tokens: logBurst, last: now()}
}

// add keeps a line if the rate limit allows; it reports whether it did.
// The first line kept after drops is preceded by a host note counting them.
func (r *logRing) add(version int, stream, text string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.tokens = min(logBurst, r.tokens+now.Sub(r.last).Seconds()*logRate)
	r.last = now
	if r.tokens < 1 {
		r.dropped++
		r.total++
		return false
	}
	r.tokens--
	if r.dropped > 0 {
		r.push(LogLine{Time: now, Version: version, Stream: StreamHost,
			Text: fmt.Sprintf("%d lines dropped: over the rate limit of %d lines/s (burst %d)", r.dropped, logRate, logBurst)})
		r.dropped = 0
	}
	r.push(LogLine{Time: now, Version: version, Stream: stream, Text: text})
	return true
}

func (r *logRing) push(l LogLine) {
	r.seq++
	l.Seq = r.seq
	if len(r.lines) < logRingLines {
		r.lines = append(r.lines, l)
		return
	}
	r.lines[r.start] = l
	r.start = (r.start + 1) % logRingLines
}

// since returns up to limit kept lines with Seq > after, oldest first, and
// the count of lines dropped by the rate limit so far.
func (r *logRing) since(after uint64, limit int) ([]LogLine, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []LogLine
	for i := range r.lines {
		l := r.lines[(r.start+i)%len(r.lines)]
		if l.Seq > after {
			out = append(out, l)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out, r.total
}

// logRings holds the rings by plugin name. A ring lives as long as the
// Host (a name's lines stay readable after its pools close), bounded by
// maxLogRings: past it, the ring of the name least recently written goes.
type logRings struct {
	mu  sync.Mutex
	now func() time.Time
	by  map[string]*logRing
}

const maxLogRings = 1024

func (rs *logRings) ring(name string) *logRing {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r, ok := rs.by[name]; ok {
		return r
	}
	if len(rs.by) >= maxLogRings {
		var oldest string
		var at time.Time
		for n, r := range rs.by {
			r.mu.Lock()
			last := r.last
			r.mu.Unlock()
			if oldest == "" || last.Before(at) {
				oldest, at = n, last
			}
		}
		delete(rs.by, oldest)
	}
	r := newLogRing(rs.now)
	rs.by[name] = r
	return r
}

// PluginLogs returns up to limit (0: all kept) lines of plugin name's
// versions with Seq > after, oldest first, as run on this Host, and how
// many lines the rate limit dropped. An unknown name has no lines.
func (h *Host) PluginLogs(name string, after uint64, limit int) ([]LogLine, uint64) {
	h.logs.mu.Lock()
	r, ok := h.logs.by[name]
	h.logs.mu.Unlock()
	if !ok {
		return nil, 0
	}
	return r.since(after, limit)
}
