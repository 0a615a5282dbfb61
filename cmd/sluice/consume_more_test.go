package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/sdk/wire"
)

// TestConsumeUntilEndOffsetsAndFormat: --until end reads exactly what was
// there at the start and exits; --offset starts partitions where asked;
// --format prints the template.
func TestConsumeUntilEndOffsetsAndFormat(t *testing.T) {
	srv := startNode(t)
	ok(t, srv, "", "topic", "create", "u", "--partitions", "3")
	var in strings.Builder
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&in, "k%d:v%d\n", i, i)
	}
	ok(t, srv, in.String(), "produce", "u", "-K", ":", "--header", "h=1")
	r := ok(t, srv, "", "-o", "json", "topic", "describe", "u")
	var tp wire.Topic
	if err := json.Unmarshal([]byte(r.stdout), &tp); err != nil {
		t.Fatal(err)
	}

	// Every record once, then exit (no --max, no --idle-timeout).
	r = ok(t, srv, "", "consume", "u", "--until", "end", "--format", `%p %o %k=%v [%h] %K/%V\n`)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 30 {
		t.Fatalf("--until end printed %d lines, want 30:\n%s", len(lines), r.stdout)
	}
	sort.Strings(lines)
	var p, o, kl, vl int
	var k, v string
	if _, err := fmt.Sscanf(lines[0], "%d %d %s [h=1] %d/%d", &p, &o, &k, &kl, &vl); err != nil || !strings.HasPrefix(k, "k") {
		t.Errorf("line %q: %v", lines[0], err)
	}
	_ = v

	// A partition's --offset moves its start; the others start at --from.
	end0 := tp.Partitions[0].HighWatermark
	r = ok(t, srv, "", "consume", "u", "--until", "end", "--offset", fmt.Sprintf("0=%d", end0-1), "--format", `%p:%o\n`)
	got := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		part, _, _ := strings.Cut(l, ":")
		got[part]++
	}
	if got["0"] != 1 || got["1"] != int(tp.Partitions[1].HighWatermark) || got["2"] != int(tp.Partitions[2].HighWatermark) {
		t.Errorf("--offset 0=%d: per partition %v, topic %+v", end0-1, got, tp.Partitions)
	}
	// --offset with --partition reads the partitions named by either.
	r = ok(t, srv, "", "consume", "u", "--until", "end", "--partition", "1", "--offset", "2=0", "--format", `%p\n`)
	if n := strings.Count(r.stdout, "0\n"); n != 0 || strings.Count(r.stdout, "\n") != int(tp.Partitions[1].HighWatermark+tp.Partitions[2].HighWatermark) {
		t.Errorf("--partition 1 --offset 2=0 printed %q", r.stdout)
	}
	// Nothing to read: exit at once.
	if r := ok(t, srv, "", "consume", "u", "--until", "end", "--from", "latest"); r.stdout != "" {
		t.Errorf("--from latest --until end printed %q", r.stdout)
	}
	for _, bad := range [][]string{
		{"consume", "u", "--until", "tomorrow"},
		{"consume", "u", "--offset", "0"},
		{"consume", "u", "--offset", "0=-1"},
		{"consume", "u", "--offset", "9=0"},
		{"consume", "u", "--format", "%x"},
		{"consume", "u", "--format", "50%"},
		{"consume", "u", "--until", "end", "--group", "g"},
	} {
		if r := sluice(t, srv, "", bad...); r.code != 1 {
			t.Errorf("%v: exit %d", bad, r.code)
		}
	}
}

func TestProduceTimestamp(t *testing.T) {
	srv := startNode(t)
	ok(t, srv, "", "topic", "create", "ts")
	ok(t, srv, "a\n", "produce", "ts", "--timestamp", "2026-01-02T03:04:05Z")
	ok(t, srv, "b\n", "produce", "ts", "--timestamp", "1700000000000")
	r := ok(t, srv, "", "consume", "ts", "--until", "end", "--format", `%t %v\n`)
	if r.stdout != "1767323045000 a\n1700000000000 b\n" {
		t.Errorf("timestamps: %q", r.stdout)
	}
	for _, bad := range []string{"0", "-5", "yesterday"} {
		if r := sluice(t, srv, "c\n", "produce", "ts", "--timestamp", bad); r.code != 1 {
			t.Errorf("--timestamp %s: exit %d", bad, r.code)
		}
	}
}

