// Package plugins runs user-supplied WebAssembly modules inside a Sluice node:
// partitioners, which decide the partition of each produced record, and
// processors, which filter, rewrite or expand records on their way to a
// consumer. It is the host side of the ABI in docs/plugin-abi.md.
//
// A Host owns one wazero runtime (compiler mode, with an on-disk compilation
// cache so a restart does not recompile), validates modules at upload
// (Validate), and hands out a WasmPartitioner or Processor per user. Users of
// the same module, version, parameters and limits share one pool of instances;
// the pool is bounded (Config.MaxInstancesPerModule) and dropped when its last
// user closes. Every call runs under the plugin's limits: memory pages, time
// per call (a runaway call is interrupted) and output size. A trap, timeout,
// memory exhaustion or malformed result fails that call with an error wrapping
// ErrPluginFailed and naming the plugin ("plugin NAME@V: ..."); the instance is
// discarded and the host keeps serving.
//
// The Host also shares the node between plugins: at most
// Config.MaxConcurrentCalls calls run at once, taking turns per plugin
// (sched.go); a plugin version that keeps exceeding its limits is backed
// off (backoff.go, ErrBackedOff); all instances' memory is bounded by
// Config.MemoryBudget, idle instances are released (memory.go, idle.go);
// plugin log lines are capped, rate-limited and kept per plugin
// (PluginLogs). docs/plugin-abi.md, section 7, states the rules.
package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"
)

// Kind is what a plugin does.
type Kind string

// The plugin kinds.
const (
	// KindPartitioner modules export sluice_partition.
	KindPartitioner Kind = "partitioner"
	// KindProcessor modules export sluice_process.
	KindProcessor Kind = "processor"
)

// ParseKind parses "partitioner" or "processor".
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case KindPartitioner, KindProcessor:
		return Kind(s), nil
	}
	return "", fmt.Errorf("unknown plugin kind %q (want partitioner or processor)", s)
}

// ABIVersion is the plugin ABI version this host speaks (docs/plugin-abi.md).
const ABIVersion = 1

// Defaults for Limits and Config.
const (
	DefaultMemoryPages         uint32 = 1024 // 64 MiB
	DefaultCallTimeout                = 100 * time.Millisecond
	DefaultMaxOutputBytes             = 16 << 20
	DefaultMaxCallDepth        uint32 = 10000
	DefaultMaxMemoryPages      uint32 = 16384 // 1 GiB
	DefaultInstantiateTimeout         = 5 * time.Second
	DefaultMemoryBudget        int64  = 2 << 30
	DefaultIdleInstanceTimeout        = time.Minute
	// MaxModuleBytes is the largest module Validate accepts.
	MaxModuleBytes = 64 << 20
)

// wasmPageSize is the size of one Wasm memory page.
const wasmPageSize = 65536

// Limits bound one plugin instance. A zero field takes the host's default
// (Config.DefaultLimits), and a zero there takes the package default.
type Limits struct {
	// MemoryPages is the most linear memory an instance may have, in 64 KiB
	// pages. Default 1024 (64 MiB). memory.grow past it fails.
	MemoryPages uint32
	// CallTimeout bounds one call into the plugin (one batch). Default 100 ms.
	// A call still running then is interrupted and fails with ErrTimeout.
	CallTimeout time.Duration
	// MaxOutputBytes bounds the result of one call. Default 16 MiB.
	MaxOutputBytes int
	// MaxCallDepth bounds how deeply a call may nest Wasm function calls.
	// Default 10000. The limit an instance gets is lower if its module's
	// largest stack frame times the depth would not fit in a quarter of
	// MemoryPages (docs/plugin-abi.md, "Limits"); a call past it fails with
	// "call depth limit N exceeded".
	MaxCallDepth uint32
}

