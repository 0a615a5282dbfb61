package controller

import (
	"encoding/json"
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
}

// applyResult is what fsm.Apply returns to the proposer through raft.
type applyResult struct {
	res meta.Result
	err error
}

func newFSM(log *slog.Logger) *fsm {
	f := &fsm{log: log, changed: make(chan struct{})}
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
// committed entry: it changes nothing and its error goes back to the proposer.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	cmd, err := meta.DecodeCommand(l.Data)
	if err != nil {
		// Cannot happen with entries this code wrote; never crash a replica on it.
		f.log.Error("undecodable metadata command skipped", "index", l.Index, "err", err)
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

// Restore implements raft.FSM: it replaces the state with a snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	c := meta.NewCluster()
	if err := json.NewDecoder(rc).Decode(c); err != nil {
		return fmt.Errorf("restore metadata snapshot: %w", err)
	}
	if c.Brokers == nil {
		c.Brokers = map[meta.NodeID]*meta.Broker{}
	}
	if c.Topics == nil {
		c.Topics = map[string]*meta.Topic{}
	}
	if c.Plugins == nil {
		c.Plugins = map[string]*meta.Plugin{}
	}
	f.publish(c)
	f.log.Info("metadata restored from snapshot", "version", c.Version, "topics", len(c.Topics))
	return nil
}

type fsmSnapshot struct{ c *meta.Cluster }

// Persist writes the cluster as JSON (plugins' Wasm included).
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(s.c); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist metadata snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
