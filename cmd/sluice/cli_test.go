package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/sdk/wire"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestTopicProduceConsumeSession(t *testing.T) {
	srv := startNode(t)

	r := ok(t, srv, "", "topic", "create", "orders", "--partitions", "3", "--config", "retention.ms=86400000")
	if !strings.Contains(r.stdout, "created topic orders: 3 partitions") {
		t.Fatalf("create said %q", r.stdout)
	}
	r = ok(t, srv, "", "topic", "list")
	if !strings.Contains(r.stdout, "orders") || !strings.Contains(r.stdout, "NAME") {
		t.Fatalf("list: %q", r.stdout)
	}

	// 30 keyed lines and 3 without a key.
	var in strings.Builder
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&in, "user-%d:order %d\n", i%7, i)
	}
	in.WriteString("no key 1\nno key 2\nno key 3\n")
	r = ok(t, srv, in.String(), "produce", "orders", "--key-separator", ":", "--acks", "all", "--verbose", "--output", "json", "--header", "source=test")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 33 {
		t.Fatalf("verbose printed %d lines, want 33:\n%s", len(lines), r.stdout)
	}
	for i, l := range lines[:30] {
		var res struct{ Record, Partition int32 }
		if err := json.Unmarshal([]byte(l), &res); err != nil {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
		want := partitioner.HashPartition([]byte(fmt.Sprintf("user-%d", i%7)), 3)
		if res.Partition != want {
			t.Errorf("record %d (key user-%d) went to partition %d, Kafka's murmur2 says %d", i, i%7, res.Partition, want)
		}
	}

	// Read everything back as JSON.
	r = ok(t, srv, "", "consume", "orders", "--from", "earliest", "--max", "33", "--format", "json")
	recs := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(recs) != 33 {
		t.Fatalf("consumed %d records, want 33", len(recs))
	}
	last := map[int32]int64{0: -1, 1: -1, 2: -1}
	var values []string
	for _, l := range recs {
		var fr wire.FetchRecord
		if err := json.Unmarshal([]byte(l), &fr); err != nil {
			t.Fatalf("record %q: %v", l, err)
		}
		if fr.Offset != last[fr.Partition]+1 {
			t.Errorf("partition %d: offset %d after %d", fr.Partition, fr.Offset, last[fr.Partition])
		}
		last[fr.Partition] = fr.Offset
		if len(fr.Headers) != 1 || fr.Headers[0].Key != "source" || fr.Headers[0].Value != "test" {
			t.Errorf("headers = %+v", fr.Headers)
		}
		values = append(values, fr.Value)
	}
	sort.Strings(values)
	if values[0] != "no key 1" || values[32] != "order 9" {
		t.Errorf("values %q … %q", values[0], values[32])
	}

	// Text format with keys, one partition.
	r = ok(t, srv, "", "consume", "orders", "--partition", "1", "--max", "1", "--key-separator", "=")
	if !strings.HasPrefix(r.stdout, "user-") && !strings.HasPrefix(r.stdout, "no key") {
		t.Errorf("text consume printed %q", r.stdout)
	}

	// Describe: table for people, JSON for scripts; offsets add up.
	r = ok(t, srv, "", "topic", "describe", "orders")
	if !strings.Contains(r.stdout, "PARTITION") || !strings.Contains(r.stdout, "retention.ms=86400000") {
		t.Errorf("describe table: %s", r.stdout)
	}
	r = ok(t, srv, "", "--output", "json", "topic", "describe", "orders")
	var tp wire.Topic
	if err := json.Unmarshal([]byte(r.stdout), &tp); err != nil {
		t.Fatalf("describe JSON: %v\n%s", err, r.stdout)
	}
	var hw int64
	for _, p := range tp.Partitions {
		hw += p.HighWatermark
	}
	if tp.PartitionCount != 3 || len(tp.Partitions) != 3 || hw != 33 {
		t.Errorf("describe: %d partitions, high watermarks sum to %d, want 3 and 33", tp.PartitionCount, hw)
	}

	// Alter, then delete.
	r = ok(t, srv, "", "topic", "alter", "orders", "--config", "retention.ms=3600000")
	if !strings.Contains(r.stdout, "retention.ms=3600000") {
		t.Errorf("alter: %s", r.stdout)
	}
	ok(t, srv, "", "topic", "delete", "orders")
	if r := sluice(t, srv, "", "topic", "describe", "orders"); r.code == 0 {
		t.Error("deleted topic still described")
	}
}

