package plugins

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/testtool"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) {
		closeSharedHost()
		cleanupGoBuilds()
	}))
}

func newLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// watCache holds modules built from testdata or examples once per test run.
var watCache sync.Map // path -> []byte

// buildWAT compiles a .wat file (relative to the package dir) with wat2wasm
// (with a name section),
// skipping the test when wat2wasm is not installed.
func buildWAT(t testing.TB, path string) []byte {
	t.Helper()
	if b, ok := watCache.Load(path); ok {
		return b.([]byte)
	}
	bin := testtool.Need(t, testtool.WAT2Wasm)
	out := filepath.Join(t.TempDir(), filepath.Base(path)+".wasm")
	// With a name section (function names), as toolchains other than a
	// bare wat2wasm emit: the upload's rewrite must renumber it.
	args := []string{path, "-o", out, "--debug-names"}
	if strings.HasSuffix(path, ".nocheck.wat") { // deliberately invalid modules
		args = append(args, "--no-check")
	}
	if msg, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", path, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	watCache.Store(path, b)
	return b
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTestHost starts a Host closed at the end of the test, logging into the
// returned buffer.
func newTestHost(t testing.TB, cfg Config) (*Host, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = newLogger(logs)
	}
	if cfg.DefaultLimits.CallTimeout == 0 {
		// Tests about time limits set their own; the others must not fail
		// because a loaded CI machine is slow.
		cfg.DefaultLimits.CallTimeout = 10 * time.Second
	}
	if cfg.BackoffAfter == 0 {
		// Tests that time calls out on purpose call again and again; the
		// back-off tests set their own.
		cfg.BackoffAfter = 1 << 20
	}
	h, err := NewHost(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			t.Errorf("Host.Close: %v", err)
		}
	})
	return h, logs
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
