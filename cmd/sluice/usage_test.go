package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/urfave/cli/v2"
)

// noServer is an address nothing listens on: commands that fail before
// dialling never notice, the others fail with "unavailable".
const noServer = "http://127.0.0.1:1"

// offline runs the CLI against noServer without retries.
func offline(t *testing.T, args ...string) cliResult {
	t.Helper()
	return sluice(t, noServer, "", append([]string{"--retry-timeout", "0"}, args...)...)
}

func TestUnknownCommandsExitNonZero(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus" (see sluice --help)`},
		{[]string{"topic", "bogus"}, `unknown command "bogus" for "sluice topic" (see sluice topic --help)`},
		{[]string{"-o", "table", "cluster", "nope", "x"}, `unknown command "nope" for "sluice cluster"`},
		{[]string{"bench", "produce-it"}, `unknown command "produce-it" for "sluice bench"`},
		{[]string{"topic", "list", "--bogus"}, "flag provided but not defined: -bogus (see sluice topic list --help)"},
		{[]string{"topic", "create", "x", "--bogus"}, "bogus (see sluice topic create --help)"},
	}
	for _, c := range cases {
		r := offline(t, c.args...)
		if r.code != 1 || r.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", c.args, r.code, r.stdout)
		}
		if msg := strings.TrimSpace(r.stderr); !strings.HasPrefix(msg, "sluice: ") || strings.Count(msg, "\n") > 0 || !strings.Contains(msg, c.want) {
			t.Errorf("%v: stderr %q, want one line with %q", c.args, r.stderr, c.want)
		}
	}
}

func TestHelpAnywhere(t *testing.T) {
	const createHelp = "sluice topic create - create a topic"
	for _, args := range [][]string{
		{"topic", "create", "x", "--help"},
		{"topic", "create", "--help", "x"},
		{"topic", "create", "x", "-h", "--partitions", "3"},
		{"topic", "-h", "create", "x"},
		{"help", "topic", "create"},
		{"-o", "json", "topic", "create", "x", "--help"},
	} {
		r := offline(t, args...)
		if r.code != 0 || !strings.Contains(r.stdout, createHelp) || r.stderr != "" {
			t.Errorf("%v: exit %d, stdout %.80q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
	// A group's help lists its commands.
	if r := offline(t, "topic", "--help"); r.code != 0 || !strings.Contains(r.stdout, "describe") {
		t.Errorf("topic --help: exit %d, %q", r.code, r.stdout)
	}
	// "--help" after "--" is a positional argument, not a request for help.
	if r := offline(t, "topic", "describe", "--", "--help"); r.code != 1 || !strings.Contains(r.stderr, "unavailable") {
		t.Errorf("describe -- --help: exit %d, %q", r.code, r.stderr)
	}
}

func TestMissingRequiredFlag(t *testing.T) {
	r := offline(t, "plugin", "upload", "FILE.wasm")
	want := "sluice: plugin upload: missing required flag --kind (see sluice plugin upload --help)\n"
	if r.code != 1 || r.stderr != want || r.stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want %q", r.code, r.stdout, r.stderr, want)
	}
	r = offline(t, "group", "reset-offsets", "web", "--to", "earliest")
	if r.code != 1 || !strings.Contains(r.stderr, "missing required flag --topic") {
		t.Errorf("reset-offsets without --topic: exit %d, %q", r.code, r.stderr)
	}
	// The help still says which flags are required.
	if r := offline(t, "plugin", "upload", "--help"); !strings.Contains(r.stdout, "partitioner or processor (required)") {
		t.Errorf("help: %s", r.stdout)
	}
}

// TestRequiredFlagsAreChecked fails when a command marks a flag Required
// with a type requireFlags does not handle: cli would check it itself and
// print the confusing help it prints.
func TestRequiredFlagsAreChecked(t *testing.T) {
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			for _, f := range c.Flags {
				if rf, ok := f.(cli.RequiredFlag); ok && rf.IsRequired() {
					t.Errorf("%s %s: flag %s is still Required: add its type to unrequire", path, c.Name, f.Names()[0])
				}
			}
			walk(path+" "+c.Name, c.Subcommands)
		}
	}
	walk("sluice", app.Commands)
}

