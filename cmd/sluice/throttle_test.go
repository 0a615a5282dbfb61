package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{"1048576", 1 << 20, ""},
		{"512KiB", 512 << 10, ""},
		{"10MiB", 10 << 20, ""},
		{"10mib/s", 10 << 20, ""},
		{"1.5GiB", 3 << 29, ""},
		{"2 MiB", 2 << 20, ""},
		{"100B", 100, ""},
		{"10MB", 0, `unknown unit "MB"`},
		{"10Mbit", 0, `unknown unit "Mbit"`},
		{"0", 0, "must be positive"},
		{"0MiB", 0, "must be positive"},
		{"-5MiB", 0, "must be positive"},
		{"0.0001", 0, "must be positive"},
		{"fast", 0, `unknown unit "fast"`},
		{"", 0, "not a number"},
		{"1.2.3MiB", 0, "not a number"},
		{"2048GiB", 0, "above the maximum"},
	} {
		got, err := parseRate("throttle", tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("parseRate(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "10MiB")):
			t.Errorf("parseRate(%q) error %v; want one with %q and an example", tc.in, err, tc.err)
		}
	}
}

func TestProgressText(t *testing.T) {
	for _, tc := range []struct {
		p    wire.CopyProgress
		want string
	}{
		{wire.CopyProgress{BytesLeft: 3 << 20, Rate: 1 << 20, ETASeconds: 3}, "3.0 MiB left at 1.0 MiB/s, ETA 3s"},
		{wire.CopyProgress{BytesLeft: 90 << 20, Rate: 1 << 20, ETASeconds: 90.2}, "90.0 MiB left at 1.0 MiB/s, ETA 1m31s"},
		{wire.CopyProgress{BytesLeft: 5 << 10, Rate: -1, ETASeconds: -1, Unknown: 1}, "5.0 KiB left at ?, ETA ? (1 copies without figures yet)"},
		{wire.CopyProgress{BytesLeft: 0, Rate: 0}, "0 B left"},
		{wire.CopyProgress{BytesLeft: -1, Rate: -1, ETASeconds: -1, Unknown: 2}, "bytes left unknown (no progress reported yet)"},
	} {
		if got := progressText(tc.p); got != tc.want {
			t.Errorf("progressText(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
	// The bar's figures: a finished partition counts as done at its last
	// size, an unknown one not at all.
	bp := newByteProgress()
	moving := []wire.ReassignmentStatus{
		{Topic: "a", Partition: 0, LeaderLogBytes: 100, Copies: []wire.ReplicaCopy{{LogBytes: 40}, {LogBytes: 10}}},
		{Topic: "b", Partition: 0, LeaderLogBytes: -1},
	}
	if have, need := bp.update(moving); have != 50 || need != 200 {
		t.Fatalf("update: %d of %d", have, need)
	}
	if have, need := bp.update(nil); have != 200 || need != 200 {
		t.Fatalf("after completion: %d of %d", have, need)
	}
}

func TestReassignThrottleFlagErrors(t *testing.T) {
	srv := startNode(t)
	ok(t, srv, "", "topic", "create", "orders")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"partition", "reassign", "orders/0", "--replicas", "1", "--throttle", "10MB"}, `unknown unit "MB"`},
		{[]string{"partition", "reassign", "orders/0", "--replicas", "1", "--throttle", "0"}, "must be positive"},
		{[]string{"partition", "reassign", "orders/0", "--replicas", "1", "--throttle=-1MiB"}, "must be positive"},
		{[]string{"partition", "reassign", "--throttle", "1MiB", "--remove-throttle"}, "contradict"},
		{[]string{"partition", "reassign", "--status", "--throttle", "1MiB"}, "not with --generate, --status or --cancel"},
		{[]string{"partition", "reassign", "--cancel", "--remove-throttle"}, "not with --generate, --status or --cancel"},
		{[]string{"partition", "reassign", "orders", "--throttle", "1MiB"}, "name one partition"},
		{[]string{"broker", "decommission", "1", "--throttle", "0KiB"}, "must be positive"},
		{[]string{"broker", "decommission", "1", "--throttle", "1TB"}, `unknown unit "TB"`},
	} {
		r := sluice(t, srv, "", tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("sluice %s: exit %d, stderr %q; want an error with %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
	// With nothing moving, a throttle change has nothing to do.
	if r := ok(t, srv, "", "partition", "reassign", "--throttle", "1MiB"); !strings.Contains(r.stdout, "nothing to do") {
		t.Fatalf("throttle with no move: %+v", r)
	}
}

// A throttled move through the CLI: the status shows bytes left and the
// throttle (in tables and JSON), raising the throttle of every move in
// progress lets it finish, and --wait reports it complete.
func TestReassignThrottleCLI(t *testing.T) {
	n1 := testnode.Start(t)
	testnode.Join(t, n1, 2, nil)
	srv := n1.URL()
	// Node 2 joins the raft quorum too: create once it did.
	healthSoon(t, srv, "both controllers voters", func(h wire.ClusterHealth) bool {
		return h.Controller.QuorumOK && len(h.Controller.Voters) == 2 && len(h.Brokers) == 2
	})
	okSoon(t, srv, "", "topic", "create", "big", "--replication-factor", "1")
	// Eight produce runs: eight batches or more of 128 KiB.
	var in strings.Builder
	for i := range 128 {
		fmt.Fprintf(&in, "%s\n", strings.Repeat(string(rune('a'+i%26)), 1023))
	}
	for range 8 {
		okSoon(t, srv, in.String(), "produce", "big", "--acks", "all")
	}
	var tp wire.Topic
	if err := json.Unmarshal([]byte(okSoon(t, srv, "", "--output", "json", "topic", "describe", "big").stdout), &tp); err != nil {
		t.Fatal(err)
	}
	from := tp.Partitions[0].Replicas[0]
	to := 3 - from // the other of brokers 1 and 2
	replicas := fmt.Sprintf("%d,%d", from, to)
	r := okSoon(t, srv, "", "partition", "reassign", "big/0", "--replicas", replicas, "--throttle", "4KiB")
	if !strings.Contains(r.stdout, "4.0 KiB/s") {
		t.Fatalf("reassign output lacks the throttle:\n%s", r.stdout)
	}
	var st wire.ReassignmentList
	deadline := time.Now().Add(time.Minute)
	for {
		r = ok(t, srv, "", "--output", "json", "partition", "reassign", "--status")
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatal(err)
		}
		if len(st.Reassignments) == 1 && st.Total.BytesLeft > 0 && len(st.Reassignments[0].Copies) == 1 && st.Reassignments[0].Copies[0].LogBytes >= 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed bytes left: %s", r.stdout)
		}
		time.Sleep(100 * time.Millisecond) // poll interval, not synchronisation
	}
	mv := st.Reassignments[0]
	if mv.Throttle != 4<<10 || !mv.Copies[0].Throttled || mv.Copies[0].Replica != to || mv.LeaderLogBytes < 1<<20 || mv.Progress.BytesLeft != st.Total.BytesLeft {
		t.Fatalf("status: %+v", st)
	}
	r = ok(t, srv, "", "partition", "reassign", "--status")
	for _, want := range []string{"1 partitions, 1 moving; ", " left at ", "BYTES LEFT", "ETA", "THROTTLE", "4.0 KiB/s", "big/0"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("status table lacks %q:\n%s", want, r.stdout)
		}
	}
	// --wait reports the bytes left, per partition and in total; at 4 KiB/s
	// the megabyte cannot be copied within its --timeout.
	r = sluice(t, srv, "", "partition", "reassign", "big/0", "--replicas", replicas, "--wait", "--timeout", "1500ms")
	for _, want := range []string{"1 of 1 partitions still moving", " left at ", "big/0: ", "throttle 4.0 KiB/s", "still moving after 1.5s"} {
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Fatalf("--wait while throttled: exit %d, stderr lacks %q:\n%s", r.code, want, r.stderr)
		}
	}
	// Change one move's throttle (still far too low to finish), then
	// raise the throttle of every move in progress and wait.
	r = ok(t, srv, "", "partition", "reassign", "big/0", "--throttle", "8KiB")
	if !strings.Contains(r.stderr, "throttle 8.0 KiB/s on 1 moves in progress") || !strings.Contains(r.stdout, "8.0 KiB/s") {
		t.Fatalf("throttle change: %+v", r)
	}
	r = okSoon(t, srv, "", "partition", "reassign", "--throttle", "1GiB", "--wait", "--timeout", "1m")
	if !strings.Contains(r.stderr, "throttle 1.0 GiB/s on 1 moves in progress") || !strings.Contains(r.stderr, "reassignment complete") {
		t.Fatalf("raise and wait: %+v", r)
	}
	if err := json.Unmarshal([]byte(okSoon(t, srv, "", "--output", "json", "topic", "describe", "big").stdout), &tp); err != nil {
		t.Fatal(err)
	}
	if p := tp.Partitions[0]; !slices.Equal(p.Replicas, []int32{from, to}) || len(p.AddingReplicas) != 0 {
		t.Fatalf("after the move: %+v", p)
	}
}

// The --wait bar renders bytes and the ETA, and stops cleanly done or not.
func TestByteBar(t *testing.T) {
	for _, done := range []bool{true, false} {
		var buf syncBuffer
		b := startByteBar(&buf, "copied")
		b.set(3<<20, 10<<20, wire.CopyProgress{BytesLeft: 7 << 20, Rate: 1 << 20, ETASeconds: 7})
		b.stop(done)
		out := buf.String()
		for _, want := range []string{"copied", "MiB", "/ 10.0 MiB"} {
			if !strings.Contains(out, want) {
				t.Fatalf("done=%v: bar output lacks %q: %q", done, want, out)
			}
		}
	}
}
