package main

import (
	"strings"
	"testing"
)

// `plugin test --jsonl` reads records with headers and timestamps and
// prints them in full with --output json; the plugin's stdout goes to
// stderr.
func TestPluginTestJSONLines(t *testing.T) {
	echo := watFile(t, t.TempDir(), "plugins/testdata/echo.wat")
	in := `{"key":"k","value":"v","timestamp":1764085200000,"headers":[{"key":"trace","value":"t-1"}]}` + "\n"
	r := ok(t, "http://127.0.0.1:1", in, "plugin", "test", echo, "--kind", "processor", "--jsonl", "--output", "json")
	want := `{"source_offset":0,"partition":0,"timestamp":1764085200000,"key":"k","value":"v","headers":[{"key":"trace","value":"t-1"}]}` + "\n"
	if r.stdout != want {
		t.Fatalf("stdout %q, want %q", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "echo: batch") || !strings.Contains(r.stderr, "1 records in, 1 out, 1 calls") {
		t.Fatalf("stderr %q", r.stderr)
	}
	r = sluice(t, "http://127.0.0.1:1", `{"key":3}`+"\n", "plugin", "test", echo, "--kind", "processor", "--jsonl")
	if r.code == 0 || !strings.Contains(r.stderr, "input line 1") {
		t.Fatalf("bad JSON line: exit %d, stderr %q", r.code, r.stderr)
	}
}