func TestProduceFromFileAndConsumeFromLatest(t *testing.T) {
	srv := startNode(t)
	ok(t, srv, "", "topic", "create", "events")
	f := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(f, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := ok(t, srv, "", "produce", "events", "--file", f, "--acks", "1")
	if !strings.Contains(r.stderr, "produced 3 records to events") {
		t.Errorf("produce summary: %q", r.stderr)
	}
	// From offset 1 gives b, c.
	r = ok(t, srv, "", "consume", "events", "--from", "1", "--max", "2")
	if r.stdout != "b\nc\n" {
		t.Errorf("consume from 1: %q", r.stdout)
	}
	// From latest there is nothing: the idle timeout ends the run cleanly.
	r = ok(t, srv, "", "consume", "events", "--from", "latest", "--idle-timeout", "300ms")
	if r.stdout != "" {
		t.Errorf("consume from latest printed %q", r.stdout)
	}
}

func TestErrorsExitNonZeroWithOneLine(t *testing.T) {
	srv := startNode(t)
	ok(t, srv, "", "topic", "create", "exists")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown topic", []string{"topic", "describe", "nope"}, "nope"},
		{"produce to unknown topic", []string{"produce", "nope"}, "nope"},
		{"consume unknown topic", []string{"consume", "nope", "--max", "1"}, "nope"},
		{"topic exists", []string{"topic", "create", "exists"}, "exists"},
		{"bad partitions", []string{"topic", "create", "zero", "--partitions", "0"}, "partition"},
		{"bad config", []string{"topic", "create", "cfg", "--config", "retention.ms"}, "key=value"},
		{"missing name", []string{"topic", "create"}, "missing"},
		{"bad output", []string{"--output", "yaml", "topic", "list"}, "yaml"},
		{"unknown flag", []string{"topic", "list", "--bogus"}, "bogus"},
		{"bad acks", []string{"produce", "exists", "--acks", "2"}, "acks"},
		{"bad from", []string{"consume", "exists", "--from", "yesterday"}, "yesterday"},
		{"unknown partition", []string{"consume", "exists", "--partition", "5", "--max", "1"}, "partition"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := sluice(t, srv, "line\n", c.args...)
			if r.code == 0 {
				t.Fatalf("exit 0; stdout %q", r.stdout)
			}
			msg := strings.TrimSpace(r.stderr)
			if !strings.HasPrefix(msg, "sluice: ") || strings.Count(msg, "\n") != 0 {
				t.Errorf("stderr is not one 'sluice: ' line: %q", r.stderr)
			}
			if !strings.Contains(strings.ToLower(msg), c.want) {
				t.Errorf("stderr %q does not mention %q", msg, c.want)
			}
		})
	}
	// Idempotent forms for scripts.
	if r := ok(t, srv, "", "topic", "create", "exists", "--partitions", "9", "--if-not-exists"); !strings.Contains(r.stdout, "topic exists exists: 1 partitions") {
		t.Errorf("--if-not-exists: %q", r.stdout)
	}
	ok(t, srv, "", "topic", "delete", "never-was", "--if-exists")

	// Nothing was written by the failed calls.
	r := ok(t, srv, "", "--output", "json", "topic", "list")
	var l wire.TopicList
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || len(l.Topics) != 1 || l.Topics[0].Name != "exists" {
		t.Errorf("topics after failures: %s (%v)", r.stdout, err)
	}
	// Internal topics show only when asked for.
	r = ok(t, srv, "", "--output", "json", "topic", "list", "--internal")
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		t.Fatal(err)
	}
	for _, tp := range l.Topics {
		if tp.Name != "exists" && !tp.Internal {
			t.Errorf("unexpected topic %+v", tp)
		}
	}
}

