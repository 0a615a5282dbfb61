package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/testtool"
	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// watFile compiles a WAT file (path from the repository root) with
// wat2wasm into dir and returns the module's path; the test is skipped
// where wat2wasm is absent (.ci/run installs Debian's wabt).
func watFile(t *testing.T, dir, path string) string {
	t.Helper()
	bin := testtool.Need(t, testtool.WAT2Wasm)
	out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), ".wat")+".wasm")
	if msg, err := exec.Command(bin, filepath.Join("..", "..", path), "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", path, err, msg)
	}
	return out
}

// filterRedact is examples/filter-redact built once for wasip1.
var filterRedact struct {
	once sync.Once
	wasm []byte
	err  error
}

// filterRedactFile writes the filter-redact example module into dir.
func filterRedactFile(t *testing.T, dir string) string {
	t.Helper()
	filterRedact.once.Do(func() {
		tmp, err := os.MkdirTemp("", "sluice-cli-plugin-")
		if err != nil {
			filterRedact.err = err
			return
		}
		defer os.RemoveAll(tmp)
		out := filepath.Join(tmp, "filter-redact.wasm")
		cmd := exec.Command(testtool.GoCommand(), "build", "-buildmode=c-shared", "-o", out, "./examples/filter-redact")
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			filterRedact.err = fmt.Errorf("build examples/filter-redact: %v\n%s", err, msg)
			return
		}
		filterRedact.wasm, filterRedact.err = os.ReadFile(out)
	})
	if filterRedact.err != nil {
		t.Fatal(filterRedact.err)
	}
	p := filepath.Join(dir, "filter-redact.wasm")
	if err := os.WriteFile(p, filterRedact.wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPluginTestRunsLocally: `sluice plugin test` needs no server; it
// prints each record's partition (partitioner) or the outputs with their
// source offsets (processor), and refuses a module that cannot work.
func TestPluginTestRunsLocally(t *testing.T) {
	dir := t.TempDir()
	murmur := watFile(t, dir, "examples/wat-partitioner/partitioner.wat")
	echo := watFile(t, dir, "plugins/testdata/echo.wat")
	nothing := watFile(t, dir, "plugins/testdata/nothing.wat")
	const noServer = "http://127.0.0.1:1" // nothing listens there

	r := ok(t, noServer, "user-1:a\nuser-2:b\nno key\n", "plugin", "test", murmur, "--kind", "partitioner", "--partitions", "4", "--key-separator", ":")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("plugin test printed %q", r.stdout)
	}
	for i, key := range []string{"user-1", "user-2"} {
		want := fmt.Sprintf("%d\t%d\t%s\t%s", i, partitioner.HashPartition([]byte(key), 4), key, string(rune('a'+i)))
		if lines[i] != want {
			t.Errorf("line %d = %q, want %q", i, lines[i], want)
		}
	}
	if !strings.HasPrefix(lines[2], "2\t") || !strings.HasSuffix(lines[2], "\t\tno key") {
		t.Errorf("keyless line = %q", lines[2])
	}
	if !strings.Contains(r.stderr, "3 records in, 3 out, 1 calls") {
		t.Errorf("summary on stderr: %q", r.stderr)
	}

	// A processor, kind detected from the exports, JSON lines.
	r = ok(t, noServer, "k1=v1\nk2=v2\n", "plugin", "test", echo, "--key-separator", "=", "--output", "json", "--quiet")
	lines = strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("echo printed %q", r.stdout)
	}
	var out struct {
		SourceOffset int64  `json:"source_offset"`
		Key          string `json:"key"`
		Value        string `json:"value"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &out); err != nil || out.SourceOffset != 1 || out.Key != "k2" || out.Value != "v2" {
		t.Errorf("echo line %q: %+v %v", lines[1], out, err)
	}
	if r.stderr != "" && !strings.Contains(r.stderr, "echo: batch") {
		t.Errorf("--quiet stderr: %q", r.stderr)
	}

	r = sluice(t, noServer, "x\n", "plugin", "test", nothing, "--kind", "partitioner")
	if r.code == 0 || !strings.Contains(r.stderr, "invalid plugin module") {
		t.Errorf("module exporting nothing: exit %d, stderr %q", r.code, r.stderr)
	}
	r = sluice(t, noServer, "", "plugin", "test", filepath.Join(dir, "missing.wasm"))
	if r.code == 0 || !strings.Contains(r.stderr, "missing.wasm") {
		t.Errorf("missing file: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestPluginCommandsEndToEnd drives the registry and the plugin flags of
// topic and consume from the CLI against a real node.
func TestPluginCommandsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	murmur := watFile(t, dir, "examples/wat-partitioner/partitioner.wat")
	redact := filterRedactFile(t, dir)
	srv := testnode.Start(t, testnode.WithConfig(func(c *platform.Config) { c.PluginInterpreter = raceEnabled })).URL()

	r := ok(t, srv, "", "plugin", "upload", murmur, "--name", "murmur", "--kind", "partitioner")
	if !strings.HasPrefix(r.stdout, "uploaded murmur@1: partitioner, ") {
		t.Errorf("upload said %q", r.stdout)
	}
	r = ok(t, srv, "", "plugin", "upload", redact, "--kind", "processor", "--param", "redact=email", "--timeout-ms", "10000", "--output", "json")
	var v wire.PluginVersion
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Name != "filter-redact" || v.Params["redact"] != "email" || v.Limits.TimeoutMs != 10000 {
		t.Fatalf("upload --output json: %q (%v)", r.stdout, err)
	}
	r = sluice(t, srv, "", "plugin", "upload", murmur, "--name", "x", "--kind", "processor")
	if r.code == 0 || !strings.Contains(r.stderr, "sluice_process") {
		t.Errorf("upload as the wrong kind: exit %d, stderr %q", r.code, r.stderr)
	}

	ok(t, srv, "", "topic", "create", "orders", "--partitions", "4", "--partitioner", "wasm:murmur@1")
	var in strings.Builder
	for i := range 12 {
		status := "new"
		if i%3 == 2 {
			status = "cancelled"
		}
		fmt.Fprintf(&in, "cust-%d|{\"n\":%d,\"email\":\"u%d@example.com\",\"status\":\"%s\"}\n", i%5, i, i, status)
	}
	r = ok(t, srv, in.String(), "produce", "orders", "--key-separator", "|", "--verbose", "--output", "json")
	for i, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var res struct{ Record, Partition int32 }
		if err := json.Unmarshal([]byte(l), &res); err != nil {
			t.Fatalf("produce line %q: %v", l, err)
		}
		if want := partitioner.HashPartition([]byte(fmt.Sprintf("cust-%d", i%5)), 4); res.Partition != want {
			t.Errorf("record %d went to partition %d, want %d", i, res.Partition, want)
		}
	}

	r = ok(t, srv, "", "plugin", "list")
	if !strings.Contains(r.stdout, "murmur") || !strings.Contains(r.stdout, "topic:orders") || !strings.Contains(r.stdout, "filter-redact") {
		t.Errorf("plugin list: %q", r.stdout)
	}
	r = ok(t, srv, "", "plugin", "describe", "filter-redact")
	if !strings.Contains(r.stdout, "redact=email") || !strings.Contains(r.stdout, "10000") {
		t.Errorf("plugin describe: %q", r.stdout)
	}

	// HTTP fetch consumer and WebSocket group consumer, both with the processor.
	checkConsumed := func(how, out string) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 8 {
			t.Fatalf("%s: %d records, want the 8 not cancelled:\n%s", how, len(lines), out)
		}
		for _, l := range lines {
			var fr wire.FetchRecord
			if err := json.Unmarshal([]byte(l), &fr); err != nil {
				t.Fatalf("%s: %q: %v", how, l, err)
			}
			if strings.Contains(fr.Value, "cancelled") || !strings.Contains(fr.Value, `"email":"***"`) {
				t.Errorf("%s: record %q not filtered and redacted", how, fr.Value)
			}
		}
	}
	filter := []string{"--processor", "filter-redact@1", "--param", "drop-field=status", "--param", "drop-values=cancelled", "--format", "json"}
	r = ok(t, srv, "", append([]string{"consume", "orders", "--max", "8"}, filter...)...)
	checkConsumed("consume", r.stdout)
	r = ok(t, srv, "", append([]string{"consume", "orders", "--group", "g1", "--idle-timeout", "1s"}, filter...)...)
	checkConsumed("consume --group", r.stdout)
	// The group's committed position is past the dropped records, the
	// last one (cancelled) included: nothing is read again.
	r = ok(t, srv, "", "group", "describe", "g1", "--output", "json")
	var g wire.Group
	if err := json.Unmarshal([]byte(r.stdout), &g); err != nil {
		t.Fatalf("group describe: %q: %v", r.stdout, err)
	}
	var total int64
	for _, o := range g.Offsets {
		total += o.LogEnd
		if o.LogEnd > 0 && o.Committed != o.LogEnd {
			t.Errorf("partition %d: committed %d, log end %d", o.Partition, o.Committed, o.LogEnd)
		}
	}
	if total != 12 {
		t.Errorf("group offsets cover %d records, want 12: %+v", total, g.Offsets)
	}

	r = sluice(t, srv, "", "plugin", "delete", "murmur")
	if r.code == 0 || !strings.Contains(r.stderr, "plugin in use") {
		t.Errorf("delete in use: exit %d, stderr %q", r.code, r.stderr)
	}
	r = ok(t, srv, "", "plugin", "delete", "filter-redact@1")
	if !strings.Contains(r.stdout, "deleted plugin filter-redact@1") {
		t.Errorf("delete said %q", r.stdout)
	}
	r = sluice(t, srv, "", "plugin", "describe", "filter-redact")
	if r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("describe deleted: exit %d, stderr %q", r.code, r.stderr)
	}
	r = sluice(t, srv, "", "consume", "orders", "--processor", "filter-redact", "--max", "1")
	if r.code == 0 || !strings.Contains(r.stderr, "unknown plugin") {
		t.Errorf("consume with a deleted processor: exit %d, stderr %q", r.code, r.stderr)
	}
}
