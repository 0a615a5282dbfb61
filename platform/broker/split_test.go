package broker

import (
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/record"
)

func TestSplitGroupsStablyByPartition(t *testing.T) {
	parts := []int32{2, 0, 2, 1, 0, 2, 2}
	recs := make([]record.Record, len(parts))
	for i := range recs {
		recs[i].Value = []byte(fmt.Sprint(i))
	}
	for round := range 2 { // the second round reuses the pooled buffers
		s := getSplit(len(recs))
		copy(s.parts, parts)
		s.group(recs, 4)
		want := map[int][]string{0: {"1", "4"}, 1: {"3"}, 2: {"0", "2", "5", "6"}, 3: nil}
		for p := range 4 {
			g, idx := s.groupOf(p)
			if len(g) != len(want[p]) {
				t.Fatalf("round %d partition %d: %d records, want %d", round, p, len(g), len(want[p]))
			}
			for i := range g {
				if string(g[i].Value) != want[p][i] || fmt.Sprint(idx[i]) != want[p][i] {
					t.Fatalf("round %d partition %d[%d] = %s (index %d), want %s", round, p, i, g[i].Value, idx[i], want[p][i])
				}
			}
		}
		s.release()
	}
}

func BenchmarkSplit(b *testing.B) {
	recs := make([]record.Record, 1000)
	b.ReportAllocs()
	for b.Loop() {
		s := getSplit(len(recs))
		for i := range s.parts {
			s.parts[i] = int32(i % 16)
		}
		s.group(recs, 16)
		s.release()
	}
}
