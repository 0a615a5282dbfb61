package plugins

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// How a time limit is enforced (see also instrument.go).
//
// A span is the time one limit covers: a call into the plugin (one batch:
// sluice_alloc and the entry point together) or an instance's whole start
// (start function, _initialize, sluice_init).
//
// The instrumenter puts a fuel check at every function entry and loop
// header. The fuel counts down a quantum of checks; when it is gone the
// guest calls the host function sluice_internal.yield, whose Go body
//
//   - reads the real clock: past the span's deadline (or with the caller's
//     context ended) it traps the call, which fails with ErrTimeout and the
//     time measured; so the limit holds as configured, to within one
//     quantum of guest work, from a millisecond to the maximum;
//   - returns to Go code, which is a safe point: a stop-the-world garbage
//     collection or a preemption request (Go's sysmon asks every goroutine
//     that has run 10 ms to give way) waits at most one quantum for a
//     running call, never the whole call; so between yields a call is
//     scheduled like any CPU-bound goroutine;
//   - gives its P up (runtime.Gosched) only when the running calls hold
//     every P (scheduler.holdsEveryP), so that the rest of the node still
//     runs every quantum. With a P left to the rest (the default bound),
//     it does not: a Gosched puts the call on the global run queue, from
//     which the P the node's requests run on picks it up, and they then
//     wait for its next yield (BenchmarkBystanderLatency: produce p99
//     1.17-1.30x an idle node's with a Gosched at every yield, medians of
//     0.97-1.13x without, docs/benchmarks.md);
//   - sizes the next quantum so that the guest runs about yieldEvery
//     between two yields (doubling or halving it within
//     [quantumMin, quantumMax]), whatever a check's loop body costs.
//
// No goroutine or timer watches a call: the call itself looks at the clock.
// The interpreter (Config.Interpreter) keeps wazero's own context checks
// as well; the yields work the same there.
//
// Errors report the time measured from the start of the span, and the
// limit: "interrupted after 2.003s (limit 2s)".

const (
	// yieldEvery is the guest run time aimed at between two yields: the
	// longest a collection or another goroutine waits for a running call.
	// 20 µs costs a CPU-bound call 0-3% (BenchmarkBusyCall) and, against
	// 100 µs, cut a bystander's fetch p99 beside a busy plugin from ~1.5×
	// to ~1.3× its p99 without one (BenchmarkBystanderLatency).
	yieldEvery = 20 * time.Microsecond
	// The quantum (checks between yields) starts at quantumStart and
	// adapts within [quantumMin, quantumMax].
	quantumStart = 1 << 14
	quantumMin   = 1 << 8
	quantumMax   = 1 << 26
	// minCallDepth is the least call depth limit an instance gets, however
	// large its frames.
	minCallDepth = 64
)

// errInterrupted is the panic of a yield past the deadline; wazero returns
// it (wrapped) from the call.
var errInterrupted = errors.New("interrupted at its time limit")

// depthError is the panic of a call past the call depth limit.
type depthError struct{ limit uint32 }

func (e *depthError) Error() string { return fmt.Sprintf("call depth limit %d exceeded", e.limit) }

// span is the time one limit covers.
type span struct {
	start time.Time
	limit time.Duration
	what  string // "call" or "start-up", for messages
}

func newSpan(limit time.Duration, what string) span {
	return span{start: time.Now(), limit: limit, what: what}
}

func (s span) deadline() time.Time { return s.start.Add(s.limit) }

// timeoutError is the error of a call interrupted at its limit, with the
// measured time.
func (s span) timeoutError() error {
	return fmt.Errorf("%w: %w: %s interrupted after %v (limit %v)", ErrPluginFailed, ErrTimeout, s.what, roundElapsed(time.Since(s.start)), s.limit)
}

