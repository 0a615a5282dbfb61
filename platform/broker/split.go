package broker

import (
	"sync"

	"github.com/sluicehq/sluice/record"
)

// split groups a produce batch by partition, keeping the records' order
// within each partition (the order a producer sent is the order a
// consumer reads). It reuses its buffers across requests: the binary
// produce path allocates nothing per record.
type split struct {
	parts  []int32         // partition of each input record (partitioner output)
	sorted []record.Record // the records grouped by partition, stable
	index  []int32         // index[i] is the input position of sorted[i]
	starts []int32         // group p is sorted[starts[p]:starts[p+1]]
}

var splitPool = sync.Pool{New: func() any { return new(split) }}

func getSplit(n int) *split {
	s := splitPool.Get().(*split)
	s.parts = grow(s.parts, n)
	return s
}

func (s *split) release() {
	clear(s.sorted) // drop references to the request's buffers
	splitPool.Put(s)
}

// group fills sorted, index and starts from recs and s.parts. Every
// s.parts[i] must be in [0, partitions).
func (s *split) group(recs []record.Record, partitions int) {
	s.starts = grow(s.starts, partitions+1)
	clear(s.starts)
	for _, p := range s.parts {
		s.starts[p+1]++
	}
	for p := 1; p <= partitions; p++ {
		s.starts[p] += s.starts[p-1]
	}
	if cap(s.sorted) < len(recs) {
		s.sorted = make([]record.Record, len(recs))
	}
	s.sorted = s.sorted[:len(recs)]
	s.index = grow(s.index, len(recs))
	// next[p] is where the next record of p goes; reuse starts shifted by
	// one and restore it afterwards.
	for i, p := range s.parts {
		at := s.starts[p]
		s.sorted[at] = recs[i]
		s.index[at] = int32(i)
		s.starts[p]++
	}
	copy(s.starts[1:], s.starts[:partitions])
	s.starts[0] = 0
}

// groupOf returns partition p's records and their input positions.
func (s *split) groupOf(p int) ([]record.Record, []int32) {
	lo, hi := s.starts[p], s.starts[p+1]
	return s.sorted[lo:hi], s.index[lo:hi]
}

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}
