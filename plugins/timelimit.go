package plugins

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// How a time limit is enforced (see also instrument.go).
//
// A span is the time one limit covers: a call into the plugin (one batch:
// sluice_alloc and the entry point together) or an instance's whole start
// (start function, _initialize, sluice_init). Every call made within the
// span runs under two mechanisms:
//
//   - the watchdog: when the span's deadline passes (or the caller's
//     context ends), the fuel is set to 0 and kept there every millisecond
//     until the call returns, so the code traps at its next loop iteration.
//     It is what normally ends a runaway call, shortly after the limit.
//   - the fuel itself, a budget of loop iterations calibrated against the
//     time left: fuelPerNs iterations per nanosecond, more than any loop
//     runs. It ends a call whose watchdog could not run (every scheduler
//     slot busy, or the garbage collector stopping the world, which waits
//     for the Wasm code). The fuel global is 32 bits wide, so a budget is
//     at most maxFuel iterations (about a second of the fastest loop); for
//     longer limits a refill timer tops it up every refillEvery while time
//     is left, so limits up to the maximum mean what they say.
//
// Errors report the time measured from the start of the span, and the
// limit: "interrupted after 2.003s (limit 2s)".

const (
	// fuelPerNs is the loop iterations budgeted per nanosecond of time
	// left: several times what the tightest loop runs (an instrumented
	// loop checks its budget at most a few times per nanosecond), so the
	// budget ends a call only when the watchdog could not.
	fuelPerNs = 16
	// maxFuel is the largest budget the 32-bit fuel global holds.
	maxFuel = math.MaxUint32
	// refillEvery is how often a long call's budget is topped up; well
	// under maxFuel/fuelPerNs (about 268 ms).
	refillEvery = 100 * time.Millisecond
	// rezeroEvery is how often the watchdog repeats its zeroing of the
	// fuel until the interrupted call returns.
	rezeroEvery = time.Millisecond
)

// fuelFor is the budget for d of time left.
func fuelFor(d time.Duration) uint64 {
	if d <= 0 {
		return 1 // one iteration: the call traps at its next loop check
	}
	if d.Nanoseconds() >= maxFuel/fuelPerNs {
		return maxFuel
	}
	return uint64(d.Nanoseconds()) * fuelPerNs
}

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

// timeoutError is the error of a call interrupted at its limit (or, should
// the budget have run out first, before it), with the measured time.
func (s span) timeoutError() error {
	elapsed := time.Since(s.start)
	if elapsed < s.limit {
		return fmt.Errorf("%w: %w: %s stopped after %v, before its limit of %v: its loop budget (%d iterations per ns) ran out while the host could not extend it (node overloaded)",
			ErrPluginFailed, ErrTimeout, s.what, roundElapsed(elapsed), s.limit, fuelPerNs)
	}
	return fmt.Errorf("%w: %w: %s interrupted after %v (limit %v)", ErrPluginFailed, ErrTimeout, s.what, roundElapsed(elapsed), s.limit)
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

// watchdog ends a call at its span's deadline (or when ctx ends) and keeps
// a long call's fuel topped up until then.
type watchdog struct {
	fuel   api.MutableGlobal
	stop   func() bool
	done   chan struct{} // closed when the call returned
	exited chan struct{} // closed when the zeroing goroutine returned
	mu     sync.Mutex    // guards refill and ended
	refill *time.Timer
	ended  bool
}

// stopRefill stops the refill timer for good (a tick running concurrently
// does not re-arm it).
func (w *watchdog) stopRefill() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ended = true
	if w.refill != nil {
		w.refill.Stop()
	}
}

// startWatchdog arms a watchdog for a call in s, under cctx (which ends at
// the span's deadline or with the caller). zero is false in interpreter
// mode, where wazero's own context checks stop the call and only the
// refills are needed.
func startWatchdog(cctx context.Context, fuel api.MutableGlobal, s span, zero bool) *watchdog {
	w := &watchdog{fuel: fuel}
	if !zero {
		// The interpreter checks the context itself, and writing the
		// global while it runs would be a data race: one full budget,
		// which at interpreter speed outlasts any limit.
		fuel.Set(maxFuel)
		return w
	}
	fuel.Set(fuelFor(time.Until(s.deadline())))
	if fuelFor(s.limit) == maxFuel {
		deadline := s.deadline()
		tick := func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			left := time.Until(deadline)
			if w.ended || left <= 0 || cctx.Err() != nil {
				return // the call returned, or the zeroing takes over
			}
			topUp(fuel, fuelFor(left))
			w.refill.Reset(min(left, refillEvery))
		}
		w.mu.Lock()
		w.refill = time.AfterFunc(min(s.limit, refillEvery), tick)
		w.mu.Unlock()
	}
	w.done, w.exited = make(chan struct{}), make(chan struct{})
	w.stop = context.AfterFunc(cctx, func() {
		defer close(w.exited)
		w.stopRefill()
		fuel.Set(0)
		// The guest's own decrement can overwrite a single store made
		// between its load and its store: repeat until the call ends.
		t := time.NewTicker(rezeroEvery)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
				fuel.Set(0)
			}
		}
	})
	return w
}

// end disarms the watchdog after the call returned and reports whether it
// interrupted the call.
func (w *watchdog) end() (interrupted bool) {
	w.stopRefill()
	if w.stop == nil {
		return false
	}
	close(w.done)
	if !w.stop() {
		<-w.exited // it ran: wait for it to finish
		return true
	}
	return false
}

// topUp raises a running call's fuel to target. The guest's decrement
// (load, subtract, store) overwrites a store that lands between its load
// and its store, so the top-up is checked after a moment (the fuel only
// ever decreases in the guest: a value above the one before shows it held)
// and repeated a few times if it was lost.
func topUp(fuel api.MutableGlobal, target uint64) {
	for range 10 {
		before := fuel.Get()
		if target <= before {
			return
		}
		fuel.Set(target)
		time.Sleep(10 * time.Microsecond)
		if fuel.Get() > before {
			return
		}
	}
}
