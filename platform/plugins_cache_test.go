package platform

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// countingUser stands in for a started plugin: it only counts Close.
type countingUser struct{ closed atomic.Int32 }

func (u *countingUser) Close(context.Context) error { u.closed.Add(1); return nil }

func TestPluginCacheBuildsOncePerKey(t *testing.T) {
	c := newPluginCache[*countingUser]()
	ctx := context.Background()
	var builds atomic.Int32
	release := make(chan struct{})
	build := func(context.Context) (*countingUser, error) {
		builds.Add(1)
		<-release // hold the build so that every caller finds it in flight
		return &countingUser{}, nil
	}
	ref := moduleRef{name: "p", version: 1, key: "k1"}
	var wg sync.WaitGroup
	entries := make([]*cacheEntry[*countingUser], 8)
	for i := range entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := c.acquire(ctx, ref, build)
			if err != nil {
				t.Error(err)
				return
			}
			entries[i] = e
		}()
	}
	close(release)
	wg.Wait()
	if builds.Load() != 1 {
		t.Fatalf("%d builds for one key, want 1", builds.Load())
	}
	for _, e := range entries[1:] {
		if e != entries[0] {
			t.Fatal("callers got different entries for one key")
		}
	}
	// Swept while in use: closed by the last release, not before.
	if n := c.sweep(ctx, func(*cacheEntry[*countingUser]) bool { return true }); n != 1 || c.len() != 0 {
		t.Fatalf("sweep dropped %d, %d left", n, c.len())
	}
	u := entries[0].val
	for i, e := range entries {
		if u.closed.Load() != 0 {
			t.Fatalf("closed with %d users left", len(entries)-i)
		}
		c.release(ctx, e)
	}
	if u.closed.Load() != 1 {
		t.Fatalf("closed %d times after the last release, want 1", u.closed.Load())
	}
}

func TestPluginCacheFailedBuildIsNotKept(t *testing.T) {
	c := newPluginCache[*countingUser]()
	ctx := context.Background()
	ref := moduleRef{key: "k"}
	boom := errors.New("module refused its parameters")
	if _, err := c.acquire(ctx, ref, func(context.Context) (*countingUser, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("acquire = %v, want the build's error", err)
	}
	if c.len() != 0 {
		t.Fatal("a failed build stayed in the cache")
	}
	u := &countingUser{}
	e, err := c.acquire(ctx, ref, func(context.Context) (*countingUser, error) { return u, nil })
	if err != nil || e.val != u {
		t.Fatalf("second acquire: %v", err)
	}
	c.release(ctx, e)
	// Idle and kept: close drops it and refuses new users.
	c.close(ctx)
	if u.closed.Load() != 1 {
		t.Fatalf("close closed the entry %d times", u.closed.Load())
	}
	if _, err := c.acquire(ctx, ref, func(context.Context) (*countingUser, error) { return u, nil }); !errors.Is(err, errCacheClosed) {
		t.Fatalf("acquire after close = %v", err)
	}
}
