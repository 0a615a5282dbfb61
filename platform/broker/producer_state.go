package broker

import (
	"errors"
	"fmt"
	"slices"
)

// Idempotent producers (Kafka's enable.idempotence, adapted to a broker
// that partitions on the server).
//
// A producer picks a random 64-bit id and numbers its records: a request
// carries the sequence of its first record (BaseSequence); its records
// have BaseSequence, BaseSequence+1, ... The broker that receives the
// request splits it by partition (deterministically for a given id and
// sequence, see splitIdempotent), and every partition's batch is stored
// with the producer's id, epoch and the request's first and last sequence
// (storage batch format magic 2). A partition therefore sees a producer's
// requests as ranges of sequences with gaps (the records that went to
// other partitions); the leader keeps, per producer, the last
// ProducerWindow batches it wrote and decides with ProducerState.Check:
//
//   - a batch whose BaseSequence equals a kept batch's is a retry of it:
//     nothing is written, the answer is the kept batch's offsets;
//   - a batch past every kept one is new and is written;
//   - a batch older than the newest kept one but newer than the oldest
//     kept one, overlapping none, is a late (reordered) request that was
//     never written: written (only pipelined producers reorder);
//   - anything else (older than the window, overlapping a kept batch, a
//     kept sequence with another record count, a stale epoch) cannot be
//     told apart from a duplicate and is refused: ErrOutOfOrderSequence.
//
// The state is rebuilt from the log (the batch headers) when a replica
// becomes leader, so it survives restarts and moves with leadership.

// ProducerWindow is how many of a producer's batches a partition leader
// remembers (Kafka keeps 5). A retry is recognised while fewer than this
// many newer batches of the same producer reached the partition.
const ProducerWindow = 16

// MaxProducersPerPartition bounds the producers a partition leader keeps
// state for; past it the producer whose last write is the oldest is
// forgotten (a retry of its batches is then refused, never duplicated,
// unless it is past the window).
const MaxProducersPerPartition = 4096

var (
	// ErrOutOfOrderSequence: an idempotent producer's batch cannot be
	// placed: its sequence is older than the batches the leader
	// remembers, overlaps one, reuses one with other records, or its
	// epoch is older than the producer's newest. Nothing was written;
	// retrying the same batch cannot succeed.
	ErrOutOfOrderSequence = errors.New("out of order sequence")
	// ErrLeaderUnreachable: the partition's leader could not be reached
	// to forward records to it (connection refused, no route); nothing
	// was written. Retriable once the leader is back or has moved.
	ErrLeaderUnreachable = errors.New("partition leader unreachable")
	// ErrForwardFailed: forwarding to the partition's leader failed after
	// the records were sent (connection lost, no answer in time); they
	// may have been written. A retry may duplicate them unless the
	// producer is idempotent.
	ErrForwardFailed = errors.New("forward to partition leader failed")
)

// Producer identifies an idempotent producer's request: its id (>= 0),
// its epoch (>= 0; a higher epoch starts the producer's sequences anew)
// and the sequence of the request's first record. Record i of the request
// has sequence BaseSequence+i.
type Producer struct {
	ID           int64
	Epoch        int16
	BaseSequence int64
}

// Validate checks the fields.
func (p Producer) Validate() error {
	if p.ID < 0 || p.Epoch < 0 || p.BaseSequence < 0 {
		return fmt.Errorf("%w: producer id %d, epoch %d, sequence %d: want all >= 0", ErrInvalidRequest, p.ID, p.Epoch, p.BaseSequence)
	}
	return nil
}

// ProducerBatch is one idempotent batch a partition wrote: the request's
// sequence range and where the partition's share of it went.
type ProducerBatch struct {
	Epoch                      int16
	BaseSequence, LastSequence int64 // of the request
	BaseOffset                 int64
	Count                      int32 // records in this partition's batch
}

// producerEntry is what a partition keeps about one producer.
type producerEntry struct {
	epoch   int16
	batches []ProducerBatch // by BaseSequence, at most ProducerWindow
	lastOff int64           // end of the newest batch, for eviction
}

// ProducerState is a partition leader's memory of idempotent producers:
// a plain value, no locks, no I/O. The zero value is empty and ready.
type ProducerState struct {
	producers map[int64]*producerEntry
}

