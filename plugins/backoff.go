package plugins

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrBackedOff: the plugin kept exceeding its limits and is not called for
// a while. It does not wrap ErrPluginFailed: the call never ran, and
// retrying after the time the message gives may succeed.
var ErrBackedOff = errors.New("plugin backed off")

// Back-off defaults (Config.BackoffAfter, BackoffMin, BackoffMax).
const (
	DefaultBackoffAfter = 3
	DefaultBackoffMin   = time.Second
	DefaultBackoffMax   = 30 * time.Second
)

// BackedOffError is the error of a call refused by a back-off: it wraps
// ErrBackedOff and says when a retry may be let through (the HTTP API
// sends it as Retry-After).
type BackedOffError struct {
	RetryAfter time.Duration
	err        error
}

func (e *BackedOffError) Error() string { return e.err.Error() }
func (e *BackedOffError) Unwrap() error { return e.err }

// backoff decides whether a plugin may be called, from the outcomes of its
// recent calls. A call that exceeds a limit (time or memory) is a strike;
// after `after` strikes in a row the plugin is backed off for min, then
// twice as long for each further back-off, up to max. When a back-off
// ends one call (a probe) goes through; its success clears the record,
// another strike backs the plugin off again, longer. Any other outcome (a
// success, the plugin's own error result, a trap) ends the run of strikes.
// It is a plain value with the clock passed in, so its rules are tested on
// their own; the Host keeps one per plugin version.
type backoff struct {
	after    int
	min, max time.Duration

	strikes int
	level   int       // back-offs in a row
	until   time.Time // no calls before this
	probing bool      // a probe call is out
	last    string    // the last strike's cause, for the message
}

// allow reports whether a call may run at now, and if not, the error.
func (b *backoff) allow(now time.Time) error {
	if b.level == 0 {
		return nil
	}
	if now.Before(b.until) {
		left := max(b.until.Sub(now).Round(time.Millisecond), time.Millisecond)
		return &BackedOffError{RetryAfter: left, err: fmt.Errorf("%w for %v after %d calls in a row exceeded its limits (last: %s); retry later",
			ErrBackedOff, left, b.strikes, b.last)}
	}
	if b.probing {
		// The probe ends within its time limit; min is the shortest
		// back-off that may follow it.
		return &BackedOffError{RetryAfter: b.min, err: fmt.Errorf("%w: a probe call after its back-off is running (last failure: %s); retry later",
			ErrBackedOff, b.last)}
	}
	b.probing = true
	return nil
}

// record notes the outcome of a call allowed at now: limit is whether it
// exceeded a limit, cause the error's text.
func (b *backoff) record(now time.Time, limit bool, cause string) {
	b.probing = false
	if !limit {
		b.strikes, b.level = 0, 0
		return
	}
	b.strikes++
	b.last = cause
	if b.strikes < b.after && b.level == 0 {
		return
	}
	d := b.min << min(b.level, 30)
	if d > b.max || d <= 0 {
		d = b.max
	}
	b.level++
	b.until = now.Add(d)
}

// backoffs holds one backoff per plugin version (by ID).
type backoffs struct {
	mu       sync.Mutex
	after    int
	min, max time.Duration
	now      func() time.Time
	by       map[string]*backoff
}

func (bs *backoffs) allow(id string) error {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b, ok := bs.by[id]
	if !ok {
		return nil
	}
	return b.allow(bs.now())
}

func (bs *backoffs) record(id string, err error) {
	// The node's memory budget running out is contention between plugins,
	// not this plugin exceeding its own limit: no strike.
	limit := errors.Is(err, ErrTimeout) || (errors.Is(err, ErrMemoryLimit) && !errors.Is(err, errNodeBudget))
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b, ok := bs.by[id]
	if !ok {
		if !limit {
			return
		}
		b = &backoff{after: bs.after, min: bs.min, max: bs.max}
		bs.by[id] = b
	}
	cause := ""
	if err != nil {
		cause = err.Error()
	}
	b.record(bs.now(), limit, cause)
	if b.strikes == 0 && b.level == 0 {
		delete(bs.by, id)
	}
}

// abandon ends an allowed call that never ran (its caller gave up waiting):
// a probe may be sent again, and the record is otherwise unchanged.
func (bs *backoffs) abandon(id string) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if b, ok := bs.by[id]; ok {
		b.probing = false
	}
}
