package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
)

// Host runs plugins: it validates modules, compiles them (once per content,
// cached on disk), and serves partitioners and processors from pools of
// instances. A Host is safe for concurrent use. Close releases everything.
type Host struct {
	cfg   Config
	log   *slog.Logger
	rt    wazero.Runtime
	cache wazero.CompilationCache
	epoch time.Time // zero of the guests' monotonic clock

	compileMu sync.Mutex // serialises compiles, so one module compiles once

	memory *memBudget // node-wide bound on instances' memory
	logs   *logRings  // the plugins' recent log lines, by name

	stopJanitor context.CancelFunc // ends the idle-instance janitor
	janitorDone chan struct{}      // closed when it returned
	sched       *scheduler         // node-wide bound on running calls
	backoffs    *backoffs          // plugin versions that keep exceeding their limits

	mu       sync.Mutex
	closed   bool
	compiled map[string]*compiled // by sha256 hex, in use or idle
	idle     []*compiled          // compiled modules no pool uses, oldest first
	pools    map[poolKey]*pool
}

// compiled is a compiled module shared by every pool running its bytes.
type compiled struct {
	sum  string
	mod  wazero.CompiledModule
	refs int // pools using it; closed at 0
	// frameBytes is instrument.go's estimate of the module's largest
	// native stack frame (it sets the call depth limit).
	frameBytes int
}

// NewHost starts a wazero runtime in compiler mode (interpreter where the
// platform has no compiler), with the on-disk compilation cache in
// cfg.CacheDir if set, and the minimal WASI subset of docs/plugin-abi.md.
func NewHost(ctx context.Context, cfg Config) (*Host, error) {
	cfg = cfg.withDefaults()
	h := &Host{
		cfg:      cfg,
		log:      cfg.Logger,
		epoch:    time.Now(),
		compiled: make(map[string]*compiled),
		pools:    make(map[poolKey]*pool),
		memory:   &memBudget{limit: cfg.MemoryBudget},
		logs:     &logRings{now: time.Now, by: map[string]*logRing{}},
		sched:    newScheduler(cfg.MaxConcurrentCalls),
		backoffs: &backoffs{after: cfg.BackoffAfter, min: cfg.BackoffMin, max: cfg.BackoffMax,
			now: time.Now, by: map[string]*backoff{}},
	}
	h.memory.evict = h.evictIdle
	var err error
	if cfg.CacheDir != "" {
		if h.cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("plugin compilation cache in %s: %w", cfg.CacheDir, err)
		}
	} else {
		h.cache = wazero.NewCompilationCache()
	}
	rc := wazero.NewRuntimeConfig() // the compiler where supported
	if cfg.Interpreter {
		rc = wazero.NewRuntimeConfigInterpreter()
	}
	// The compiler's context-done checks cost a call into Go per loop
	// iteration; instrument.go interrupts compiled code cheaply instead.
	// The interpreter's checks are cheap, so it keeps them.
	rc = rc.WithCompilationCache(h.cache).
		WithCloseOnContextDone(cfg.Interpreter).
		WithMemoryLimitPages(cfg.MaxMemoryPages)
	h.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if err := errors.Join(h.instantiateWASI(ctx), h.instantiateHostFuncs(ctx), h.instantiateInternal(ctx)); err != nil {
		h.rt.Close(ctx)
		h.cache.Close(ctx)
		return nil, fmt.Errorf("plugin host: %w", err)
	}
	jctx, cancel := context.WithCancel(context.Background())
	h.stopJanitor, h.janitorDone = cancel, make(chan struct{})
	go h.janitor(jctx, cfg.IdleInstanceTimeout)
	return h, nil
}

// Close closes every pool and compiled module, then the runtime. Partitioners
// and processors still held fail with ErrClosed afterwards. Close is
// idempotent.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.stopJanitor()
	pools := h.pools
	h.pools = map[poolKey]*pool{}
	h.mu.Unlock()
	<-h.janitorDone
	for _, p := range pools {
		p.close(ctx)
	}
	h.mu.Lock()
	for _, c := range h.compiled {
		c.mod.Close(ctx)
	}
	h.compiled = map[string]*compiled{}
	h.idle = nil
	h.mu.Unlock()
	err := h.rt.Close(ctx)
	return errors.Join(err, h.cache.Close(ctx))
}

// Sum is the hex SHA-256 of a module's bytes, the key of its compiled form.
func Sum(wasm []byte) string {
	s := sha256.Sum256(wasm)
	return hex.EncodeToString(s[:])
}

// compile returns the compiled form of wasm with one more reference; the
// caller must release it. Bytes already compiled (same SHA-256) are not
// compiled again; bytes compiled by an earlier Host on the same CacheDir are
// loaded from the cache.
func (h *Host) compile(ctx context.Context, wasm []byte) (*compiled, error) {
	if err := checkBinary(wasm); err != nil {
		return nil, err
	}
	sum := Sum(wasm)
	h.compileMu.Lock()
	defer h.compileMu.Unlock()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	if c, ok := h.compiled[sum]; ok {
		if c.refs == 0 {
			h.idle = slices.DeleteFunc(h.idle, func(x *compiled) bool { return x == c })
		}
		c.refs++
		h.mu.Unlock()
		return c, nil
	}
	h.mu.Unlock()
	prepared, err := instrumentModule(wasm)
	if errors.Is(err, errReservedName) {
		return nil, fmt.Errorf("%w: %v", ErrInvalidModule, err)
	} else if err != nil {
		return nil, fmt.Errorf("%w: malformed binary: %v", ErrInvalidModule, err)
	}
	mod, err := h.rt.CompileModule(ctx, prepared.wasm)
	if err != nil {
		return nil, fmt.Errorf("%w: does not compile: %v", ErrInvalidModule, err)
	}
	c := &compiled{sum: sum, mod: mod, refs: 1, frameBytes: prepared.frameBytes}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		mod.Close(ctx)
		return nil, ErrClosed
	}
	h.compiled[sum] = c
	return c, nil
}

// release drops a reference taken by compile. A module no longer used stays
// compiled in memory among the Config.IdleCompiled most recently used, so
// validating then using a module, or re-creating a topic's partitioner,
// does not compile it again.
func (h *Host) release(ctx context.Context, c *compiled) {
	h.mu.Lock()
	c.refs--
	var evict []*compiled
	if c.refs == 0 {
		if h.closed || h.compiled[c.sum] != c {
			evict = append(evict, c)
		} else {
			h.idle = append(h.idle, c)
			for len(h.idle) > h.cfg.IdleCompiled {
				evict = append(evict, h.idle[0])
				delete(h.compiled, h.idle[0].sum)
				h.idle = h.idle[1:]
			}
		}
	}
	h.mu.Unlock()
	for _, e := range evict {
		e.mod.Close(ctx)
	}
}

// checkBinary refuses what cannot be a Wasm binary, with a message a user
// understands.
func checkBinary(wasm []byte) error {
	switch {
	case len(wasm) == 0:
		return fmt.Errorf("%w: empty module (0 bytes)", ErrInvalidModule)
	case len(wasm) > MaxModuleBytes:
		return fmt.Errorf("%w: module is %d bytes, the limit is %d", ErrInvalidModule, len(wasm), MaxModuleBytes)
	case len(wasm) >= 7 && string(wasm[:7]) == "(module":
		return fmt.Errorf("%w: this is the WAT text format; build the binary with wat2wasm", ErrInvalidModule)
	case len(wasm) < 8 || string(wasm[:4]) != "\x00asm":
		return fmt.Errorf("%w: not a WebAssembly binary (no \\0asm magic number)", ErrInvalidModule)
	}
	return nil
}
