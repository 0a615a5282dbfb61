package platform

import (
	"context"
	"errors"
	"sync"
	"time"
)

// pluginUser is what the cache holds: a plugins.WasmPartitioner or
// plugins.Processor, each a hold on one pool of instances in the host.
type pluginUser interface {
	Close(ctx context.Context) error
}

// pluginCache keeps one started plugin (partitioner or processor) per key
// (kind, plugin version, content hash, limits and parameters), so that
// requests reuse warm instances instead of instantiating a module each
// time. Entries are built once by the first caller (others wait for it),
// counted while in use, and closed by sweep when the node no longer needs
// them; an entry swept while in use closes when its last user releases it.
type pluginCache[T pluginUser] struct {
	mu      sync.Mutex
	closed  bool
	entries map[string]*cacheEntry[T]
}

// cacheEntry is one started plugin.
type cacheEntry[T pluginUser] struct {
	ref   moduleRef
	ready chan struct{} // closed once val or err is set
	val   T
	err   error

	// Guarded by the cache's mu.
	users    int       // acquisitions not yet released
	lastUsed time.Time // when the last user released it
	dropped  bool      // out of the map: close when users reaches 0
}

// errCacheClosed: the node is shutting down.
var errCacheClosed = errors.New("plugin runtime closed")

func newPluginCache[T pluginUser]() *pluginCache[T] {
	return &pluginCache[T]{entries: map[string]*cacheEntry[T]{}}
}

// acquire returns the entry for ref.key, building it with build when there is
// none. The caller must release the entry. A failed build is not kept: the
// next acquire tries again.
func (c *pluginCache[T]) acquire(ctx context.Context, ref moduleRef, build func(context.Context) (T, error)) (*cacheEntry[T], error) {
	key := ref.key
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errCacheClosed
	}
	e, ok := c.entries[key]
	if ok {
		e.users++
		c.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			c.release(context.WithoutCancel(ctx), e)
			return nil, ctx.Err()
		}
		if e.err != nil {
			c.release(context.WithoutCancel(ctx), e)
			return nil, e.err
		}
		return e, nil
	}
	e = &cacheEntry[T]{ref: ref, ready: make(chan struct{}), users: 1}
	c.entries[key] = e
	c.mu.Unlock()

	// Built outside the lock (instantiating may take milliseconds, a first
	// compile seconds) and without the caller's cancellation, since other
	// callers may be waiting for the same entry; the host bounds the time.
	e.val, e.err = build(context.WithoutCancel(ctx))
	if e.err != nil {
		c.mu.Lock()
		if c.entries[key] == e {
			delete(c.entries, key)
		}
		e.users--
		c.mu.Unlock()
		close(e.ready)
		return nil, e.err
	}
	c.mu.Lock()
	if c.closed && c.entries[key] == e { // closed while building: last user closes it
		delete(c.entries, key)
		e.dropped = true
	}
	c.mu.Unlock()
	close(e.ready)
	return e, nil
}

// release ends one use of e.
func (c *pluginCache[T]) release(ctx context.Context, e *cacheEntry[T]) {
	c.mu.Lock()
	e.users--
	e.lastUsed = time.Now()
	closeNow := e.dropped && e.users == 0 && e.err == nil
	c.mu.Unlock()
	if closeNow {
		_ = e.val.Close(ctx)
	}
}

// sweep drops every built entry for which drop says so; entries in use
// close when their last user releases them.
func (c *pluginCache[T]) sweep(ctx context.Context, drop func(e *cacheEntry[T]) bool) int {
	var toClose []T
	n := 0
	c.mu.Lock()
	for key, e := range c.entries {
		select {
		case <-e.ready:
		default:
			continue // being built
		}
		if !drop(e) {
			continue
		}
		delete(c.entries, key)
		e.dropped = true
		n++
		if e.users == 0 {
			toClose = append(toClose, e.val)
		}
	}
	c.mu.Unlock()
	for _, v := range toClose {
		_ = v.Close(ctx)
	}
	return n
}

// len is the number of entries held.
func (c *pluginCache[T]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// close drops every entry and refuses new ones.
func (c *pluginCache[T]) close(ctx context.Context) {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.sweep(ctx, func(*cacheEntry[T]) bool { return true })
}
