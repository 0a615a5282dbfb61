package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// lockTimeout bounds the wait for another process's lock on the file.
const lockTimeout = 2 * time.Second

// Log is the partition log of one replica, stored in one bbolt file. All
// methods are safe for concurrent use.
type Log struct {
	path string
	opts Options
	db   *bolt.DB
	log  *slog.Logger

	// Published state. Writers (holding wmu) update it after their
	// transaction has committed, so a reader never sees an offset whose
	// batch is not yet durable (under DurabilityFsync).
	start   atomic.Int64
	end     atomic.Int64
	hw      atomic.Int64
	size    atomic.Int64
	hwDirty atomic.Bool // hw differs from the checkpoint on disk
	// hwMu orders changes of hw against the truncations that lower end:
	// SetHighWatermark checks hw <= end under it, and truncations publish
	// the new end and clamp hw under it.
	hwMu sync.Mutex

	epochs epochCache // guarded by its own lock

	// wmu serialises write transactions and the publication of their
	// results. Fields below it are guarded by it.
	wmu         sync.Mutex
	maxTS       int64 // largest timestamp in the log (time index tail)
	hasMaxTS    bool
	markDirty   bool // the next write tx must clear meta/clean
	cleanOnOpen bool // meta/clean was set when the file was opened

	queue    chan *appendReq
	stopOnce sync.Once
	quit     chan struct{}
	stopped  chan struct{} // closed when the committer has exited
	closeMu  sync.RWMutex  // held for reading while enqueueing, for writing by Close
	closed   bool          // guarded by closeMu
	isClosed atomic.Bool

	appends atomic.Uint64
	commits atomic.Uint64
	pending atomic.Int64
}

