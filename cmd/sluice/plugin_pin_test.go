package main

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

func TestKeysMoveWarning(t *testing.T) {
	a := &wire.Topic{Name: "t", Partitioner: "wasm:p@1"}
	for _, tc := range []struct {
		name   string
		after  *wire.Topic
		before *wire.Topic
		warn   string // "" for no warning
	}{
		{"same", &wire.Topic{Name: "t", Partitioner: "wasm:p@1"}, a, ""},
		{"version", &wire.Topic{Name: "t", Partitioner: "wasm:p@2"}, a, "from wasm:p@1 to wasm:p@2"},
		{"params", &wire.Topic{Name: "t", Partitioner: "wasm:p@1", PartitionerParams: map[string]string{"f": "id"}}, a, "to wasm:p@1 (f=id)"},
		{"builtin", &wire.Topic{Name: "t", Partitioner: "roundrobin"}, a, "to roundrobin"},
		{"unknown before", &wire.Topic{Name: "t", Partitioner: "hash"}, nil, ""},
	} {
		got := keysMoveWarning(tc.before, tc.after)
		if (tc.warn == "") != (got == "") || !strings.Contains(got, tc.warn) {
			t.Errorf("%s: warning %q, want one containing %q", tc.name, got, tc.warn)
		}
	}
}

// TestTopicAlterPartitionerVersion: `topic create --partitioner wasm:NAME`
// stores the version latest then; `topic alter --partitioner wasm:NAME@2`
// moves it, printing a warning that keys move; a config-only alter warns
// about nothing.
func TestTopicAlterPartitionerVersion(t *testing.T) {
	dir := t.TempDir()
	murmur := watFile(t, dir, "examples/wat-partitioner/partitioner.wat")
	srv := testnode.Start(t, testnode.WithConfig(func(c *platform.Config) { c.PluginInterpreter = raceEnabled })).URL()
	ok(t, srv, "", "plugin", "upload", murmur, "--name", "murmur", "--kind", "partitioner")
	r := ok(t, srv, "", "topic", "create", "orders", "--partitions", "2", "--partitioner", "wasm:murmur")
	if !strings.Contains(r.stdout, "partitioner wasm:murmur@1") {
		t.Errorf("create said %q, want the pinned wasm:murmur@1", r.stdout)
	}
	ok(t, srv, "", "plugin", "upload", murmur, "--name", "murmur", "--kind", "partitioner")
	r = ok(t, srv, "", "topic", "describe", "orders")
	if !strings.Contains(r.stdout, "wasm:murmur@1") {
		t.Errorf("describe after the upload of @2: %q", r.stdout)
	}
	r = ok(t, srv, "", "topic", "alter", "orders", "--partitioner", "wasm:murmur@2")
	if !strings.Contains(r.stdout, "partitioner wasm:murmur@2") {
		t.Errorf("alter said %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "warning: topic orders: partitioner changed from wasm:murmur@1 to wasm:murmur@2") ||
		!strings.Contains(r.stderr, "per-key order") {
		t.Errorf("alter warned %q", r.stderr)
	}
	r = ok(t, srv, "", "topic", "alter", "orders", "--config", "retention.ms=3600000")
	if r.stderr != "" {
		t.Errorf("config-only alter warned %q", r.stderr)
	}
}
