package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// TestPluginLogs: a processor's stdout lines are kept by the node that ran
// it (capped per call, with a note) and shown by `sluice plugin logs`, in
// text and JSON; a plugin that logged nothing says so.
func TestPluginLogs(t *testing.T) {
	dir := t.TempDir()
	chatty := watFile(t, dir, "plugins/testdata/chatty.wat")
	srv := testnode.Start(t, testnode.WithConfig(func(c *platform.Config) { c.PluginInterpreter = raceEnabled })).URL()
	ok(t, srv, "", "plugin", "upload", chatty, "--kind", "processor")
	ok(t, srv, "", "topic", "create", "t")
	ok(t, srv, "a\n", "produce", "t")
	ok(t, srv, "", "consume", "t", "--processor", "chatty", "--max", "1")

	r := ok(t, srv, "", "plugin", "logs", "chatty")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 101 || !strings.HasSuffix(lines[0], " chatty@1 stdout: chatty: line") ||
		!strings.Contains(lines[100], "chatty@1 host: 400 more lines of this call dropped") {
		t.Fatalf("plugin logs printed %d lines:\n%s", len(lines), r.stdout)
	}
	r = ok(t, srv, "", "plugin", "logs", "chatty", "--after", "99", "--output", "json")
	var got []wire.PluginLogLine
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var pl wire.PluginLogLine
		if err := json.Unmarshal([]byte(l), &pl); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		got = append(got, pl)
	}
	if len(got) != 2 || got[0].Seq != 100 || got[1].Stream != "host" || got[1].Version != 1 {
		t.Fatalf("--after 99 --output json: %+v", got)
	}
	r = ok(t, srv, "", "plugin", "logs", "quiet")
	if r.stdout != "" || !strings.Contains(r.stderr, "no log lines of plugin quiet on this node") {
		t.Fatalf("logs of a plugin that logged nothing: %q %q", r.stdout, r.stderr)
	}
	r = sluice(t, srv, "", "plugin", "logs")
	if r.code == 0 {
		t.Fatal("plugin logs without a name succeeded")
	}
}
