package plugins

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/record"
)

// assertStillServes checks the guarantee every hostile test ends with: the
// same Host still runs a good module correctly.
func assertStillServes(t *testing.T, h *Host) {
	t.Helper()
	ctx := context.Background()
	p, err := h.Partitioner(ctx, watModule(t), nil)
	if err != nil {
		t.Fatalf("host no longer starts a good module: %v", err)
	}
	defer p.Close(ctx)
	out := make([]int32, 1)
	if err := p.Partition(ctx, []record.Record{{Key: []byte("foobar")}}, 7, out); err != nil {
		t.Fatalf("host no longer runs a good module: %v", err)
	}
	if want := partitioner.HashPartition([]byte("foobar"), 7); out[0] != want {
		t.Fatalf("good module partition = %d, want %d", out[0], want)
	}
}

var someRecords = []record.Record{{Key: []byte("a"), Value: []byte("1")}, {Value: []byte("2")}}

// Hostile modules that fail at call time: the call fails with an error that
// names the plugin and the cause, the failed instance is dropped, and the
// next call (on a fresh instance) fails the same way instead of hanging.
func TestHostileCalls(t *testing.T) {
	cases := []struct {
		name, file string
		want       error
		msg        string
	}{
		{"infinite loop is interrupted", "loop.wat", ErrTimeout, "interrupted after"},
		{"memory growth past the limit", "grow.wat", ErrMemoryLimit, "limit 64 pages"},
		{"trap", "trap.wat", ErrPluginFailed, "unreachable"},
		// The name section survives the rewrite, renumbered: the trap's
		// functions, innermost first (the export has no name: $index).
		{"trap in named functions", "trapdeep.wat", ErrPluginFailed, "trap: wasm error: unreachable (in check_order <- route <- $5)"},
		{"partition out of range", "badpartition.wat", ErrBadOutput, "partition 6 out of range [0, 6)"},
		{"garbage output", "garbage.wat", ErrBadOutput, "unknown result status"},
		{"result outside memory", "outofbounds.wat", ErrBadOutput, "outside memory"},
		{"proc_exit", "exit.wat", ErrPluginFailed, "exited with code 3"},
		{"error result", "pluginerror.wat", ErrPluginFailed, "no route for this record"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, _ := newTestHost(t, Config{MaxInstancesPerModule: 1})
			ctx := context.Background()
			// A generous time limit except for the runaway loop, so a busy
			// machine never turns another failure into a timeout.
			timeout := 10 * time.Second
			if c.want == ErrTimeout {
				timeout = 50 * time.Millisecond
			}
			m := Module{Name: "hostile", Version: 7, Wasm: buildWAT(t, "testdata/"+c.file),
				Limits: Limits{MemoryPages: 64, CallTimeout: timeout}}
			p, err := h.Partitioner(ctx, m, nil)
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			defer p.Close(ctx)
			for range 2 { // the second call proves the pool recovered its slot
				out := make([]int32, len(someRecords))
				start := time.Now()
				err := p.Partition(ctx, someRecords, 6, out)
				if !errors.Is(err, c.want) || !errors.Is(err, ErrPluginFailed) {
					t.Fatalf("err = %v, want %v (and ErrPluginFailed)", err, c.want)
				}
				if !strings.HasPrefix(err.Error(), "plugin hostile@7: ") || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("err = %q, want it to name the plugin and say %q", err, c.msg)
				}
				if d := time.Since(start); d > 20*time.Second {
					t.Fatalf("call took %v", d)
				}
			}
			assertStillServes(t, h)
		})
	}
}

