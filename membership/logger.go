package membership

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"strings"
)

// slogWriter adapts the "[LEVEL] subsystem: message" lines that serf and
// memberlist print through a *log.Logger to slog. Their INFO lines (every
// join and probe detail) go to Debug: membership logs the events that matter
// itself.
type slogWriter struct{ l *slog.Logger }

func newStdLogger(l *slog.Logger) *log.Logger {
	return log.New(slogWriter{l}, "", 0)
}

func (w slogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(bytes.TrimRight(p, "\n")))
	level := slog.LevelDebug
	for _, lv := range []struct {
		tag   string
		level slog.Level
	}{{"[ERR]", slog.LevelError}, {"[ERROR]", slog.LevelError}, {"[WARN]", slog.LevelWarn},
		{"[INFO]", slog.LevelDebug}, {"[DEBUG]", slog.LevelDebug}, {"[TRACE]", slog.LevelDebug - 4}} {
		if rest, ok := strings.CutPrefix(line, lv.tag); ok {
			level, line = lv.level, strings.TrimSpace(rest)
			break
		}
	}
	w.l.Log(context.Background(), level, line)
	return len(p), nil
}