// CheckResult is Check's verdict.
type CheckResult struct {
	// Duplicate is true when the batch was written before; Original
	// says where.
	Duplicate bool
	Original  ProducerBatch
}

// Check decides what to do with a batch of count records of the request
// (p, lastSeq) (see the package rules above). It changes nothing; Record
// the batch once it is written.
func (s *ProducerState) Check(p Producer, lastSeq int64, count int) (CheckResult, error) {
	e := s.producers[p.ID]
	if e == nil || p.Epoch > e.epoch {
		return CheckResult{}, nil
	}
	if p.Epoch < e.epoch {
		return CheckResult{}, fmt.Errorf("producer %d: epoch %d is older than %d: %w", p.ID, p.Epoch, e.epoch, ErrOutOfOrderSequence)
	}
	for _, b := range e.batches {
		if b.BaseSequence == p.BaseSequence {
			if b.LastSequence != lastSeq || int(b.Count) != count {
				return CheckResult{}, fmt.Errorf("producer %d: sequence %d was written with sequences %d..%d and %d records here, now %d..%d and %d records (is the partitioner deterministic?): %w",
					p.ID, p.BaseSequence, b.BaseSequence, b.LastSequence, b.Count, p.BaseSequence, lastSeq, count, ErrOutOfOrderSequence)
			}
			return CheckResult{Duplicate: true, Original: b}, nil
		}
		if p.BaseSequence <= b.LastSequence && lastSeq >= b.BaseSequence {
			return CheckResult{}, fmt.Errorf("producer %d: sequences %d..%d overlap the written %d..%d: %w",
				p.ID, p.BaseSequence, lastSeq, b.BaseSequence, b.LastSequence, ErrOutOfOrderSequence)
		}
	}
	if len(e.batches) == ProducerWindow && p.BaseSequence < e.batches[0].BaseSequence {
		return CheckResult{}, fmt.Errorf("producer %d: sequence %d is older than the %d batches remembered (from %d): %w",
			p.ID, p.BaseSequence, ProducerWindow, e.batches[0].BaseSequence, ErrOutOfOrderSequence)
	}
	return CheckResult{}, nil
}

// Record notes a batch written at baseOffset (count records) for the
// request (p, lastSeq). A newer epoch replaces what was kept of the
// producer; a batch of an older epoch is ignored (it can only come from
// the log, before the newer one).
func (s *ProducerState) Record(p Producer, lastSeq, baseOffset int64, count int32) {
	if s.producers == nil {
		s.producers = make(map[int64]*producerEntry)
	}
	e := s.producers[p.ID]
	switch {
	case e == nil:
		if len(s.producers) >= MaxProducersPerPartition {
			s.evict()
		}
		e = &producerEntry{epoch: p.Epoch}
		s.producers[p.ID] = e
	case p.Epoch > e.epoch:
		*e = producerEntry{epoch: p.Epoch}
	case p.Epoch < e.epoch:
		return
	}
	b := ProducerBatch{Epoch: p.Epoch, BaseSequence: p.BaseSequence, LastSequence: lastSeq, BaseOffset: baseOffset, Count: count}
	i, found := slices.BinarySearchFunc(e.batches, b.BaseSequence, func(x ProducerBatch, seq int64) int {
		switch {
		case x.BaseSequence < seq:
			return -1
		case x.BaseSequence > seq:
			return 1
		}
		return 0
	})
	if found {
		e.batches[i] = b
	} else {
		e.batches = slices.Insert(e.batches, i, b)
	}
	if len(e.batches) > ProducerWindow {
		e.batches = slices.Delete(e.batches, 0, len(e.batches)-ProducerWindow)
	}
	e.lastOff = max(e.lastOff, baseOffset+int64(count))
}

// Len is the number of producers kept.
func (s *ProducerState) Len() int { return len(s.producers) }

// evict forgets the producer whose newest batch is the oldest.
func (s *ProducerState) evict() {
	var (
		victim int64 = -1
		oldest int64
	)
	for id, e := range s.producers {
		if victim < 0 || e.lastOff < oldest {
			victim, oldest = id, e.lastOff
		}
	}
	delete(s.producers, victim)
}
