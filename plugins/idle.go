package plugins

import (
	"context"
	"time"
)

// Idle instances: every pool keeps the instances its callers put back, so
// the next call does not pay a start-up. They hold memory (their linear
// memory counts against Config.MemoryBudget, and wazero keeps the grown
// call stack of each), so they are released: after
// Config.IdleInstanceTimeout without use (one per pool stays warm), and at
// once, any of them, when another instance needs the budget.

// idleInstance is an instance waiting in a pool, with when it was put back.
type idleInstance struct {
	*instance
	since time.Time
}

// evictIdle closes idle instances of any pool until need bytes of the
// memory budget were returned, or none is left idle.
func (h *Host) evictIdle(need int64) {
	h.mu.Lock()
	pools := make([]*pool, 0, len(h.pools))
	for _, p := range h.pools {
		pools = append(pools, p)
	}
	h.mu.Unlock()
	var freed int64
	for _, p := range pools {
		for freed < need {
			select {
			case inst := <-p.idle:
				freed += inst.memory.reserved
				p.discard(context.Background(), inst.instance)
				continue
			default:
			}
			break
		}
		if freed >= need {
			return
		}
	}
}

// sweepIdle closes the instances idle since before now-timeout, keeping
// the most recently used one of each pool. It returns how many it closed.
func (h *Host) sweepIdle(ctx context.Context, now time.Time, timeout time.Duration) int {
	h.mu.Lock()
	pools := make([]*pool, 0, len(h.pools))
	for _, p := range h.pools {
		pools = append(pools, p)
	}
	h.mu.Unlock()
	closed := 0
	for _, p := range pools {
		var keep []idleInstance
	drain:
		for {
			select {
			case inst := <-p.idle:
				keep = append(keep, inst)
			default:
				break drain
			}
		}
		newest := -1
		for i, inst := range keep {
			if newest < 0 || inst.since.After(keep[newest].since) {
				newest = i
			}
		}
		for i, inst := range keep {
			if i != newest && now.Sub(inst.since) > timeout {
				p.discard(ctx, inst.instance)
				closed++
			} else {
				p.restore(ctx, inst) // a closed pool closes it
			}
		}
	}
	return closed
}

// janitor sweeps idle instances every half timeout until ctx ends.
func (h *Host) janitor(ctx context.Context, timeout time.Duration) {
	defer close(h.janitorDone)
	t := time.NewTicker(max(timeout/2, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n := h.sweepIdle(ctx, now, timeout); n > 0 {
				h.log.Debug("closed idle plugin instances", "count", n)
			}
		}
	}
}