func TestResetOffsetsDryRunAndShift(t *testing.T) {
	srv := startNode(t)
	ok(t, srv, "", "topic", "create", "r", "--partitions", "2")
	ok(t, srv, "a\nb\nc\nd\ne\nf\ng\nh\n", "produce", "r")
	offsets := func(args ...string) map[int32]int64 {
		t.Helper()
		r := ok(t, srv, "", append([]string{"-o", "json", "group", "reset-offsets", "g", "--topic", "r"}, args...)...)
		var res wire.ResetOffsetsResponse
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatal(err)
		}
		m := map[int32]int64{}
		for _, o := range res.Offsets {
			m[o.Partition] = o.Committed
		}
		return m
	}
	committed := func() map[int32]int64 {
		t.Helper()
		r := ok(t, srv, "", "-o", "json", "group", "describe", "g")
		var g wire.Group
		if err := json.Unmarshal([]byte(r.stdout), &g); err != nil {
			t.Fatal(err)
		}
		m := map[int32]int64{}
		for _, o := range g.Offsets {
			m[o.Partition] = o.Committed
		}
		return m
	}
	// A group with nothing committed cannot shift.
	if r := sluice(t, srv, "", "group", "reset-offsets", "g", "--topic", "r", "--shift-by", "1"); r.code != 1 || !strings.Contains(r.stderr, "no committed offset") {
		t.Errorf("shift without offsets: exit %d, %q", r.code, r.stderr)
	}
	offsets("--to", "2")
	if got := offsets("--to", "earliest", "--dry-run"); got[0] != 0 || got[1] != 0 {
		t.Errorf("dry run to earliest answered %v", got)
	}
	if got := committed(); got[0] != 2 || got[1] != 2 {
		t.Errorf("after a dry run the group holds %v, want 2 and 2", got)
	}
	r := ok(t, srv, "", "group", "reset-offsets", "g", "--topic", "r", "--shift-by", "-1", "--dry-run")
	if !strings.HasPrefix(r.stdout, "dry run: group g would commit (nothing was changed):") {
		t.Errorf("dry run table: %q", r.stdout)
	}
	if got := offsets("--shift-by", "-1"); got[0] != 1 || got[1] != 1 {
		t.Errorf("shift by -1 answered %v", got)
	}
	if got := committed(); got[0] != 1 || got[1] != 1 {
		t.Errorf("after shift by -1: %v", got)
	}
	// Clamped to the log: at most the log end, at least the start.
	all := offsets("--shift-by", "1000")
	if got := committed(); got[0] != all[0] || got[0] < 2 || got[0]+got[1] != 8 {
		t.Errorf("after shift by 1000: %v (answered %v), want the log ends", got, all)
	}
	if got := offsets("--shift-by", "-1000"); got[0] != 0 || got[1] != 0 {
		t.Errorf("shift by -1000: %v", got)
	}
	for _, bad := range [][]string{{"--to", "1", "--shift-by", "1"}, {}} {
		if r := sluice(t, srv, "", append([]string{"group", "reset-offsets", "g", "--topic", "r"}, bad...)...); r.code != 1 || !strings.Contains(r.stderr, "shift-by") {
			t.Errorf("%v: exit %d, %q", bad, r.code, r.stderr)
		}
	}
}

func TestTopicSizes(t *testing.T) {
	srv := startNode(t)
	ok(t, srv, "", "topic", "create", "s", "--partitions", "2")
	ok(t, srv, "", "topic", "create", "empty")
	ok(t, srv, strings.Repeat(strings.Repeat("x", 1000)+"\n", 50), "produce", "s")
	r := ok(t, srv, "", "-o", "json", "topic", "describe", "s")
	var tp wire.Topic
	if err := json.Unmarshal([]byte(r.stdout), &tp); err != nil {
		t.Fatal(err)
	}
	sum, known := topicBytes(&tp)
	if !known || sum < 50*1000 {
		t.Errorf("topic of 50 KB of values has log_bytes %d (known %v): %+v", sum, known, tp.Partitions)
	}
	r = ok(t, srv, "", "topic", "describe", "s")
	if !strings.Contains(r.stdout, "size                "+humanBytes(sum)) || !strings.Contains(r.stdout, "SIZE") {
		t.Errorf("describe table: %s", r.stdout)
	}
	r = ok(t, srv, "", "-o", "json", "topic", "list", "--sizes")
	var l struct{ Topics []topicWithSize }
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || len(l.Topics) != 2 {
		t.Fatalf("list --sizes: %s (%v)", r.stdout, err)
	}
	if l.Topics[0].Name != "empty" || l.Topics[0].LogBytes >= 1000 || l.Topics[1].LogBytes != sum {
		t.Errorf("list --sizes: %+v, want s = %d", l.Topics, sum)
	}
	if r := ok(t, srv, "", "topic", "list", "--sizes"); !strings.Contains(r.stdout, humanBytes(sum)) {
		t.Errorf("list table: %s", r.stdout)
	}
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 30: "5.0 GiB", -1: "?"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestProduceToPartition(t *testing.T) {
	srv := startNode(t)
	ok(t, srv, "", "topic", "create", "pp", "--partitions", "3")
	ok(t, srv, "a:1\nb:2\nc:3\nd:4\n", "produce", "pp", "--partition", "2", "-K", ":")
	ok(t, srv, "e\n", "produce", "pp", "-p", "0", "--no-idempotence", "--acks", "1")
	r := ok(t, srv, "", "consume", "pp", "--until", "end", "--format", `%p %k%v\n`)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	sort.Strings(lines)
	if strings.Join(lines, ",") != "0 e,2 a1,2 b2,2 c3,2 d4" {
		t.Errorf("records by partition: %q", lines)
	}
	for _, bad := range []string{"3", "-1"} {
		if r := sluice(t, srv, "x\n", "produce", "pp", "--partition", bad); r.code != 1 || !strings.Contains(r.stderr, "partition") {
			t.Errorf("--partition %s: exit %d, %q", bad, r.code, r.stderr)
		}
	}
}
