package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/testnode"
)

// syncBuffer is a bytes.Buffer safe for the CLI goroutine and the test.
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

// freeAddr returns a loopback address free for TCP and UDP right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	return testnode.FreePorts(t, 1)
}

// serveInBackground runs a serving command (dev, server) in-process until
// the test cancels it, as Ctrl-C would, and returns the URL it printed or
// logged.
func serveInBackground(t *testing.T, args ...string) (url string, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"sluice"}, args...), strings.NewReader(""), &out, &errb) }()
	re := regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+`)
	deadline := time.Now().Add(30 * time.Second)
	for url == "" {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("sluice %s exited %d before serving:\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("sluice %s did not report its address:\n%s%s", strings.Join(args, " "), out.String(), errb.String())
		}
		for _, l := range strings.Split(out.String()+errb.String(), "\n") {
			if strings.Contains(l, "serving") || strings.Contains(l, "ready") {
				url = re.FindString(l)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopped := false
	var code int
	stop = func() int {
		if !stopped {
			stopped = true
			cancel()
			code = <-done
		}
		return code
	}
	t.Cleanup(func() { stop() })
	return url, stop
}

// TestDevServesAndStopsCleanly is the README's first command: it serves,
// answers the CLI, and exits 0 on Ctrl-C; a second start finds the data.
func TestDevServesAndStopsCleanly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sluice-data")
	args := []string{"dev", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--raft-addr", freeAddr(t), "--serf-addr", freeAddr(t), "--cluster-addr", "127.0.0.1:0"}
	url, stop := serveInBackground(t, args...)
	ok(t, url, "", "topic", "create", "kept", "--partitions", "2")
	ok(t, url, "x\ny\n", "produce", "kept")
	if code := stop(); code != 0 {
		t.Fatalf("dev exited %d on cancel", code)
	}
	url, _ = serveInBackground(t, args...)
	r := ok(t, url, "", "consume", "kept", "--max", "2")
	if r.stdout != "x\ny\n" && r.stdout != "y\nx\n" {
		t.Errorf("after restart read %q", r.stdout)
	}
}

// TestServerFromConfigFile starts `sluice server` from a JSON file with an
// environment override, then stops it.
func TestServerFromConfigFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "node.json")
	cfg := `{"node-id": 4, "data-dir": "` + filepath.Join(dir, "data") + `", "http-addr": "127.0.0.1:0", "cluster-addr": "127.0.0.1:0",
		"raft-addr": "` + freeAddr(t) + `", "serf-addr": "` + freeAddr(t) + `", "log-level": "info"}`
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLUICE_LOG_FORMAT", "json")
	url, stop := serveInBackground(t, "server", "--config", file)
	// Auth is on by default: the new cluster's admin token is in the data
	// directory, and a request without it is refused.
	if r := sluice(t, url, "", "cluster", "brokers"); r.code == 0 || !strings.Contains(r.stderr, "credential") {
		t.Errorf("anonymous request: exit %d, stderr %s", r.code, r.stderr)
	}
	path := filepath.Join(dir, "data", "admin-token")
	tok, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("admin token file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	t.Setenv("SLUICE_TOKEN", strings.TrimSpace(string(tok)))
	r := ok(t, url, "", "cluster", "brokers")
	if !strings.Contains(r.stdout, "4 ") {
		t.Errorf("node id from the file not used: %s", r.stdout)
	}
	if code := stop(); code != 0 {
		t.Fatalf("server exited %d on cancel", code)
	}
}
