package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/sluicehq/sluice/platform/meta"
)

func quietFSM() *fsm { return newFSM(slog.New(slog.DiscardHandler)) }

func envelopedEntry(t testing.TB, idx uint64, cmd meta.Command) *raft.Log {
	t.Helper()
	b, err := encodeEntry(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: idx, Term: 3, Type: raft.LogCommand, Data: b}
}

var (
	registerCmd = meta.Command{Op: meta.OpRegisterBroker, RegisterBroker: &meta.RegisterBroker{Broker: meta.Broker{ID: 1, HTTPAddr: "h:1"}}}
	createCmd   = meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{Name: "orders", Partitions: 2}}
)

// TestFSMRefusesDamagedEntry: one flipped bit anywhere in an enveloped raft
// entry (header or payload) is refused with ErrCorruptMetadata naming the
// entry; the state is unchanged, and the state machine applies nothing
// after it.
func TestFSMRefusesDamagedEntry(t *testing.T) {
	good := envelopedEntry(t, 2, createCmd)
	for i := range good.Data {
		f := quietFSM()
		if r := f.Apply(envelopedEntry(t, 1, registerCmd)).(applyResult); r.err != nil {
			t.Fatal(r.err)
		}
		before := f.state.Load()
		bad := *good
		bad.Data = bytes.Clone(good.Data)
		bad.Data[i] ^= 1 << (i % 8)
		r := f.Apply(&bad).(applyResult)
		if !errors.Is(r.err, ErrCorruptMetadata) || !strings.Contains(r.err.Error(), "raft index 2 (term 3)") {
			t.Fatalf("bit flipped in byte %d: %v, want ErrCorruptMetadata naming index 2, term 3", i, r.err)
		}
		if f.state.Load() != before {
			t.Fatalf("bit flipped in byte %d: state changed", i)
		}
		if !errors.Is(f.haltErr(), ErrCorruptMetadata) {
			t.Fatal("state machine not halted")
		}
		// Nothing after the bad entry is applied, even a good one.
		r = f.Apply(envelopedEntry(t, 3, createCmd)).(applyResult)
		if !errors.Is(r.err, ErrCorruptMetadata) || f.state.Load() != before {
			t.Fatalf("entry after the halt: %v", r.err)
		}
	}
	// The undamaged entry applies.
	f := quietFSM()
	f.Apply(envelopedEntry(t, 1, registerCmd))
	if r := f.Apply(good).(applyResult); r.err != nil || f.state.Load().Topics["orders"] == nil {
		t.Fatalf("good entry: %v", r.err)
	}
}

// TestFSMLegacyEntries: entries written before envelopes (bare JSON) are
// applied when they decode strictly, and refused when they do not.
func TestFSMLegacyEntries(t *testing.T) {
	raw := func(t *testing.T, cmd meta.Command) []byte {
		b, err := cmd.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	f := quietFSM()
	if r := f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: raw(t, registerCmd)}).(applyResult); r.err != nil {
		t.Fatalf("legacy entry: %v", r.err)
	}
	if f.state.Load().Version != 1 {
		t.Fatal("legacy entry not applied")
	}
	create := raw(t, createCmd)
	cases := map[string][]byte{
		"unknown field":   bytes.Replace(create, []byte(`"name"`), []byte(`"nane"`), 1),
		"trailing data":   append(bytes.Clone(create), []byte(`{}`)...),
		"two payloads":    bytes.Replace(create, []byte(`"create_topic"`), []byte(`"delete_topic":{"name":"x"},"create_topic"`), 1),
		"payload missing": bytes.Replace(create, []byte(`"create_topic"`), []byte(`"alter_topic"`), 1),
		"not json":        []byte("{nope"),
		"other bytes":     []byte{0x01, 0x02},
		"empty":           {},
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			f := quietFSM()
			r := f.Apply(&raft.Log{Index: 5, Term: 2, Type: raft.LogCommand, Data: data}).(applyResult)
			if !errors.Is(r.err, ErrCorruptMetadata) || !strings.Contains(r.err.Error(), "raft index 5 (term 2)") {
				t.Fatalf("%s: %v, want ErrCorruptMetadata naming the entry", name, r.err)
			}
		})
	}
}

func snapshotBytes(t testing.TB, c *meta.Cluster) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := writeSnapshot(&buf, c); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func clusterWithTopic(t testing.TB) *meta.Cluster {
	t.Helper()
	f := quietFSM()
	f.Apply(envelopedEntry(t, 1, registerCmd))
	if r := f.Apply(envelopedEntry(t, 2, createCmd)).(applyResult); r.err != nil {
		t.Fatal(r.err)
	}
	return f.state.Load()
}

