package controller

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sluicehq/sluice/platform/meta"
)

func TestFSMApply(t *testing.T) {
	f := newFSM(slog.New(slog.DiscardHandler))
	entry := func(idx uint64, cmd meta.Command) *raft.Log {
		b, err := cmd.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return &raft.Log{Index: idx, Type: raft.LogCommand, Data: b}
	}
	_, changed := f.current()

	r := f.Apply(entry(1, meta.Command{Op: meta.OpRegisterBroker, RegisterBroker: &meta.RegisterBroker{Broker: meta.Broker{ID: 1}}})).(applyResult)
	if r.err != nil || !r.res.Changed || f.state.Load().Version != 1 {
		t.Fatalf("register: %+v", r)
	}
	select {
	case <-changed:
	default:
		t.Fatal("watchers not woken by a new version")
	}

	// A refused command: error back to the proposer, state and watchers untouched.
	_, changed = f.current()
	r = f.Apply(entry(2, meta.Command{Op: meta.OpDeleteTopic, DeleteTopic: &meta.DeleteTopic{Name: "x"}})).(applyResult)
	if !errors.Is(r.err, meta.ErrUnknownTopic) || f.state.Load().Version != 1 {
		t.Fatalf("refused command: %+v", r)
	}
	select {
	case <-changed:
		t.Fatal("watchers woken without a change")
	default:
	}

	// Garbage in the log (cannot come from this code) halts the state
	// machine (see integrity_test.go); it never crashes the replica.
	r = f.Apply(&raft.Log{Index: 3, Type: raft.LogCommand, Data: []byte("{nope")}).(applyResult)
	if r.err == nil {
		t.Fatal("undecodable entry accepted")
	}
	if got := f.Apply(&raft.Log{Index: 4, Type: raft.LogConfiguration}); got != nil {
		t.Fatalf("configuration entry answered %v", got)
	}
}

func TestFSMRestoreRejectsCorruptSnapshot(t *testing.T) {
	f := newFSM(slog.New(slog.DiscardHandler))
	before := f.state.Load()
	if err := f.Restore(io.NopCloser(strings.NewReader(`{"version": 7, "topics": `))); err == nil {
		t.Fatal("truncated snapshot restored")
	}
	if f.state.Load() != before {
		t.Fatal("failed restore replaced the state")
	}
	if err := f.Restore(io.NopCloser(strings.NewReader(`{"version": 7}`))); err != nil {
		t.Fatal(err)
	}
	c := f.state.Load()
	if c.Version != 7 || c.Topics == nil || c.Brokers == nil || c.Plugins == nil {
		t.Fatalf("restored %+v", c)
	}
}

func TestClosedController(t *testing.T) {
	c := startSingle(t, t.TempDir(), nil)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := ctxT(t, 5*time.Second)
	if _, err := c.Propose(ctx, meta.Command{Op: meta.OpDeleteTopic, DeleteTopic: &meta.DeleteTopic{Name: "x"}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("propose after close: %v", err)
	}
	if _, err := c.Watch(ctx, c.Metadata().Version); !errors.Is(err, ErrClosed) {
		t.Fatalf("watch after close: %v", err)
	}
	if err := c.WaitLeader(context.Background()); err != nil && !errors.Is(err, ErrClosed) {
		t.Fatalf("wait leader after close: %v", err)
	}
}
