package platform

import (
	"errors"
	"fmt"
	"github.com/sluicehq/sluice/platform/meta"
	"strings"
	"testing"
)

func TestReadiness(t *testing.T) {
	ready := readinessInput{controller: true, broker: true, registered: true, alive: true, caughtUp: true, applied: 9, known: 9, fdOpen: 100, fdLimit: 1024}
	with := func(f func(*readinessInput)) readinessInput { in := ready; f(&in); return in }
	many := make([]string, 7)
	for i := range many {
		many[i] = fmt.Sprintf("t-%d", i)
	}
	cases := []struct {
		name     string
		in       readinessInput
		reasons  []string // substrings, one per reason
		warnings int
	}{
		{"ready", ready, nil, 0},
		{"quorum lost is only a warning", with(func(in *readinessInput) { in.leaderless = true }), nil, 1},
		{"controller-only node without a leader", readinessInput{controller: true, leaderless: true}, nil, 1},
		{"halted", with(func(in *readinessInput) { in.halted = errors.New("entry 7 corrupt"); in.leaderless = true }), []string{"controller halted: entry 7 corrupt"}, 0},
		{"not registered", with(func(in *readinessInput) { in.registered, in.alive = false, false }), []string{"not registered"}, 0},
		{"fenced", with(func(in *readinessInput) { in.alive = false }), []string{"fenced"}, 0},
		{"replaying", with(func(in *readinessInput) { in.caughtUp, in.applied = false, 3 }), []string{"applied version 3 of 9"}, 0},
		{"partitions not open", with(func(in *readinessInput) { in.notOpen = many }), []string{"7 partitions this node leads are not open: t-0, t-1, t-2, t-3, t-4 and 2 more"}, 0},
		{"descriptors", with(func(in *readinessInput) { in.fdOpen = 1000 }), []string{"file descriptors nearly exhausted: 1000 of 1024 open"}, 0},
		{"descriptors unknown", with(func(in *readinessInput) { in.fdOpen, in.fdLimit = 0, 0 }), nil, 0},
		{"two at once", with(func(in *readinessInput) { in.alive, in.caughtUp = false, false }), []string{"fenced", "not caught up"}, 0},
	}
	for _, c := range cases {
		reasons, warnings := readiness(c.in)
		if len(reasons) != len(c.reasons) || len(warnings) != c.warnings {
			t.Errorf("%s: reasons %q, warnings %q", c.name, reasons, warnings)
			continue
		}
		for i, want := range c.reasons {
			if !strings.Contains(reasons[i], want) {
				t.Errorf("%s: reason %q does not say %q", c.name, reasons[i], want)
			}
		}
	}
}

func TestISRCounters(t *testing.T) {
	var c isrCounters
	alter := func(isr ...meta.NodeID) meta.Command {
		return meta.Command{Op: meta.OpAlterPartition, AlterPartition: &meta.AlterPartition{Topic: "t", ISR: isr}}
	}
	var ok, failed error = nil, errors.New("stale epoch")
	c.observe(3, alter(1, 2), &ok)           // shrink
	c.observe(2, alter(1, 2, 3), &ok)        // expand
	c.observe(2, alter(1, 2), &ok)           // no change
	c.observe(3, alter(1), &failed)          // not committed
	c.observe(-1, alter(1), &ok)             // unknown before
	c.observe(3, meta.Command{Op: "x"}, &ok) // not an ISR change
	if s, e := c.shrinks.Load(), c.expands.Load(); s != 1 || e != 1 {
		t.Errorf("shrinks %d, expands %d; want 1 and 1", s, e)
	}
}
