package chaos

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

func TestClassify(t *testing.T) {
	api := func(code wire.Code, msg string) error {
		return fmt.Errorf("produce to chaos: %w", &client.APIError{Status: 503, Code: code, Message: msg})
	}
	cases := []struct {
		name string
		err  error
		want Outcome
	}{
		{"acknowledged", nil, Acked},
		{"connection refused", fmt.Errorf("%w at http://x: %w", client.ErrUnavailable, errors.New("connect: connection refused")), Failed},
		{"cut mid-request", errors.New("POST /v1/topics/chaos/records: EOF"), Indeterminate},
		{"client timeout", context.DeadlineExceeded, Indeterminate},
		{"server timeout", api(wire.CodeTimeout, "chaos-0: offset 9 not committed: timed out"), Indeterminate},
		{"internal", api(wire.CodeInternal, "forward to chaos-0 on node 2: EOF"), Indeterminate},
		{"unknown topic", api(wire.CodeUnknownTopic, "unknown topic chaos"), Failed},
		{"isr too small before the append", api(wire.CodeNotEnoughReplicas, "chaos-0: not enough in-sync replicas"), Failed},
		{"isr shrank after the append", api(wire.CodeNotEnoughReplicas, "chaos-0: offsets up to 9: not enough in-sync replicas after append"), Indeterminate},
		{"not the leader", api(wire.CodeNotLeader, "chaos-0 is led by node 2, not 1: not the leader for partition"), Failed},
		{"leadership lost while waiting", api(wire.CodeNotLeader, "chaos-0: leadership lost before offset 9 was committed: not the leader for partition"), Indeterminate},
		{"log closed in the append", api(wire.CodeNotLeader, "append to chaos-0: log closed"), Indeterminate},
		{"broker closing", api(wire.CodeNotLeader, "chaos-0: broker closed"), Indeterminate},
		{"node not ready", api(wire.CodeUnavailable, "node 2 has not caught up with the metadata"), Failed},
		{"leader not dialled", api(wire.CodeUnavailable, "leader unreachable: node 2 at https://x: dial tcp: connection refused"), Failed},
		{"forward cut after sending", api(wire.CodeTimeout, "forward failed: node 2 at https://x: EOF"), Indeterminate},
		{"overloaded", api(wire.CodeOverloaded, "in-flight body limit"), Failed},
		{"stale sequence", api(wire.CodeOutOfOrderSequence, "sequence 4 below 8"), Failed},
		{"no token", api(wire.CodeUnauthenticated, "no credential"), Failed},
		{"denied", api(wire.CodeForbidden, "admin may not write"), Failed},
		{"quota", api(wire.CodeQuotaExceeded, "partitions per node"), Failed},
		{"body too slow", api(wire.CodeRequestTimeout, "body read timeout"), Failed},
	}
	for _, tc := range cases {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("%s: classify(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestFailoverIsTheSlowestPartitionsFirstAckAfterTheFault(t *testing.T) {
	fault := at(1000)
	w := func(p int32, start, end int, o Outcome) Write {
		return Write{Target: p, Partition: p, Outcome: o, Start: at(start), End: at(end)}
	}
	h := History{Partitions: 2, Writes: []Write{
		w(0, 900, 1100, Acked),   // started before the fault: not counted
		w(0, 1001, 1200, Acked),  // partition 0 back after 200 ms
		w(1, 1001, 3000, Failed), // partition 1 refused ...
		w(1, 3001, 4000, Acked),  // ... then back after 3 s
		w(1, 1500, 3500, Acked),  // an earlier start acknowledged sooner: 2.5 s
	}}
	d, ok := failover(h, fault)
	if !ok || d != 2500*time.Millisecond {
		t.Fatalf("failover = %v, %v; want 2.5s", d, ok)
	}
	h.Writes = h.Writes[:3]
	if _, ok := failover(h, fault); ok {
		t.Fatal("a partition that never took a write after the fault must report no failover")
	}
}

func TestKeysForHitEveryPartition(t *testing.T) {
	keys := keysFor(partitions)
	for p, k := range keys {
		if got := partitioner.HashPartition(k, partitions); got != int32(p) {
			t.Fatalf("key %q goes to partition %d, want %d", k, got, p)
		}
	}
}

func TestDurationsAndTable(t *testing.T) {
	if got := durations([]time.Duration{3 * time.Second, time.Second}); got != "2.0/3.0 s" {
		t.Fatalf("durations = %q", got)
	}
	if got := durations(nil); got != "-" {
		t.Fatalf("durations(nil) = %q", got)
	}
	r := result{report: Report{Acked: 5, Anomalies: []Anomaly{{Kind: Lost}, {Kind: Unhealed}}}, missing: 1}
	got := table([][]string{row("kill-leader", r)})
	want := "| fault       | acked | failed | indet. | lost | dup. | incons. | other      | failover med/max |\n" +
		"|-------------|-------|--------|--------|------|------|---------|------------|------------------|\n" +
		"| kill-leader | 5     | 0      | 0      | 1    | 0    | 0       | unhealed 1 | - (1 never)      |\n"
	if got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
}