func TestClusterAndBench(t *testing.T) {
	srv := startNode(t)
	r := ok(t, srv, "", "--output", "json", "cluster")
	var cl wire.Cluster
	if err := json.Unmarshal([]byte(r.stdout), &cl); err != nil {
		t.Fatalf("cluster JSON: %v\n%s", err, r.stdout)
	}
	if cl.Controller.Leader != 1 || len(cl.Brokers) != 1 || cl.Brokers[0].State != wire.StateAlive {
		t.Errorf("cluster = %+v", cl)
	}
	r = ok(t, srv, "", "cluster", "brokers")
	if !strings.Contains(r.stdout, "controller,broker") {
		t.Errorf("brokers table: %s", r.stdout)
	}

	ok(t, srv, "", "topic", "create", "bench", "--partitions", "2", "--config", "durability=replicated")
	r = ok(t, srv, "", "--output", "json", "bench", "produce", "bench", "--records", "3000", "--size", "100", "--batch", "200", "--keys", "10")
	var pr benchResult
	if err := json.Unmarshal([]byte(r.stdout), &pr); err != nil {
		t.Fatalf("bench produce JSON: %v\n%s", err, r.stdout)
	}
	if pr.Records != 3000 || pr.Errors != 0 || pr.Bytes != 300000 || pr.Latency.P50 <= 0 || pr.Latency.P99 < pr.Latency.P50 {
		t.Errorf("bench produce = %+v", pr)
	}
	r = ok(t, srv, "", "--output", "json", "bench", "consume", "bench")
	var cr benchResult
	if err := json.Unmarshal([]byte(r.stdout), &cr); err != nil {
		t.Fatalf("bench consume JSON: %v\n%s", err, r.stdout)
	}
	if cr.Records != 3000 || cr.Bytes < 300000 {
		t.Errorf("bench consume = %+v", cr)
	}
	// A fixed-rate run paces itself: 200 records at 1000/s take ≥ 0.19 s.
	r = ok(t, srv, "", "--output", "json", "bench", "produce", "bench", "--records", "200", "--size", "10", "--rate", "1000")
	var rr benchResult
	if err := json.Unmarshal([]byte(r.stdout), &rr); err != nil {
		t.Fatal(err)
	}
	if rr.Records != 200 || rr.Seconds < 0.19 {
		t.Errorf("fixed-rate run = %+v", rr)
	}
}

// TestConsumeGroupResumes reads part of a topic as a group member, then
// the rest with a new member: the commit on exit makes the second run
// start after the last record the first one printed.
func TestConsumeGroupResumes(t *testing.T) {
	srv := startNode(t)
	ok(t, srv, "", "topic", "create", "jobs")
	ok(t, srv, "j0\nj1\nj2\nj3\nj4\nj5\nj6\nj7\nj8\nj9\n", "produce", "jobs")
	r := sluice(t, srv, "", "consume", "jobs", "--group", "workers", "--from", "earliest", "--max", "6")
	if r.code != 0 {
		t.Fatalf("consume --group: exit %d: %s", r.code, r.stderr)
	}
	if r.stdout != "j0\nj1\nj2\nj3\nj4\nj5\n" {
		t.Fatalf("first member read %q", r.stdout)
	}
	r = ok(t, srv, "", "consume", "jobs", "--group", "workers", "--from", "earliest", "--max", "4")
	if r.stdout != "j6\nj7\nj8\nj9\n" {
		t.Fatalf("second member read %q, want j6..j9", r.stdout)
	}
	if r := sluice(t, srv, "", "consume", "jobs", "--group", "workers", "--from", "3"); r.code == 0 || !strings.Contains(r.stderr, "reset-offsets") {
		t.Errorf("--from OFFSET with --group: exit %d, %q", r.code, r.stderr)
	}
}

// TestTenThousandLines produces 10,000 keyed lines through the CLI and
// reads them back: every line once, each partition in produce order.
func TestTenThousandLines(t *testing.T) {
	srv := startNode(t)
	ok(t, srv, "", "topic", "create", "many", "--partitions", "4", "--config", "durability=replicated")
	var in strings.Builder
	for i := 0; i < 10_000; i++ {
		fmt.Fprintf(&in, "k%d\t%d\n", i%13, i)
	}
	ok(t, srv, in.String(), "produce", "many", "--key-separator", "\t", "--acks", "1")
	r := ok(t, srv, "", "consume", "many", "--max", "10000", "--format", "json")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 10_000 {
		t.Fatalf("read %d records, want 10000", len(lines))
	}
	seen := make([]bool, 10_000)
	lastPerKey := map[string]int{}
	for _, l := range lines {
		var fr wire.FetchRecord
		if err := json.Unmarshal([]byte(l), &fr); err != nil {
			t.Fatal(err)
		}
		var i int
		fmt.Sscan(fr.Value, &i)
		if seen[i] {
			t.Fatalf("line %d read twice", i)
		}
		seen[i] = true
		// One key lives in one partition, so its lines come back in order.
		if prev, ok := lastPerKey[*fr.Key]; ok && i < prev {
			t.Fatalf("key %s: line %d after %d", *fr.Key, i, prev)
		}
		lastPerKey[*fr.Key] = i
		if want := partitioner.HashPartition([]byte(*fr.Key), 4); fr.Partition != want {
			t.Fatalf("key %s in partition %d, murmur2 says %d", *fr.Key, fr.Partition, want)
		}
	}
}
