package broker

import (
	"errors"
	"testing"
)

func TestProducerStateRules(t *testing.T) {
	pr := func(seq int64) Producer { return Producer{ID: 7, Epoch: 0, BaseSequence: seq} }
	var s ProducerState
	// A new producer: anything goes.
	if res, err := s.Check(pr(10), 14, 3); err != nil || res.Duplicate {
		t.Fatalf("new producer: %+v, %v", res, err)
	}
	s.Record(pr(10), 14, 100, 3)
	s.Record(pr(20), 21, 103, 2)

	cases := []struct {
		name      string
		p         Producer
		last      int64
		count     int
		duplicate bool
		base      int64
		refused   bool
	}{
		{name: "retry of the first batch", p: pr(10), last: 14, count: 3, duplicate: true, base: 100},
		{name: "retry of the second batch", p: pr(20), last: 21, count: 2, duplicate: true, base: 103},
		{name: "next request", p: pr(22), last: 30, count: 4},
		{name: "a gap is fine (records went elsewhere)", p: pr(500), last: 501, count: 1},
		{name: "late request between kept ones", p: pr(15), last: 19, count: 2},
		{name: "overlaps a kept batch", p: pr(12), last: 16, count: 1, refused: true},
		{name: "same sequence, other records", p: pr(10), last: 14, count: 2, refused: true},
		{name: "same sequence, other range", p: pr(10), last: 15, count: 3, refused: true},
		{name: "unknown producer id", p: Producer{ID: 8, Epoch: 0, BaseSequence: 40}, last: 41, count: 1},
		{name: "other producer", p: Producer{ID: 8, BaseSequence: 10}, last: 14, count: 3},
	}
	for _, c := range cases {
		res, err := s.Check(c.p, c.last, c.count)
		switch {
		case c.refused && !errors.Is(err, ErrOutOfOrderSequence):
			t.Errorf("%s: err %v, want ErrOutOfOrderSequence", c.name, err)
		case !c.refused && err != nil:
			t.Errorf("%s: unexpected %v", c.name, err)
		case res.Duplicate != c.duplicate || (c.duplicate && res.Original.BaseOffset != c.base):
			t.Errorf("%s: %+v, want duplicate %v at %d", c.name, res, c.duplicate, c.base)
		}
	}
}

func TestProducerStateEpochs(t *testing.T) {
	var s ProducerState
	s.Record(Producer{ID: 1, Epoch: 2, BaseSequence: 50}, 59, 0, 10)
	if _, err := s.Check(Producer{ID: 1, Epoch: 1, BaseSequence: 60}, 60, 1); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("older epoch: %v", err)
	}
	// A newer epoch starts over: sequence 0 is new, not out of order.
	if res, err := s.Check(Producer{ID: 1, Epoch: 3, BaseSequence: 0}, 0, 1); err != nil || res.Duplicate {
		t.Fatalf("newer epoch: %+v, %v", res, err)
	}
	s.Record(Producer{ID: 1, Epoch: 3, BaseSequence: 0}, 0, 10, 1)
	if res, _ := s.Check(Producer{ID: 1, Epoch: 3, BaseSequence: 50}, 59, 10); res.Duplicate {
		t.Fatal("the old epoch's batch is still remembered")
	}
	// Records of an older epoch (read from the log) are ignored.
	s.Record(Producer{ID: 1, Epoch: 2, BaseSequence: 70}, 70, 11, 1)
	if res, _ := s.Check(Producer{ID: 1, Epoch: 3, BaseSequence: 70}, 70, 1); res.Duplicate {
		t.Fatal("an older epoch's batch answered for the newer epoch")
	}
}

func TestProducerStateWindow(t *testing.T) {
	var s ProducerState
	p := func(seq int64) Producer { return Producer{ID: 3, BaseSequence: seq} }
	for i := range int64(ProducerWindow + 4) {
		s.Record(p(i*10), i*10+9, i, 1)
	}
	// The four oldest are forgotten: a retry of them is refused, never
	// written twice; the window's oldest is still a duplicate.
	if _, err := s.Check(p(0), 9, 1); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("forgotten batch: %v", err)
	}
	if _, err := s.Check(p(35), 36, 1); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("late batch older than the window: %v", err)
	}
	if res, err := s.Check(p(40), 49, 1); err != nil || !res.Duplicate || res.Original.BaseOffset != 4 {
		t.Fatalf("oldest kept: %+v, %v", res, err)
	}
}

func TestProducerStateEvictsOldestProducer(t *testing.T) {
	var s ProducerState
	for id := range int64(MaxProducersPerPartition) {
		s.Record(Producer{ID: id, BaseSequence: 0}, 0, 1000+id, 1)
	}
	s.Record(Producer{ID: 0, BaseSequence: 1}, 1, 99999, 1) // producer 0 wrote last
	s.Record(Producer{ID: 1 << 40, BaseSequence: 0}, 0, 100000, 1)
	if s.Len() != MaxProducersPerPartition {
		t.Fatalf("%d producers kept", s.Len())
	}
	if res, _ := s.Check(Producer{ID: 1, BaseSequence: 0}, 0, 1); res.Duplicate {
		t.Fatal("producer 1 (oldest write) was not the one evicted")
	}
	if res, _ := s.Check(Producer{ID: 0, BaseSequence: 1}, 1, 1); !res.Duplicate {
		t.Fatal("producer 0 was evicted")
	}
}