func TestJSONErrors(t *testing.T) {
	srv := startNode(t)
	cases := []struct {
		server string
		args   []string
		code   string
	}{
		{srv, []string{"-o", "json", "topic", "describe", "nope"}, "unknown_topic"},
		{srv, []string{"topic", "describe", "nope", "--output", "json"}, "unknown_topic"},
		{srv, []string{"--output=json", "topic", "list", "--bogus"}, "usage"},
		{srv, []string{"-o", "json", "bogus"}, "usage"},
		{srv, []string{"-o", "json", "topic", "create", "bad name"}, "invalid_request"},
		{noServer, []string{"-o", "json", "--retry-timeout", "0", "topic", "list"}, "unavailable"},
	}
	for _, c := range cases {
		r := sluice(t, c.server, "", c.args...)
		var e struct {
			Error struct{ Code, Message string }
		}
		if r.code != 1 || json.Unmarshal([]byte(r.stderr), &e) != nil || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q is not one JSON error", c.args, r.code, r.stderr)
			continue
		}
		if e.Error.Code != c.code || e.Error.Message == "" || strings.HasPrefix(e.Error.Message, "sluice:") {
			t.Errorf("%v: error %+v, want code %s", c.args, e.Error, c.code)
		}
	}
}

func TestErrorsDoNotRepeatOrNameOperations(t *testing.T) {
	srv := startNode(t)
	ok(t, srv, "", "topic", "create", "t")
	r := sluice(t, srv, "", "group", "reset-offsets", "web", "--topic", "nope", "--to", "latest")
	if r.code != 1 || strings.Count(r.stderr, "reset offsets of group web") != 1 || !strings.Contains(r.stderr, "nope") {
		t.Errorf("reset-offsets of an unknown topic: exit %d, %q", r.code, r.stderr)
	}
	for _, args := range [][]string{
		{"topic", "create", "t"},
		{"topic", "alter", "t", "--config", "foo=bar"},
		{"topic", "create", "big", "--partitions", "100000"},
	} {
		r := sluice(t, srv, "", args...)
		if r.code != 1 || strings.Contains(r.stderr, "_topic") {
			t.Errorf("%v: exit %d, %q names an internal operation", args, r.code, r.stderr)
		}
	}
	if got, want := dedupeMessage("a b: a b: c: c: d"), "a b: c: d"; got != want {
		t.Errorf("dedupe = %q, want %q", got, want)
	}
}

func TestTopicDeleteIfExistsSaysAbsent(t *testing.T) {
	srv := startNode(t)
	if r := ok(t, srv, "", "topic", "delete", "never-was", "--if-exists"); r.stdout != "topic never-was does not exist: nothing deleted\n" {
		t.Errorf("table: %q", r.stdout)
	}
	if r := ok(t, srv, "", "-o", "json", "topic", "delete", "never-was", "--if-exists"); !strings.Contains(r.stdout, `"absent": "never-was"`) {
		t.Errorf("json: %q", r.stdout)
	}
	ok(t, srv, "", "topic", "create", "was")
	if r := ok(t, srv, "", "topic", "delete", "was", "--if-exists"); r.stdout != "deleted topic was\n" {
		t.Errorf("existing: %q", r.stdout)
	}
}

// TestNamesAsPositionals uses topic and group names that are also command
// names or look like flags: each is taken as a name, never as a command.
func TestNamesAsPositionals(t *testing.T) {
	srv := startNode(t)
	for _, name := range []string{"help", "topic", "create", "list", "version", "h", "-x", "--", "..x"} {
		pre := []string{}
		if strings.HasPrefix(name, "-") {
			pre = []string{"--"} // a leading dash needs "--", as in every CLI
		}
		with := func(args ...string) []string { return append(args, append(pre, name)...) }
		ok(t, srv, "", with("topic", "create", "--partitions", "2")...)
		ok(t, srv, "v\n", with("produce")...)
		r := ok(t, srv, "", with("consume", "--max", "1")...)
		if r.stdout != "v\n" {
			t.Errorf("%q: consume printed %q", name, r.stdout)
		}
		r = ok(t, srv, "", with("-o", "json", "topic", "describe")...)
		var tp wire.Topic
		if err := json.Unmarshal([]byte(r.stdout), &tp); err != nil || tp.Name != name {
			t.Errorf("%q: describe %q (%v)", name, r.stdout, err)
		}
		ok(t, srv, "", with("group", "reset-offsets", "--topic", name, "--to", "latest")...)
		ok(t, srv, "", with("group", "describe")...)
		ok(t, srv, "", with("group", "delete")...)
		ok(t, srv, "", with("topic", "delete")...)
	}
}

