package controller

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// newRaftLogger returns an hclog.Logger that writes through slog. raft's
// INFO lines go to Debug (the controller logs leadership changes itself).
func newRaftLogger(l *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:        "raft",
		Level:       hclog.Info,
		Output:      slogWriter{l},
		DisableTime: true,
	})
}

type slogWriter struct{ l *slog.Logger }

var _ io.Writer = slogWriter{}

func (w slogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(bytes.TrimRight(p, "\n")))
	level := slog.LevelDebug
	for _, lv := range []struct {
		tag   string
		level slog.Level
	}{{"[ERROR]", slog.LevelError}, {"[WARN]", slog.LevelWarn}, {"[INFO]", slog.LevelDebug},
		{"[DEBUG]", slog.LevelDebug}, {"[TRACE]", slog.LevelDebug - 4}} {
		if rest, ok := strings.CutPrefix(line, lv.tag); ok {
			level, line = lv.level, strings.TrimSpace(rest)
			break
		}
	}
	w.l.Log(context.Background(), level, line)
	return len(p), nil
}
