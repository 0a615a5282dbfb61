package broker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/storage"
)

// How far back a new leader reads its log to rebuild producer state: at
// least the records of the last ProducerScanWindow (by timestamp) and at
// least the last ProducerScanRecords records. A client retries a batch
// within its delivery timeout (2 min by default), well inside the window.
const (
	ProducerScanWindow  = 10 * time.Minute
	ProducerScanRecords = 1 << 16
)

// producerLog is what an idempotent write needs of a Log beyond Log:
// storage's batches with their producer (*storage.Log has both, so
// storageLog does). A Log without it refuses idempotent produces.
type producerLog interface {
	AppendAs(ctx context.Context, recs []record.Record, leaderEpoch int32, prod storage.Producer) (int64, error)
	ScanProducers(from, to int64, fn func(base int64, count int32, p storage.Producer) error) error
}

// produced is an idempotent request's share of one partition.
type produced struct {
	Producer
	last int64 // sequence of the request's last record
}

func (q produced) storage() storage.Producer {
	return storage.Producer{ID: q.ID, Epoch: q.Epoch, BaseSequence: q.BaseSequence, LastSequence: q.last}
}

// idemState is a partition's ProducerState with its locking: mu guards
// the state; a per-producer lock is held across check, append and record,
// so one producer's batches are decided one at a time while different
// producers still share storage commits.
type idemState struct {
	mu    sync.Mutex
	state ProducerState
	epoch int32 // leader epoch the state was rebuilt for
	built bool
	locks map[int64]*pidLock
}

type pidLock struct {
	mu   sync.Mutex
	refs int
}

func (s *idemState) lock(id int64) func() {
	s.mu.Lock()
	if s.locks == nil {
		s.locks = make(map[int64]*pidLock)
	}
	l := s.locks[id]
	if l == nil {
		l = &pidLock{}
		s.locks[id] = l
	}
	l.refs++
	s.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		s.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(s.locks, id)
		}
		s.mu.Unlock()
	}
}

// ensure rebuilds the state from the log when this replica leads at a
// new leader epoch (a restart, a failover, a truncation since). s.mu is
// held.
func (s *idemState) ensure(l Log, pl producerLog, epoch int32, now time.Time) error {
	if s.built && s.epoch == epoch {
		return nil
	}
	start, end := l.StartOffset(), l.EndOffset()
	from, err := l.OffsetForTimestamp(now.Add(-ProducerScanWindow).UnixMilli())
	if err != nil {
		return fmt.Errorf("rebuild producer state: %w", err)
	}
	from = max(start, min(from, end-ProducerScanRecords))
	var st ProducerState
	if err := scanProducers(pl, &st, from, end, -1); err != nil {
		return fmt.Errorf("rebuild producer state: %w", err)
	}
	s.state, s.epoch, s.built = st, epoch, true
	return nil
}

// scanProducers records into st the producer batches in [from, end) of
// the log (of producer only, unless it is -1).
func scanProducers(pl producerLog, st *ProducerState, from, end, only int64) error {
	return pl.ScanProducers(from, end, func(base int64, count int32, p storage.Producer) error {
		if only < 0 || p.ID == only {
			st.Record(Producer{ID: p.ID, Epoch: p.Epoch, BaseSequence: p.BaseSequence}, p.LastSequence, base, count)
		}
		return nil
	})
}

// write appends recs as one batch: plainly, or for an idempotent request
// after the sequence check. dup is true when the batch had been written
// before: base is then the original's and nothing was appended.
func (p *partition) write(ctx context.Context, recs []record.Record, epoch int32, q *produced) (base int64, dup bool, err error) {
	if q == nil {
		base, err = p.log.Append(ctx, recs, epoch)
		return base, false, err
	}
	pl, ok := p.log.(producerLog)
	if !ok {
		return 0, false, fmt.Errorf("%s: %w: this log keeps no producer state", p, ErrInvalidRequest)
	}
	unlock := p.idem.lock(q.ID)
	defer unlock()
	p.idem.mu.Lock()
	err = p.idem.ensure(p.log, pl, epoch, time.Now())
	var res CheckResult
	if err == nil {
		res, err = p.idem.state.Check(q.Producer, q.last, len(recs))
	}
	p.idem.mu.Unlock()
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", p, err)
	}
	if res.Duplicate {
		return res.Original.BaseOffset, true, nil
	}
	before := p.log.EndOffset()
	base, err = pl.AppendAs(ctx, recs, epoch, q.storage())
	p.idem.mu.Lock()
	defer p.idem.mu.Unlock()
	if err == nil {
		p.idem.state.Record(q.Producer, q.last, base, int32(len(recs)))
		return base, false, nil
	}
	// An append whose context ended inside a group commit may have been
	// written all the same: learn from the log, so a retry is answered
	// as the duplicate it is.
	if serr := scanProducers(pl, &p.idem.state, before, p.log.EndOffset(), q.ID); serr != nil {
		p.idem.built = false // rebuild before the next idempotent write
	}
	return 0, false, err
}

// splitIdempotent places an idempotent request's records with a built-in
// partitioner as a pure function of the request, so a retry lands every
// record where the first attempt put it: a key hashes as always (murmur2,
// the hash partitioner); a record without a key (or every record, for
// roundrobin) goes round-robin by its sequence, starting at a partition
// derived from the producer id; for sticky, the records without a key go
// in sticky runs (partitioner.RunBytes), the request's first run to a
// partition derived from the producer id and the request's sequence, the
// next runs to the partitions after it. It reports false for Wasm
// partitioners, which run as usual (they must be deterministic for retries
// to be recognised; see docs/api.md).
func splitIdempotent(spec meta.PartitionerSpec, q Producer, recs []record.Record, n int, out []int32) bool {
	name := spec.Name
	if name == "" {
		name = meta.PartitionerAuto
	}
	switch name {
	case meta.PartitionerAuto, meta.PartitionerHash, meta.PartitionerRoundRobin, meta.PartitionerSticky:
	default:
		return false
	}
	start := uint64(q.ID) % uint64(n)
	var first uint64
	if name == meta.PartitionerSticky {
		// A request's first run: spread by a mix of the producer and the
		// sequence, so requests of any size visit every partition.
		first = mix64(uint64(q.ID)^uint64(q.BaseSequence)) % uint64(n)
	}
	var runs partitioner.Runs
	for i := range recs {
		switch {
		case name == meta.PartitionerHash || (name != meta.PartitionerRoundRobin && recs[i].Key != nil):
			out[i] = partitioner.HashPartition(recs[i].Key, n)
		case name == meta.PartitionerSticky:
			out[i] = int32((first + uint64(runs.Next(recs[i].Size()))) % uint64(n))
		default:
			out[i] = int32((start + uint64(q.BaseSequence) + uint64(i)) % uint64(n))
		}
	}
	return true
}

// mix64 is SplitMix64's finaliser: every input bit moves every output bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