// Open opens the log in the bbolt file at path, creating it if it does not
// exist. An existing file is checked (format version, side buckets, the
// first and last batch, offsets and sizes agree); with DurabilityReplicated
// a file that was not closed cleanly is verified batch by batch. A file that
// fails a check is reported with an error wrapping ErrCorrupt.
func Open(path string, opts Options) (*Log, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	if err := precheck(path); err != nil {
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	db, err := openBolt(path, opts.Durability == DurabilityReplicated)
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	l := &Log{
		path:    path,
		opts:    opts,
		db:      db,
		log:     opts.Logger.With("log", path),
		queue:   make(chan *appendReq, queueDepth),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	if err := l.load(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	go l.commitLoop()
	return l, nil
}

// Path is the file the log lives in.
func (l *Log) Path() string { return l.path }

// StartOffset is the log start offset: the first offset still held.
func (l *Log) StartOffset() int64 { return l.start.Load() }

// EndOffset is the log end offset (LEO): the offset the next record gets.
func (l *Log) EndOffset() int64 { return l.end.Load() }

// HighWatermark is the high watermark last set (or recovered from the
// checkpoint on Open). It is always within [StartOffset, EndOffset].
func (l *Log) HighWatermark() int64 { return l.hw.Load() }

// Size is the number of bytes of batches held (encoded, as on disk).
func (l *Log) Size() int64 { return l.size.Load() }

// LatestEpoch is the newest leader epoch in the epoch cache, or
// UndefinedEpoch for a log that has never held a batch.
func (l *Log) LatestEpoch() int32 { return l.epochs.latest() }

// Stats are counters for tests and metrics.
type Stats struct {
	// Appends is the number of Append and AppendReplica calls committed.
	Appends uint64
	// Commits is the number of write transactions that committed appends;
	// with group commit it is smaller than Appends under concurrency.
	Commits uint64
	// Pending is the number of appends queued or being committed now.
	Pending int64
}

// Stats returns the log's counters.
func (l *Log) Stats() Stats {
	return Stats{Appends: l.appends.Load(), Commits: l.commits.Load(), Pending: l.pending.Load()}
}

// SetHighWatermark records the high watermark. It must lie within
// [StartOffset, EndOffset], else the error wraps ErrOffsetOutOfRange.
// Raising it never waits for a commit in progress; lowering it (rare: a
// follower after a leader change) waits, so it cannot race retention.
//
// The checkpoint on disk is written lazily: with the next commit, by a
// Janitor tick, by CheckpointHighWatermark, or by Close. After a crash the
// recovered high watermark may therefore be lower than the last one set,
// never higher (as Kafka's replication-offset-checkpoint).
func (l *Log) SetHighWatermark(off int64) error {
	if l.isClosed.Load() {
		return ErrClosed
	}
	l.hwMu.Lock()
	if off >= l.hw.Load() {
		defer l.hwMu.Unlock()
		return l.setHWLocked(off)
	}
	l.hwMu.Unlock()
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.hwMu.Lock()
	defer l.hwMu.Unlock()
	return l.setHWLocked(off)
}

// setHWLocked stores off as the high watermark; the caller holds hwMu, and
// wmu too if off is below the current high watermark.
func (l *Log) setHWLocked(off int64) error {
	if s, e := l.start.Load(), l.end.Load(); off < s || off > e {
		return fmt.Errorf("set high watermark %d of %s (log %d..%d): %w", off, l.path, s, e, ErrOffsetOutOfRange)
	}
	if l.hw.Swap(off) != off {
		l.hwDirty.Store(true)
	}
	return nil
}

// CheckpointHighWatermark writes the high watermark to disk now if it
// changed since the last checkpoint.
func (l *Log) CheckpointHighWatermark() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.isClosed.Load() {
		return ErrClosed
	}
	if !l.hwDirty.Load() {
		return nil
	}
	return l.update(func(tx *bolt.Tx) error { return nil })
}

// update runs fn in a write transaction that also writes the meta keys the
// caller does not own (high-watermark checkpoint, clean flag). The caller
// holds wmu. A bbolt panic on a damaged page fails the write with
// ErrCorrupt (bbolt rolls the transaction back) instead of the process.
func (l *Log) update(fn func(tx *bolt.Tx) error) (err error) {
	defer guardBolt(&err)()
	hwDirty := l.hwDirty.Swap(false)
	if l.markDirty && l.db.NoSync {
		// The transaction that clears the clean flag is synced even in
		// replicated mode: unsynced writes may only follow a durable
		// "not clean", or a crash could leave a torn file marked clean.
		l.db.NoSync = false
		defer func() { l.db.NoSync = true }()
	}
	err = l.db.Update(func(tx *bolt.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if hwDirty {
			if err := meta.Put(keyHW, sealed(keyHW, l.hw.Load())); err != nil {
				return err
			}
		}
		if l.markDirty {
			return meta.Put(keyClean, sealedFlag(keyClean, 0))
		}
		return nil
	})
	if err != nil {
		if hwDirty {
			l.hwDirty.Store(true)
		}
		return err
	}
	l.markDirty = false
	return nil
}

// Close stops the committer, fails appends still queued with ErrClosed,
// checkpoints the high watermark, marks the file clean and closes it.
// Close waits for reads in progress. Closing twice returns ErrClosed.
func (l *Log) Close() error {
	l.stopOnce.Do(func() { close(l.quit) })
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return ErrClosed
	}
	l.closed = true
	l.closeMu.Unlock()
	<-l.stopped
	l.failQueued(ErrClosed)

	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.isClosed.Store(true)
	var errs []error
	if l.opts.Durability == DurabilityReplicated {
		// Make everything durable before declaring the file clean, so the
		// flag can never be on disk ahead of the data it vouches for.
		if err := l.db.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("sync: %w", err))
		}
		l.db.NoSync = false
	}
	// markDirty still set means no write since Open: the file on disk is
	// still marked clean, and an idle log closes without a commit.
	untouched := l.markDirty && l.cleanOnOpen && !l.hwDirty.Load()
	if len(errs) == 0 && !untouched {
		l.markDirty = false
		hwDirty := l.hwDirty.Swap(false)
		err := l.db.Update(func(tx *bolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			if hwDirty {
				if err := meta.Put(keyHW, sealed(keyHW, l.hw.Load())); err != nil {
					return err
				}
			}
			return meta.Put(keyClean, sealedFlag(keyClean, 1))
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("mark clean: %w", err))
		}
	}
	if err := l.db.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close log %s: %w", l.path, err)
	}
	return nil
}

// wrapClosed maps bbolt's "not open" to ErrClosed.
func (l *Log) wrapClosed(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) || errors.Is(err, berrors.ErrTxClosed) {
		return ErrClosed
	}
	return err
}

// view runs fn in a read transaction; a panic inside bbolt (a damaged page)
// is reported as ErrCorrupt rather than taking the process down.
func (l *Log) view(fn func(tx *bolt.Tx) error) (err error) {
	if l.isClosed.Load() {
		return ErrClosed
	}
	defer guardBolt(&err)()
	return l.wrapClosed(l.db.View(fn))
}
