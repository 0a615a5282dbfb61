package plugins

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// scheduler bounds the Wasm calls running at once on a node
// (Config.MaxConcurrentCalls) and shares the slots fairly between plugins.
//
// Compiled Wasm cannot be preempted by Go's scheduler between its yields
// (timelimit.go): a call holds its thread and scheduler slot (P) while it
// computes, so calls on every P would leave the rest of the node (HTTP
// handlers, replication) only the moments between quanta. The default
// bound, GOMAXPROCS-1 (at least 1), leaves a P to everything else.
//
// A caller waits in its plugin's queue (FIFO). When a slot frees, it goes
// to the head of the next plugin's queue in round-robin order, so a plugin
// with many waiting callers (a busy or looping one) gets one turn in k
// when k plugins wait: it queues its own callers. A caller waits for the
// calls running when it arrives and at most one call of each other plugin
// then waiting, however many callers those have queued.
type scheduler struct {
	slots int32
	procs atomic.Int32 // GOMAXPROCS, refreshed by the yields (refreshProcs)
	// free is changed with mu held; the yields read it without (held).
	free atomic.Int32

	mu     sync.Mutex
	queues map[string]*[]*slotWaiter // waiting callers by plugin, FIFO
	ring   []string                  // plugins with waiters, in turn order
	next   int                       // index in ring of the next turn
}

type slotWaiter struct {
	ch      chan struct{} // closed when granted
	granted bool          // guarded by scheduler.mu
}

func newScheduler(slots int) *scheduler {
	s := &scheduler{slots: int32(max(slots, 1)), queues: map[string]*[]*slotWaiter{}}
	s.free.Store(s.slots)
	s.refreshProcs()
	return s
}

// refreshProcs rereads GOMAXPROCS (Go may change it at run time, following
// the container's CPU limit).
func (s *scheduler) refreshProcs() { s.procs.Store(int32(runtime.GOMAXPROCS(0))) }

// acquire takes a slot for a call of plugin, waiting its turn. The caller
// must release it.
func (s *scheduler) acquire(ctx context.Context, plugin string) error {
	s.mu.Lock()
	if s.free.Load() > 0 && len(s.ring) == 0 {
		s.free.Add(-1)
		s.mu.Unlock()
		return nil
	}
	w := &slotWaiter{ch: make(chan struct{})}
	q, ok := s.queues[plugin]
	if !ok {
		q = &[]*slotWaiter{}
		s.queues[plugin] = q
		s.ring = append(s.ring, plugin)
	}
	*q = append(*q, w)
	s.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	if w.granted { // granted as ctx ended: pass the slot on
		s.mu.Unlock()
		s.release()
	} else {
		*q = slices.DeleteFunc(*q, func(x *slotWaiter) bool { return x == w })
		if len(*q) == 0 {
			s.dropQueue(plugin)
		}
		s.mu.Unlock()
	}
	return fmt.Errorf("waiting for a plugin execution slot: %w", ctx.Err())
}

// release frees a slot: to the next plugin's first waiter, or to the pool.
func (s *scheduler) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ring) == 0 {
		s.free.Add(1)
		return
	}
	i := s.next % len(s.ring)
	plugin := s.ring[i]
	q := s.queues[plugin]
	w := (*q)[0]
	*q = (*q)[1:]
	w.granted = true
	close(w.ch)
	if len(*q) == 0 {
		s.dropQueue(plugin) // the plugin after it moves to index i
		s.next = i
	} else {
		s.next = i + 1
	}
}

// dropQueue removes an empty queue; s.mu is held.
func (s *scheduler) dropQueue(plugin string) {
	delete(s.queues, plugin)
	i := slices.Index(s.ring, plugin)
	s.ring = slices.Delete(s.ring, i, i+1)
	if s.next > i {
		s.next--
	}
}

// holdsEveryP reports whether the running calls occupy every scheduler
// slot (P) of the process, so that nothing else runs but when one of them
// gives its P up (only possible when Config.MaxConcurrentCalls is at least
// GOMAXPROCS, as with GOMAXPROCS 1).
func (s *scheduler) holdsEveryP() bool {
	return s.held() >= s.procs.Load()
}

// held is the number of slots taken: by running calls, and by callers just
// granted one (a slot passed on in release stays taken).
func (s *scheduler) held() int32 { return s.slots - s.free.Load() }

// waiting returns the callers waiting, by plugin (for metrics and tests).
func (s *scheduler) waiting() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.queues))
	for p, q := range s.queues {
		out[p] = len(*q)
	}
	return out
}