// withDefaults fills zero fields from d, then from the package defaults.
func (l Limits) withDefaults(d Limits) Limits {
	if l.MemoryPages == 0 {
		l.MemoryPages = d.MemoryPages
	}
	if l.MemoryPages == 0 {
		l.MemoryPages = DefaultMemoryPages
	}
	if l.CallTimeout <= 0 {
		l.CallTimeout = d.CallTimeout
	}
	if l.CallTimeout <= 0 {
		l.CallTimeout = DefaultCallTimeout
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = d.MaxOutputBytes
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if l.MaxCallDepth == 0 {
		l.MaxCallDepth = d.MaxCallDepth
	}
	if l.MaxCallDepth == 0 {
		l.MaxCallDepth = DefaultMaxCallDepth
	}
	return l
}

// Config configures a Host. The zero value is usable.
type Config struct {
	// CacheDir holds compiled modules so that a restart does not recompile
	// them (e.g. DATA_DIR/plugin-cache). Empty: compile in memory only.
	CacheDir string
	// Logger receives the plugins' stdout/stderr lines and host events.
	// Default slog.Default().
	Logger *slog.Logger
	// MaxInstancesPerModule bounds the live instances of one pool (one
	// module, version, parameter set and limits), and so the concurrency of
	// its calls; callers beyond it wait. Default GOMAXPROCS.
	MaxInstancesPerModule int
	// DefaultLimits apply to modules whose Limits leave a field zero.
	// Zero fields take DefaultMemoryPages, DefaultCallTimeout and
	// DefaultMaxOutputBytes.
	DefaultLimits Limits
	// MaxMemoryPages is the ceiling for any plugin's Limits.MemoryPages.
	// Default 16384 (1 GiB).
	MaxMemoryPages uint32
	// InstantiateTimeout bounds starting one instance: the module's start
	// function, _initialize and sluice_init. Default 5 s.
	InstantiateTimeout time.Duration
	// IdleCompiled is how many compiled modules no pool uses are kept in
	// memory (least recently used beyond it are dropped; the on-disk cache
	// still has them). Default 16.
	IdleCompiled int
	// MemoryBudget bounds the linear memory of all plugin instances of the
	// Host together, in use or idle, in bytes. An instance that would go
	// past it first makes room by closing idle instances (of any plugin);
	// if that is not enough, its memory.grow fails (the call fails with
	// ErrMemoryLimit naming the budget), or it does not start. Default
	// DefaultMemoryBudget (2 GiB).
	MemoryBudget int64
	// IdleInstanceTimeout is how long an instance may sit idle in its pool
	// before it is closed; one instance per pool stays warm. Default 1 min.
	IdleInstanceTimeout time.Duration
	// MaxConcurrentCalls bounds the Wasm calls (and instance start-ups)
	// running at once on the Host, over all plugins; callers beyond it wait
	// their plugin's turn (see scheduler). Default GOMAXPROCS-1, at least 1,
	// so that one scheduler slot always runs the rest of the node.
	MaxConcurrentCalls int
	// BackoffAfter is how many calls in a row of one plugin version may
	// exceed a limit (time, or its own memory limit: not the node's
	// MemoryBudget running out) before its callers are refused with
	// ErrBackedOff for BackoffMin, doubling per further back-off up to
	// BackoffMax. Defaults 3, 1 s and 30 s.
	BackoffAfter           int
	BackoffMin, BackoffMax time.Duration
	// OnCall, if set, is told about every call into a plugin (a batch) and
	// every call refused by a back-off, after the fact, on the caller's
	// goroutine: for metrics. It must be cheap and must not call the Host.
	OnCall func(CallStats)
	// Interpreter runs modules in wazero's interpreter instead of compiling
	// them to machine code: a large module starts in a tenth of the time but
	// runs several times slower. For short-lived hosts (tests, one-off local
	// runs); a node should leave it false.
	Interpreter bool
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxInstancesPerModule <= 0 {
		c.MaxInstancesPerModule = runtime.GOMAXPROCS(0)
	}
	if c.MaxMemoryPages == 0 {
		c.MaxMemoryPages = DefaultMaxMemoryPages
	}
	if c.InstantiateTimeout <= 0 {
		c.InstantiateTimeout = DefaultInstantiateTimeout
	}
	if c.MemoryBudget <= 0 {
		c.MemoryBudget = DefaultMemoryBudget
	}
	if c.IdleInstanceTimeout <= 0 {
		c.IdleInstanceTimeout = DefaultIdleInstanceTimeout
	}
	if c.MaxConcurrentCalls <= 0 {
		c.MaxConcurrentCalls = max(runtime.GOMAXPROCS(0)-1, 1)
	}
	if c.BackoffAfter <= 0 {
		c.BackoffAfter = DefaultBackoffAfter
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = max(DefaultBackoffMax, c.BackoffMin)
	}
	if c.IdleCompiled <= 0 {
		c.IdleCompiled = 16
	}
	c.DefaultLimits = c.DefaultLimits.withDefaults(Limits{})
	return c
}

// Errors callers act on. Every failure a plugin causes at run time wraps
// ErrPluginFailed; timeouts, memory exhaustion and malformed results also
// wrap their specific error.
var (
	// ErrInvalidModule: the module cannot be used as the requested kind
	// (does not compile, wrong exports or ABI version, forbidden imports,
	// empty or not Wasm). Upload should be refused; the message says why.
	ErrInvalidModule = errors.New("invalid plugin module")
	// ErrPluginFailed: a call into the plugin failed (trap, exit, timeout,
	// memory limit, malformed output, or an error the plugin reported).
	ErrPluginFailed = errors.New("plugin failed")
	// ErrTimeout: the call ran past Limits.CallTimeout and was interrupted.
	ErrTimeout = errors.New("timed out")
	// ErrMemoryLimit: the instance needed more than Limits.MemoryPages.
	ErrMemoryLimit = errors.New("memory limit exceeded")
	// ErrBadOutput: the plugin's result broke the ABI (out-of-range
	// partition, wrong count, unknown source offset, malformed bytes, too
	// large).
	ErrBadOutput = errors.New("malformed plugin output")
	// ErrClosed: the Host, partitioner or processor was closed.
	ErrClosed = errors.New("plugin host closed")
)

// Module is one immutable version of an uploaded plugin.
type Module struct {
	Name    string // registry name, e.g. "by-customer"
	Version int    // registry version, 1, 2, ...
	Wasm    []byte // the module's binary
	Limits  Limits // zero fields take the host's defaults
}

// ID is "NAME@VERSION", as errors and logs name the plugin.
func (m Module) ID() string { return fmt.Sprintf("%s@%d", m.Name, m.Version) }

// CallStats describes one call into a plugin, for Config.OnCall.
type CallStats struct {
	Plugin  string // registry name
	Version int
	Kind    Kind
	// Ran is false when the call never ran (backed off, or the caller gave
	// up waiting for an instance or an execution slot).
	Ran bool
	// Duration is the time the call ran (not the wait before it).
	Duration time.Duration
	// Wait is the time spent waiting for an instance and an execution slot.
	Wait time.Duration
	// Err is the call's error (nil on success).
	Err error
}

// FailureReason names the kind of a plugin call's failure, for metrics:
// "" (no error), "timeout", "memory", "bad_output", "backed_off",
// "cancelled" (the caller gave up), or "failed" (a trap, an exit, or the
// plugin's own error result).
func FailureReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, ErrMemoryLimit):
		return "memory"
	case errors.Is(err, ErrBadOutput):
		return "bad_output"
	case errors.Is(err, ErrBackedOff):
		return "backed_off"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	default:
		return "failed"
	}
}
