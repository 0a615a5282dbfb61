package plugins

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// poolKey identifies instances that are interchangeable: same bytes, same
// registry identity (errors and logs name it), same parameters and limits.
type poolKey struct {
	sum    string
	id     string
	kind   Kind
	params string
	limits Limits
}

func canonicalParams(params map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(params)) {
		fmt.Fprintf(&b, "%d:%s%d:%s", len(k), k, len(params[k]), params[k])
	}
	return b.String()
}

// pool holds the instances of one poolKey. At most max instances live at
// once (idle plus in use); callers beyond that wait for one to come back.
type pool struct {
	h      *Host
	key    poolKey
	mod    Module
	c      *compiled
	params map[string]string
	limits Limits

	users int // guarded by h.mu

	tokens chan struct{}     // one per live instance
	idle   chan idleInstance // capacity max, never blocks a put

	mu     sync.Mutex
	closed bool
}

// acquirePool returns the pool for the key with one more user, creating it
// (and compiling the module) if needed. New pools start one instance at
// once, so bad parameters or a module that cannot start fail here, not on
// the first batch.
func (h *Host) acquirePool(ctx context.Context, m Module, kind Kind, params map[string]string) (*pool, error) {
	limits := m.Limits.withDefaults(h.cfg.DefaultLimits)
	if limits.MemoryPages > h.cfg.MaxMemoryPages {
		return nil, fmt.Errorf("plugin %s: memory limit of %d pages is over the host's maximum of %d", m.ID(), limits.MemoryPages, h.cfg.MaxMemoryPages)
	}
	key := poolKey{sum: Sum(m.Wasm), id: m.ID(), kind: kind, params: canonicalParams(params), limits: limits}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	if p, ok := h.pools[key]; ok {
		p.users++
		h.mu.Unlock()
		return p, nil
	}
	h.mu.Unlock()

	c, err := h.compile(ctx, m.Wasm)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", m.ID(), err)
	}
	if _, err := inspect(c.mod, kind, limits.MemoryPages); err != nil {
		h.release(ctx, c)
		return nil, fmt.Errorf("plugin %s: %w", m.ID(), err)
	}
	p := &pool{
		h: h, key: key, mod: m, c: c, params: maps.Clone(params), limits: limits, users: 1,
		tokens: make(chan struct{}, h.cfg.MaxInstancesPerModule),
		idle:   make(chan idleInstance, h.cfg.MaxInstancesPerModule),
	}
	p.tokens <- struct{}{}
	inst, err := h.newInstance(ctx, c, m, limits, params, kind, true)
	if err != nil {
		h.release(ctx, c)
		return nil, fmt.Errorf("plugin %s: %w", m.ID(), err)
	}
	p.idle <- idleInstance{inst, time.Now()}

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		p.close(ctx)
		return nil, ErrClosed
	}
	if q, ok := h.pools[key]; ok { // another caller won the race: use theirs
		q.users++
		h.mu.Unlock()
		p.close(ctx)
		return q, nil
	}
	h.pools[key] = p
	h.mu.Unlock()
	return p, nil
}

// releasePool drops one user; the last one closes the pool and its
// instances, and releases the compiled module.
func (h *Host) releasePool(ctx context.Context, p *pool) {
	h.mu.Lock()
	p.users--
	last := p.users == 0
	if last && h.pools[p.key] == p {
		delete(h.pools, p.key)
	}
	h.mu.Unlock()
	if last {
		p.close(ctx)
	}
}

// get returns an idle instance, starts a new one if the pool is below its
// bound, or waits for one to be put back. The caller holds no execution
// slot (a new instance's start-up takes one).
func (p *pool) get(ctx context.Context) (*instance, error) { return p.take(ctx, false) }

// take is get; inSlot says the caller holds an execution slot already, so
// a new instance starts within it (taking a second could deadlock).
func (p *pool) take(ctx context.Context, inSlot bool) (*instance, error) {
	select {
	case ii := <-p.idle:
		return ii.instance, nil
	default:
	}
	select {
	case ii := <-p.idle:
		return ii.instance, nil
	case p.tokens <- struct{}{}:
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			<-p.tokens
			return nil, ErrClosed
		}
		start := p.h.newInstance
		if inSlot {
			start = p.h.startInstance
		}
		inst, err := start(ctx, p.c, p.mod, p.limits, p.params, p.key.kind, true)
		if err != nil {
			<-p.tokens
			return nil, err
		}
		return inst, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a plugin instance: %w", ctx.Err())
	}
}

// put returns a healthy instance for reuse.
func (p *pool) put(ctx context.Context, inst *instance) {
	p.restore(ctx, idleInstance{inst, time.Now()})
}

// restore puts an idle instance back as it was (the idle sweep takes them
// out to look at them).
func (p *pool) restore(ctx context.Context, ii idleInstance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		ii.close(ctx)
		<-p.tokens
		return
	}
	p.idle <- ii
}

// discard closes an instance that failed; its slot frees up.
func (p *pool) discard(ctx context.Context, inst *instance) {
	inst.close(ctx)
	<-p.tokens
}

// close closes the idle instances; busy ones are closed when put back.
func (p *pool) close(ctx context.Context) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	for {
		select {
		case ii := <-p.idle:
			p.discard(ctx, ii.instance)
		default:
			p.h.release(ctx, p.c)
			return
		}
	}
}

// run takes an instance and a node execution slot, runs fn on it and puts
// the instance back, or discards it if fn reports it unusable. A plugin
// version backed off for exceeding its limits is not called at all.
// Errors are prefixed with the plugin's identity.
func (p *pool) run(ctx context.Context, fn func(*instance) (healthy bool, err error)) error {
	id := p.key.id
	st := CallStats{Plugin: p.mod.Name, Version: p.mod.Version, Kind: p.key.kind}
	start := time.Now()
	err := p.runOnce(ctx, fn, &st, start)
	st.Err = err
	if !st.Ran {
		st.Wait = time.Since(start)
	}
	if f := p.h.cfg.OnCall; f != nil {
		f(st)
	}
	if err != nil {
		return fmt.Errorf("plugin %s: %w", id, err)
	}
	return nil
}

func (p *pool) runOnce(ctx context.Context, fn func(*instance) (healthy bool, err error), st *CallStats, start time.Time) error {
	id := p.key.id
	if err := p.h.backoffs.allow(id); err != nil {
		return err
	}
	// The slot first, then the instance: callers waiting their turn hold
	// no instance (nor its memory). With the pool's bound at or above the
	// slots (the defaults), a slot holder never waits for an instance.
	if err := p.h.sched.acquire(ctx, id); err != nil {
		p.h.backoffs.abandon(id)
		return err
	}
	inst, err := p.take(ctx, true)
	if err != nil {
		p.h.sched.release()
		if ctx.Err() != nil {
			p.h.backoffs.abandon(id)
		} else {
			p.h.backoffs.record(id, err) // a start-up that timed out is a strike too
		}
		return err
	}
	began := time.Now()
	st.Ran, st.Wait = true, began.Sub(start)
	inst.io.beginCall()
	healthy, err := fn(inst)
	inst.io.endCall()
	p.h.sched.release()
	st.Duration = time.Since(began)
	if healthy {
		p.put(ctx, inst)
	} else {
		p.discard(ctx, inst)
	}
	if ctx.Err() != nil && err != nil && !errors.Is(err, ErrPluginFailed) {
		p.h.backoffs.abandon(id) // the caller gave up: not the plugin's doing
	} else {
		p.h.backoffs.record(id, err)
	}
	return err
}
