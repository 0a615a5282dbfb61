package chaos

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func acked(v string, p int32, off int64) Write {
	return Write{Value: v, Outcome: Acked, Partition: p, Offset: off, Target: p, Start: at(0), End: at(1)}
}

func final(v string, p int32, off int64) Read {
	return Read{Source: finalSource, Partition: p, Offset: off, Value: v}
}

// clean is a history without anomalies: two partitions read in full, an
// indeterminate write that landed and one that did not, a failed write
// never read, commits that only move forward.
func clean() History {
	return History{
		Partitions: 2,
		Writes: []Write{
			acked("a", 0, 0), acked("b", 0, 1), acked("c", 1, 0),
			{Value: "d", Outcome: Indeterminate, Partition: -1, Offset: -1, Target: 1},
			{Value: "e", Outcome: Indeterminate, Partition: -1, Offset: -1, Target: 1},
			{Value: "f", Outcome: Failed, Partition: -1, Offset: -1, Target: 0, Err: "unavailable"},
		},
		Reads: []Read{
			final("a", 0, 0), final("b", 0, 1), final("c", 1, 0), final("d", 1, 1),
			{Source: "consumer", Partition: 0, Offset: 0, Value: "a"},
			{Source: "consumer", Partition: 0, Offset: 0, Value: "a"}, // re-delivered: at-least-once
			{Source: "replica-2", Partition: 1, Offset: 1, Value: "d"},
		},
		Commits: []Commit{
			{Kind: CommitAck, Partition: 0, Offset: 1, Start: at(0), End: at(10)},
			{Kind: CommitObserved, Partition: 0, Offset: 1, Start: at(20), End: at(21)},
			{Kind: CommitAck, Partition: 0, Offset: 2, Start: at(30), End: at(40)},
			// Concurrent with the ack of 2: may still show 1.
			{Kind: CommitObserved, Partition: 0, Offset: 1, Start: at(35), End: at(36)},
			{Kind: CommitObserved, Partition: 0, Offset: 2, Start: at(50), End: at(51)},
		},
		Complete: map[int32]bool{0: true, 1: true},
	}
}

func TestCheckCleanHistoryPasses(t *testing.T) {
	r := Check(clean())
	if !r.OK() {
		t.Fatalf("clean history: %v", r)
	}
	if r.Acked != 3 || r.Failed != 1 || r.Indeterminate != 2 {
		t.Fatalf("counts: %v", r)
	}
}

func TestCheckFindsEachAnomaly(t *testing.T) {
	cases := []struct {
		name   string
		change func(h *History)
		want   Kind
		detail string
	}{
		{"lost write", func(h *History) {
			h.Writes = append(h.Writes, acked("g", 1, 2))
		}, Lost, `"g" acknowledged at 1@2`},
		{"duplicate", func(h *History) {
			h.Reads = append(h.Reads, final("a", 0, 2))
		}, Duplicate, `"a" at 0@0, 0@2`},
		{"duplicate of an indeterminate write", func(h *History) {
			h.Reads = append(h.Reads, final("d", 1, 2))
		}, Duplicate, `"d" at 1@1, 1@2`},
		{"replicas disagree", func(h *History) {
			h.Reads = append(h.Reads, Read{Source: "replica-3", Partition: 1, Offset: 1, Value: "e"})
		}, Inconsistent, `1@1 holds "d" (final,replica-2) vs "e" (replica-3)`},
		{"acknowledgement and read disagree", func(h *History) {
			h.Writes = append(h.Writes, acked("g", 0, 1))
		}, Inconsistent, `0@1 holds "b" (ack,final) vs "g" (ack)`},
		{"read of a failed write", func(h *History) {
			h.Reads = append(h.Reads, Read{Source: "consumer", Partition: 0, Offset: 2, Value: "f"})
		}, FailedRead, `"f" failed (unavailable) but consumer read it at 0@2`},
		{"phantom", func(h *History) {
			h.Reads = append(h.Reads, final("zz", 1, 2))
		}, Phantom, `final read "zz" at 1@2`},
		{"commit below an acknowledged commit", func(h *History) {
			h.Commits = append(h.Commits, Commit{Kind: CommitObserved, Partition: 0, Offset: 0, Start: at(60), End: at(61), Source: "describe"})
		}, CommitBackwards, "partition 0: describe showed 0 after an acknowledged commit of 2"},
		{"committed offset gone after a reset", func(h *History) {
			h.Commits = append(h.Commits, Commit{Kind: CommitObserved, Partition: 0, Offset: -1, Start: at(60), End: at(61), Source: "describe"})
		}, CommitBackwards, "showed -1"},
		{"describe below an earlier describe", func(h *History) {
			h.Commits = append(h.Commits,
				Commit{Kind: CommitObserved, Partition: 1, Offset: 7, Start: at(0), End: at(1), Source: "d1"},
				Commit{Kind: CommitObserved, Partition: 1, Offset: 5, Start: at(2), End: at(3), Source: "d2"})
		}, CommitBackwards, "partition 1: d2 showed 5 after an earlier describe of 7 (d1)"},
		{"cluster not back after a heal", func(h *History) {
			h.Unhealed = []string{"kill-leader on node 2: node 2 is down"}
		}, Unhealed, "node 2 is down"},
		{"unreadable partition", func(h *History) {
			h.Complete = map[int32]bool{0: true}
		}, Unreadable, "partition 1 could not be read in full after the heal (1 acknowledged writes unchecked)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := clean()
			tc.change(&h)
			r := Check(h)
			if r.Count(tc.want) != 1 {
				t.Fatalf("want one %s anomaly, got: %v", tc.want, r)
			}
			for _, a := range r.Anomalies {
				if a.Kind == tc.want && !strings.Contains(a.Detail, tc.detail) {
					t.Fatalf("detail %q does not contain %q", a.Detail, tc.detail)
				}
			}
		})
	}
}

func TestLostWritesOnlyJudgedOnCompletePartitions(t *testing.T) {
	h := clean()
	h.Writes = append(h.Writes, acked("g", 1, 2))
	h.Complete = map[int32]bool{0: true}
	if n := len(LostWrites(h)); n != 0 {
		t.Fatalf("lost writes on an unread partition: %d", n)
	}
	if n := len(UnreadablePartitions(h)); n != 1 {
		t.Fatalf("unreadable: %d", n)
	}
}

func TestCommitConcurrentWithDescribeIsNotARegression(t *testing.T) {
	h := History{Commits: []Commit{
		{Kind: CommitAck, Partition: 0, Offset: 9, Start: at(0), End: at(10)},
		{Kind: CommitObserved, Partition: 0, Offset: 3, Start: at(5), End: at(6)},
		{Kind: CommitObserved, Partition: 0, Offset: 3, Start: at(10), End: at(11)}, // starts at the ack's end, not after
	}}
	if a := CommitRegressions(h); len(a) != 0 {
		t.Fatalf("got %v", a)
	}
}

func TestReportString(t *testing.T) {
	h := clean()
	h.Writes = append(h.Writes, acked("g", 1, 2))
	s := Check(h).String()
	for _, want := range []string{"acked 4", "lost 1", `lost: "g"`} {
		if !strings.Contains(s, want) {
			t.Fatalf("%q does not contain %q", s, want)
		}
	}
}
