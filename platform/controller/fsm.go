package controller

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/sluicehq/sluice/platform/meta"
)

// fsm is the raft state machine: committed log entries are meta.Commands,
// applied with meta.Apply. It publishes every new *meta.Cluster atomically
// and wakes watchers by closing a channel per version.
type fsm struct {
	log   *slog.Logger
	state atomic.Pointer[meta.Cluster]

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every new state

	// halted holds the error of the entry that stopped the state machine;
	// haltCh is closed then.
	halted     atomic.Pointer[error]
	haltCh     chan struct{}
	haltOnce   sync.Once
	restoreErr atomic.Pointer[error] // the last snapshot refused
}

// applyResult is what fsm.Apply returns to the proposer through raft.
type applyResult struct {
	res meta.Result
	err error
}

func newFSM(log *slog.Logger) *fsm {
	f := &fsm{log: log, changed: make(chan struct{}), haltCh: make(chan struct{})}
	f.state.Store(meta.NewCluster())
	return f
}

// publish installs a new state and wakes every watcher.
func (f *fsm) publish(c *meta.Cluster) {
	f.mu.Lock()
	f.state.Store(c)
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// current returns the state and the channel that closes when it changes.
func (f *fsm) current() (*meta.Cluster, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state.Load(), f.changed
}

// Apply implements raft.FSM. A command that fails validation is still a
// committed entry: it changes nothing and its error goes back to the
// proposer. An entry that fails its checksum or does not decode strictly
// (decodeEntry) halts the state machine instead: it is not applied, nor is
// any later entry, the published state stays the last good one, and the
// controller stops its raft (see Controller.watchHalt).
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	if err := f.haltErr(); err != nil {
		return applyResult{err: err}
	}
	cmd, err := decodeEntry(l.Data)
	if err != nil {
		err = fmt.Errorf("metadata entry at raft index %d (term %d) refused: %w", l.Index, l.Term, err)
		f.halt(err)
		return applyResult{err: err}
	}
	cur := f.state.Load()
	next, res, err := meta.Apply(cur, l.Index, cmd, cmd.At)
	if err != nil {
		return applyResult{res: res, err: err}
	}
	if next != cur {
		f.publish(next)
	}
	return applyResult{res: res}
}

// Snapshot implements raft.FSM. Clusters are immutable, so the snapshot is
// just the current pointer; Persist encodes it off the FSM goroutine.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{c: f.state.Load()}, nil
}

// Restore implements raft.FSM: it replaces the state with a snapshot's,
// after checking the snapshot's envelope (see snapshot.go). A snapshot that
// fails is refused with an error wrapping ErrCorruptMetadata and the state
// is left as it was; raft then tries an older snapshot (on start) or the
// leader sends it again (InstallSnapshot).
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	if err := f.haltErr(); err != nil {
		return err
	}
	c, err := readSnapshot(rc)
	if err != nil {
		err = fmt.Errorf("restore metadata snapshot: %w", err)
		f.restoreErr.Store(&err)
		f.log.Error("metadata snapshot refused", "err", err)
		return err
	}
	f.publish(c)
	f.log.Info("metadata restored from snapshot", "version", c.Version, "topics", len(c.Topics))
	return nil
}

type fsmSnapshot struct{ c *meta.Cluster }

// Persist writes the cluster (plugins' Wasm included) in a checksummed
// envelope.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := writeSnapshot(sink, s.c); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist metadata snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}

// halt stops the state machine for good with err (the first one wins).
func (f *fsm) halt(err error) {
	f.haltOnce.Do(func() {
		f.halted.Store(&err)
		f.log.Error("metadata state machine halted: refusing to apply the raft log any further", "err", err)
		close(f.haltCh)
	})
}

// haltErr is the error that halted the state machine, or nil.
func (f *fsm) haltErr() error {
	if p := f.halted.Load(); p != nil {
		return *p
	}
	return nil
}

// lastRestoreErr is the error of the last refused snapshot, or nil.
func (f *fsm) lastRestoreErr() error {
	if p := f.restoreErr.Load(); p != nil {
		return *p
	}
	return nil
}