// TestFSMRefusesDamagedSnapshot: a flipped bit anywhere in a snapshot, or a
// truncated one, is refused with ErrCorruptMetadata and the state stays.
func TestFSMRefusesDamagedSnapshot(t *testing.T) {
	c := clusterWithTopic(t)
	good := snapshotBytes(t, c)
	f := quietFSM()
	if err := f.Restore(io.NopCloser(bytes.NewReader(good))); err != nil {
		t.Fatalf("intact snapshot: %v", err)
	}
	if got := f.state.Load(); got.Version != c.Version || got.Topics["orders"] == nil {
		t.Fatalf("restored %+v", got)
	}
	step := max(1, len(good)/400)
	for i := 0; i < len(good); i += step {
		bad := bytes.Clone(good)
		bad[i] ^= 1 << (i % 8)
		f := quietFSM()
		before := f.state.Load()
		err := f.Restore(io.NopCloser(bytes.NewReader(bad)))
		if !errors.Is(err, ErrCorruptMetadata) {
			t.Fatalf("bit flipped in byte %d: %v, want ErrCorruptMetadata", i, err)
		}
		if f.state.Load() != before {
			t.Fatalf("bit flipped in byte %d: state replaced", i)
		}
	}
	for _, n := range []int{0, 3, len(good) / 2, len(good) - 1} {
		if err := quietFSM().Restore(io.NopCloser(bytes.NewReader(good[:n]))); !errors.Is(err, ErrCorruptMetadata) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	// A snapshot from before envelopes: bare JSON, accepted if strict.
	legacy := good[len(snapshotMagic) : len(good)-snapshotTrailerSize]
	if err := quietFSM().Restore(io.NopCloser(bytes.NewReader(legacy))); err != nil {
		t.Fatalf("legacy snapshot: %v", err)
	}
	if err := quietFSM().Restore(io.NopCloser(bytes.NewReader(append(bytes.Clone(legacy), '}')))); !errors.Is(err, ErrCorruptMetadata) {
		t.Fatalf("legacy snapshot with trailing data: %v", err)
	}
}

// TestFlippedBitInRaftLogHaltsController: a bit flipped in a stored raft
// entry (in the real raft-boltdb file) makes the restarted controller refuse
// that entry: it halts naming the entry, serves the metadata from before
// it (the topic the entry created is absent, not renamed), refuses
// proposals, and stops leading.
func TestFlippedBitInRaftLogHaltsController(t *testing.T) {
	dir := t.TempDir()
	c := startSingle(t, dir, nil)
	ctx := ctxT(t, 10*time.Second)
	if _, err := c.RegisterBroker(ctx, meta.Broker{ID: 1, HTTPAddr: "127.0.0.1:8080"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTopic(ctx, meta.CreateTopic{Name: "keep", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTopic(ctx, meta.CreateTopic{Name: "orders", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	store, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
	if err != nil {
		t.Fatal(err)
	}
	last, err := store.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	var damaged uint64
	for i := last; i > 0 && damaged == 0; i-- {
		var l raft.Log
		if err := store.GetLog(i, &l); err != nil {
			t.Fatal(err)
		}
		if l.Type == raft.LogCommand && bytes.Contains(l.Data, []byte(`"orders"`)) {
			at := bytes.Index(l.Data, []byte(`"orders"`)) + 2
			l.Data[at] ^= 0x01 // "orders" -> "nrders": still valid JSON
			if err := store.StoreLog(&l); err != nil {
				t.Fatal(err)
			}
			damaged = i
		}
	}
	store.Close()
	if damaged == 0 {
		t.Fatal("no entry creating the topic found")
	}

	cfg := fastConfig(1, dir, freeAddr(t))
	cfg.Bootstrap = true
	c, err = Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	waitFor(t, 10*time.Second, "controller halt", func() bool { return c.Halted() != nil })
	herr := c.Halted()
	if !errors.Is(herr, ErrCorruptMetadata) || !strings.Contains(herr.Error(), fmt.Sprintf("raft index %d ", damaged)) {
		t.Fatalf("halt error %v, want ErrCorruptMetadata naming index %d", herr, damaged)
	}
	md := c.Metadata()
	if md.Topics["keep"] == nil || md.Topics["orders"] != nil || md.Topics["nrders"] != nil {
		t.Fatalf("metadata after the halt holds %v; want the state before the damaged entry", md.Topics)
	}
	if _, err := c.Propose(ctx, createCmd); !errors.Is(err, ErrCorruptMetadata) {
		t.Fatalf("propose on a halted controller: %v", err)
	}
	waitFor(t, 10*time.Second, "raft stopped", func() bool { return c.raft.State() == raft.Shutdown })
	// Heartbeats, active or observe, are refused with the halt error, not
	// answered not_controller: the node's broker must not be kept alive
	// through a node whose metadata stopped.
	for _, observe := range []bool{false, true} {
		_, err := c.Heartbeat(ctx, meta.Heartbeat{Broker: 1, DirID: "d1", Observe: observe})
		var nc *NotControllerError
		if !errors.Is(err, ErrCorruptMetadata) || errors.As(err, &nc) {
			t.Fatalf("heartbeat (observe %v) on a halted controller: %v; want the halt error", observe, err)
		}
	}
}
