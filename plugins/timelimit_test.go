package plugins

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestFuelFor(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want uint64
	}{
		{-time.Second, 1},
		{0, 1},
		{time.Nanosecond, fuelPerNs},
		{time.Millisecond, fuelPerNs * 1e6},
		{100 * time.Millisecond, fuelPerNs * 1e8},
		{time.Second, maxFuel},
		{time.Minute, maxFuel},
	} {
		if got := fuelFor(c.d); got != c.want {
			t.Errorf("fuelFor(%v) = %d, want %d", c.d, got, c.want)
		}
	}
	if refillEvery >= time.Duration(maxFuel/fuelPerNs) {
		t.Fatalf("refillEvery %v does not come before a full budget (%v) runs out", refillEvery, time.Duration(maxFuel/fuelPerNs))
	}
}

// measured extracts "interrupted after D (limit L)" from err and checks the
// measured time is at least the limit (never an upper bound: a loaded
// machine may be late to interrupt, and that is what the message is for).
var measuredRE = regexp.MustCompile(`interrupted after ([0-9.]+[µmn]?s) \(limit ([0-9.]+[µmn]?s)\)`)

// oneBudget is how long one full 32-bit budget lasts at fuelPerNs.
const oneBudget = time.Duration(maxFuel / fuelPerNs)

// earlyRE matches the error of a call the budget ended before its limit.
var earlyRE = regexp.MustCompile(`stopped after ([0-9.]+[a-zµ]+), before its limit`)

func checkMeasured(t *testing.T, err error, limit time.Duration, took time.Duration) {
	t.Helper()
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrPluginFailed) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if limit > oneBudget {
		// Past one 32-bit budget the refill timer must run; a garbage
		// collection waiting for the Wasm code to return keeps it from
		// running, and the budget may end the call first (docs/plugin-abi.md,
		// "Limits"). Then the error must say so, with the measured time,
		// no earlier than one full budget of the fastest loop.
		if m := earlyRE.FindStringSubmatch(err.Error()); m != nil {
			got, perr := time.ParseDuration(m[1])
			if perr != nil || got < oneBudget/4 || got > took+time.Millisecond {
				t.Fatalf("err = %q: early stop reports %v (call took %v)", err, got, took)
			}
			t.Logf("budget ended the call before its limit (a collection held the refill): %v", err)
			return
		}
	}
	m := measuredRE.FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("err = %q, want it to say \"interrupted after D (limit %v)\"", err, limit)
	}
	got, err1 := time.ParseDuration(m[1])
	lim, err2 := time.ParseDuration(m[2])
	if err1 != nil || err2 != nil || lim != limit {
		t.Fatalf("err = %q: limit %q, want %v", err, m[2], limit)
	}
	if got < limit {
		t.Fatalf("err = %q: reports %v, less than the limit %v", err, got, limit)
	}
	if got > took+time.Millisecond { // the message rounds to the millisecond at most
		t.Fatalf("err = %q: reports %v, more than the %v the call took", err, got, took)
	}
}

// The per-call time limit holds as configured across its range: a looping
// module is interrupted no sooner than its limit (1 ms, 5 ms, 100 ms, and 2 s,
// which is past what one 32-bit fuel budget covers, so refills are needed),
// and the error reports the time measured.
func TestCallTimeLimitAcrossRange(t *testing.T) {
	limits := []time.Duration{time.Millisecond, 5 * time.Millisecond, 100 * time.Millisecond, 2 * time.Second}
	if testing.Short() {
		limits = limits[:3]
	}
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	for _, limit := range limits {
		t.Run(limit.String(), func(t *testing.T) {
			p, err := h.Partitioner(ctx, Module{Name: "loop", Version: 1, Wasm: buildWAT(t, "testdata/loop.wat"),
				Limits: Limits{CallTimeout: limit}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(ctx)
			start := time.Now()
			err = p.Partition(ctx, someRecords, 3, make([]int32, 2))
			took := time.Since(start)
			if !strings.HasPrefix(err.Error(), "plugin loop@1: ") {
				t.Fatalf("err = %q, want it to name the plugin", err)
			}
			checkMeasured(t, err, limit, took)
			if took < limit && !earlyRE.MatchString(err.Error()) {
				t.Fatalf("call returned after %v, before its limit %v", took, limit)
			}
		})
	}
}

// The start-up limit holds the same way for a start function that never
// returns (1.5 s needs a refill too).
func TestStartupTimeLimitAcrossRange(t *testing.T) {
	limits := []time.Duration{20 * time.Millisecond, 1500 * time.Millisecond}
	if testing.Short() {
		limits = limits[:1]
	}
	for _, limit := range limits {
		t.Run(limit.String(), func(t *testing.T) {
			h, _ := newTestHost(t, Config{InstantiateTimeout: limit})
			start := time.Now()
			_, err := h.Partitioner(context.Background(), Module{Name: "spin", Version: 1, Wasm: buildWAT(t, "testdata/startloop.wat")}, nil)
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), "start function") || !strings.Contains(err.Error(), "start-up ") {
				t.Fatalf("err = %v, want a start-up timeout of the start function", err)
			}
			checkMeasured(t, err, limit, took)
		})
	}
}

// The budget alone ends a call when no watchdog zeroes it (as when the
// watchdog cannot be scheduled): the message says so, honestly, if that
// happens before the limit.
func TestSpanTimeoutMessages(t *testing.T) {
	s := span{start: time.Now(), limit: time.Hour, what: "call"}
	if err := s.timeoutError(); !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "before its limit of 1h0m0s") {
		t.Fatalf("early stop: %v", err)
	}
	s = span{start: time.Now().Add(-3 * time.Second), limit: 2 * time.Second, what: "call"}
	if err := s.timeoutError(); !strings.Contains(err.Error(), "call interrupted after 3s (limit 2s)") {
		t.Fatalf("late stop: %v", err)
	}
}
