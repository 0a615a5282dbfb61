package plugins

import (
	"bytes"
	"context"
	"log/slog"
)

// guestIO is where one instance's stdout and stderr go. It travels in the
// context of every call into the instance, so the WASI functions (shared by
// all instances) find it without a lookup.
type guestIO struct {
	stdout, stderr *lineLogger
}

type guestKey struct{}

func withGuest(ctx context.Context, g *guestIO) context.Context {
	return context.WithValue(ctx, guestKey{}, g)
}

func guestFrom(ctx context.Context) *guestIO {
	g, _ := ctx.Value(guestKey{}).(*guestIO)
	return g
}

func newGuestIO(log *slog.Logger) *guestIO {
	return &guestIO{
		stdout: &lineLogger{log: log, level: slog.LevelInfo, stream: "stdout"},
		stderr: &lineLogger{log: log, level: slog.LevelWarn, stream: "stderr"},
	}
}

// flush logs what is left without a trailing newline.
func (g *guestIO) flush() {
	g.stdout.flush()
	g.stderr.flush()
}

// maxLogLine bounds one logged line; longer lines are cut, so a plugin
// cannot make the host buffer without limit.
const maxLogLine = 4096

// lineLogger turns a byte stream into one log entry per line. Calls into one
// instance are never concurrent, so it needs no lock.
type lineLogger struct {
	log    *slog.Logger
	level  slog.Level
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
		l.buf = append(l.buf, p[:min(room, i)]...)
		l.flush()
		p = p[i+1:]
	}
}

func (l *lineLogger) flush() {
	if len(l.buf) == 0 {
		return
	}
	l.log.Log(context.Background(), l.level, string(l.buf), "stream", l.stream)
	l.buf = l.buf[:0]
}