func TestConsumeEscapesNonPrintable(t *testing.T) {
	srv := startNode(t)
	ok(t, srv, "", "topic", "create", "bin")
	cl, err := client.New(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	val := []byte("a\x1b[31mred\x07\xff\tz\u202e\r\nend\\")
	if _, err := cl.Produce(context.Background(), "bin", []client.Record{{Key: []byte("k\x00"), Value: val}}, client.ProduceOptions{}); err != nil {
		t.Fatal(err)
	}
	r := ok(t, srv, "", "consume", "bin", "--max", "1", "-K", "=")
	if want := `k\x00=a\x1b[31mred\x07\xff\tz\u{202e}\r\nend\` + "\n"; r.stdout != want {
		t.Errorf("escaped:\n got %q\nwant %q", r.stdout, want)
	}
	r = ok(t, srv, "", "consume", "bin", "--max", "1", "--raw")
	if r.stdout != string(val)+"\n" {
		t.Errorf("raw: %q", r.stdout)
	}
	if got := string(appendSafe(nil, []byte("héllo, wörld ✓"))); got != "héllo, wörld ✓" {
		t.Errorf("printable UTF-8 changed: %q", got)
	}
}

// TestBenchInterruptPrintsResult stops a slow bench run as Ctrl-C would,
// once the node holds some of its records: the result still prints.
func TestBenchInterruptPrintsResult(t *testing.T) {
	srv := startNode(t)
	ok(t, srv, "", "topic", "create", "b")
	cl, err := client.New(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"sluice", "--server", srv, "-o", "json", "bench", "produce", "b", "--records", "1000000", "--size", "10", "--rate", "200"}, strings.NewReader(""), &out, &errb)
	}()
	eventually(t, func() bool {
		o, err := cl.Offset(context.Background(), "b", 0, "latest")
		return err == nil && o >= 20
	})
	cancel()
	code := <-done
	var res benchResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("stdout %q: %v (stderr %q)", out.String(), err, errb.String())
	}
	if code != exitInterrupted || !res.Interrupted || res.Records < 20 || res.Records >= 1000000 || res.Seconds <= 0 {
		t.Errorf("exit %d, result %+v", code, res)
	}
	var e struct{ Error struct{ Code string } }
	if err := json.Unmarshal([]byte(lastLine(errb.String())), &e); err != nil || e.Error.Code != codeInterrupted {
		t.Errorf("stderr %q", errb.String())
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestVersion(t *testing.T) {
	srv := startNode(t)
	r := ok(t, srv, "", "-o", "json", "version")
	var v versionOutput
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("%q: %v", r.stdout, err)
	}
	if v.Client.Version == "" || v.Client.GoVersion == "" || v.Server == nil || v.Server.NodeID != 1 || v.Server.Version != v.Client.Version {
		t.Errorf("version = %+v", v)
	}
	r = ok(t, srv, "", "version")
	if !strings.HasPrefix(r.stdout, "client: sluice "+v.Client.Version) || !strings.Contains(r.stdout, "server: sluice "+v.Server.Version) {
		t.Errorf("table: %q", r.stdout)
	}
	// No node: still exit 0, and --client does not ask.
	if r := offline(t, "version"); r.code != 0 || !strings.Contains(r.stdout, "unavailable") {
		t.Errorf("offline: exit %d, %q", r.code, r.stdout)
	}
	if r := offline(t, "version", "--client"); r.code != 0 || strings.Contains(r.stdout, "server") {
		t.Errorf("--client: exit %d, %q", r.code, r.stdout)
	}
	// The metric names the same build.
	resp, err := http.Get(srv + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `sluice_build_info{go_version="`+v.Server.GoVersion+`"`) || !strings.Contains(string(body), `version="`+v.Server.Version+`"} 1`) {
		t.Errorf("no sluice_build_info for %+v in metrics", v.Server)
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "complete -o bashdefault", "zsh": "compdef _sluice_zsh_autocomplete sluice"} {
		if r := offline(t, "completion", shell); r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("%s: exit %d, %q", shell, r.code, r.stdout)
		}
	}
	if r := offline(t, "completion", "fish"); r.code != 1 || !strings.Contains(r.stderr, "fish") {
		t.Errorf("fish: exit %d, %q", r.code, r.stderr)
	}
	// The protocol the scripts use: the words so far, then the flag.
	r := sluice(t, noServer, "", "topic", completionFlag)
	if r.code != 0 || !strings.Contains(r.stdout, "create\n") || !strings.Contains(r.stdout, "describe\n") {
		t.Errorf("topic completions: exit %d, %q", r.code, r.stdout)
	}
	r = sluice(t, noServer, "", "topic", "create", "-", completionFlag)
	if r.code != 0 || !strings.Contains(r.stdout, "--partitions") {
		t.Errorf("flag completions: exit %d, %q", r.code, r.stdout)
	}
}
