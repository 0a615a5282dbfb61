package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/testnode"
)

func TestParseTopicPartition(t *testing.T) {
	for _, c := range []struct {
		in    string
		topic string
		p     int32
		bad   bool
	}{
		{in: "orders/0", topic: "orders", p: 0},
		{in: "a.b-c/12", topic: "a.b-c", p: 12},
		{in: "orders", topic: "orders", p: -1}, // a whole topic
		{in: "orders/", bad: true},
		{in: "/3", bad: true},
		{in: "orders/-1", bad: true},
		{in: "orders/x", bad: true},
	} {
		topic, p, err := parseTopicPartition(c.in)
		if c.bad != (err != nil) || (!c.bad && (topic != c.topic || p != c.p)) {
			t.Errorf("%q: %q %d %v", c.in, topic, p, err)
		}
	}
}

// TestPartitionRecover: a damaged file of a single-replica partition
// leaves it offline_data_lost (describe shows it); recover refuses an
// online partition and brings the lost one back, empty.
func TestPartitionRecover(t *testing.T) {
	n := testnode.Start(t)
	srv := n.URL()
	ok(t, srv, "", "topic", "create", "rec", "--partitions", "2")
	ok(t, srv, "a\nb\nc\n", "produce", "rec")
	if r := sluice(t, srv, "", "partition", "recover", "rec/0"); r.code == 0 || !strings.Contains(r.stderr, "online") {
		t.Fatalf("recover of an online partition: exit %d, %q", r.code, r.stderr)
	}
	paths, err := filepath.Glob(filepath.Join(n.Config.DataDir, "partitions", "rec-*", "0.db"))
	if err != nil || len(paths) != 1 {
		t.Fatalf("%v %v", paths, err)
	}
	n.Stop(t)
	if err := os.WriteFile(paths[0], bytes.Repeat([]byte{0xde, 0xad}, 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	n.Restart(t)
	srv = n.URL()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(ok(t, srv, "", "topic", "describe", "rec").stdout, "offline_data_lost") {
		if time.Now().After(deadline) {
			t.Fatalf("describe never showed the lost partition:\n%s", ok(t, srv, "", "topic", "describe", "rec").stdout)
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
	r := ok(t, srv, "", "partition", "recover", "rec") // the whole topic: its leaderless partitions
	if !strings.Contains(r.stdout, "recovered rec/0: leader 1") || strings.Contains(r.stdout, "rec/1") {
		t.Fatalf("%q", r.stdout)
	}
	if r := sluice(t, srv, "", "partition", "recover", "rec"); r.code == 0 || !strings.Contains(r.stderr, "nothing to recover") {
		t.Fatalf("second recover of the topic: exit %d, %q", r.code, r.stderr)
	}
	if out := ok(t, srv, "", "topic", "describe", "rec").stdout; strings.Contains(out, "offline") {
		t.Fatalf("still offline after recovery:\n%s", out)
	}
	ok(t, srv, "d\n", "produce", "rec")
}
