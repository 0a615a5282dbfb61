package platform

import (
	"log/slog"
	"os"
	"runtime/debug"
	"testing"
)

// A node runs the collector at ServerGCPercent, unless GOGC says otherwise.
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	quiet := slog.New(slog.DiscardHandler)

	t.Setenv("GOGC", "150") // restored after the test, with its unset below
	debug.SetGCPercent(150)
	TuneGC(quiet)
	if got := debug.SetGCPercent(150); got != 150 {
		t.Errorf("with GOGC=150 the target became %d", got)
	}

	os.Unsetenv("GOGC")
	debug.SetGCPercent(100)
	TuneGC(quiet)
	if got := debug.SetGCPercent(100); got != ServerGCPercent {
		t.Errorf("without GOGC the target is %d, want %d", got, ServerGCPercent)
	}
}