// roundElapsed keeps three significant digits or so (1.003s, 5.2ms).
func roundElapsed(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// clock is an instance's view of the span its running call is in; the
// yield host function reads and updates it on the call's goroutine.
type clock struct {
	deadline time.Time
	done     <-chan struct{} // the caller's context
	quantum  uint32          // checks between yields
	resumed  time.Time       // when the guest last started or resumed
	yields   uint64          // yields so far (tests, metrics)
	depth    uint32          // call depth limit
	sched    *scheduler      // the node's execution slots
}

// begin arms c for a call in s under ctx.
func (c *clock) begin(ctx context.Context, s span) {
	c.deadline, c.done = s.deadline(), ctx.Done()
	if c.quantum == 0 {
		c.quantum = quantumStart
	}
	c.resumed = time.Now()
}

// next adapts the quantum to the guest time ran since the last resume.
func (c *clock) next(ran time.Duration) uint32 {
	switch q := c.quantum; {
	case ran < yieldEvery/2 && q < quantumMax:
		c.quantum = q * 2
	case ran > 2*yieldEvery && q > quantumMin:
		c.quantum = q / 2
	}
	return c.quantum
}

// procsRefresh is how many yields of a call pass between two reads of
// GOMAXPROCS (which takes a runtime lock): every ~20 ms of guest time.
const procsRefresh = 1024

// interruptIfDue traps the running call (panic errInterrupted) if its span
// is past its deadline at now or the caller's context has ended. The yields
// call it, and so do the host functions of the "sluice" module on entry, so
// that a module calling one in a loop (each call a scan of a whole batch,
// between two fuel checks) stops at its limit too.
func (c *clock) interruptIfDue(now time.Time) {
	if !now.Before(c.deadline) {
		panic(errInterrupted)
	}
	select {
	case <-c.done:
		panic(errInterrupted)
	default:
	}
}

// interruptHostCall is interruptIfDue for a host function: a no-op outside
// a call (no clock).
func interruptHostCall(ctx context.Context) {
	if g := guestFrom(ctx); g != nil && g.clock != nil {
		g.clock.interruptIfDue(time.Now())
	}
}

// yieldFn is sluice_internal.yield(why i32) -> i32 (the next quantum).
func yieldFn(ctx context.Context, _ api.Module, stack []uint64) {
	g := guestFrom(ctx)
	if g == nil || g.clock == nil {
		stack[0] = quantumStart // not within a host call (cannot happen)
		return
	}
	c := g.clock
	if uint32(stack[0]) == yieldDepth {
		panic(&depthError{limit: c.depth})
	}
	now := time.Now()
	c.interruptIfDue(now)
	c.yields++
	q := c.next(now.Sub(c.resumed))
	if s := c.sched; s != nil {
		if c.yields%procsRefresh == 0 {
			s.refreshProcs()
		}
		if s.holdsEveryP() {
			runtime.Gosched()
			now = time.Now()
		}
	}
	c.resumed = now
	stack[0] = uint64(q)
}

func (h *Host) instantiateInternal(ctx context.Context) error {
	_, err := h.rt.NewHostModuleBuilder(internalModule).
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(yieldFn), []api.ValueType{i32}, []api.ValueType{i32}).
		Export(yieldName).
		Instantiate(ctx)
	return err
}

// depthLimit is the call depth limit of an instance of a module whose
// largest native stack frame is estimated at frameBytes: as many frames as
// fit in a quarter of the instance's memory limit (wazero doubles its
// stack as it grows, copying it, so the stack's peak footprint is up to
// three times what the frames use: under the memory limit), but at most
// limits.MaxCallDepth and at least minCallDepth.
func depthLimit(frameBytes int, limits Limits) uint32 {
	if frameBytes <= 0 {
		frameBytes = frameBytesFixed
	}
	fit := uint64(limits.MemoryPages) * wasmPageSize / 4 / uint64(frameBytes)
	return uint32(max(min(fit, uint64(limits.MaxCallDepth)), minCallDepth))
}