// Hostile uploads refused by Validate with a reason, and by Partitioner.
func TestHostileUploads(t *testing.T) {
	cases := []struct {
		name string
		wasm func(t *testing.T) []byte
		msg  string
	}{
		{"zero bytes", func(*testing.T) []byte { return []byte{} }, "empty module (0 bytes)"},
		{"not wasm", func(*testing.T) []byte { return []byte("#!/bin/sh\nrm -rf /\n") }, "not a WebAssembly binary"},
		{"wat text", func(t *testing.T) []byte { return []byte("(module)") }, "wat2wasm"},
		{"truncated wasm", func(t *testing.T) []byte { return watModule(t).Wasm[:40] }, "malformed binary: section 3: truncated"},
		{"fails validation", func(t *testing.T) []byte { return buildWAT(t, "testdata/illtyped.nocheck.wat") }, "does not compile"},
		{"file system import", func(t *testing.T) []byte { return buildWAT(t, "testdata/pathopen.wat") }, "wasi_snapshot_preview1.path_open"},
		{"socket import", func(t *testing.T) []byte { return buildWAT(t, "testdata/sockaccept.wat") }, "wasi_snapshot_preview1.sock_accept"},
		{"exports nothing", func(t *testing.T) []byte { return buildWAT(t, "testdata/nothing.wat") }, `does not export its memory as "memory"`},
		{"unknown ABI version", func(t *testing.T) []byte { return buildWAT(t, "testdata/version2.wat") }, "declares ABI version 2"},
		{"initial memory over limit", func(t *testing.T) []byte { return buildWAT(t, "testdata/bigmemory.wat") }, "initial memory of 2048 pages"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, _ := newTestHost(t, Config{})
			ctx := context.Background()
			wasm := c.wasm(t)
			_, err := h.Validate(ctx, wasm, KindPartitioner)
			if !errors.Is(err, ErrInvalidModule) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("Validate err = %v, want ErrInvalidModule saying %q", err, c.msg)
			}
			_, err = h.Partitioner(ctx, Module{Name: "bad", Version: 1, Wasm: wasm}, nil)
			if err == nil || !strings.HasPrefix(err.Error(), "plugin bad@1: ") {
				t.Fatalf("Partitioner err = %v, want a failure naming bad@1", err)
			}
			assertStillServes(t, h)
		})
	}
}

// A caller's own deadline ends a runaway call with the caller's error, not
// ErrTimeout, and the host survives.
func TestCallerCancelInterruptsCall(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	p, err := h.Partitioner(ctx, Module{Name: "loop", Version: 1, Wasm: buildWAT(t, "testdata/loop.wat"),
		Limits: Limits{CallTimeout: time.Minute}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	err = p.Partition(cctx, someRecords, 3, make([]int32, 2))
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want the caller's context.DeadlineExceeded", err)
	}
	assertStillServes(t, h)
}

// The frames of wazero's trace become function names, whatever the names
// hold: Go's and TinyGo's parentheses, results, source lines under a
// frame, names past the cap.
func TestWasmStackNames(t *testing.T) {
	long := strings.Repeat("x", 300)
	err := errors.New("wasm error: unreachable\nwasm stack trace:\n" +
		"\t.main.(*T).route(i32,i32) i64\n" +
		"\t\t/src/main.go:12:3\n" +
		"\t.(*main.T).check(i32) (i32,i64)\n" +
		"\t.$5()\n" +
		"\t." + long + "(i32)\n" +
		"Go runtime stack trace:\n\tgoroutine 1\n")
	want := " (in main.(*T).route <- (*main.T).check <- $5 <- " + long[:maxFrameName] + "…)"
	if got := wasmStack(err); got != want {
		t.Fatalf("wasmStack = %q\nwant        %q", got, want)
	}
	if got := wasmStack(errors.New("wasm error: unreachable")); got != "" {
		t.Fatalf("no trace: %q", got)
	}
	var many strings.Builder
	many.WriteString("x\nwasm stack trace:\n")
	for i := range 20 {
		fmt.Fprintf(&many, "\t.f%d()\n", i)
	}
	if got := wasmStack(errors.New(many.String())); got != " (in f0 <- f1 <- f2 <- f3 <- f4 <- f5 <- f6 <- f7 <- ...)" {
		t.Fatalf("20 frames: %q", got)
	}
}
