package plugins

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
)

// instance is one running copy of a module. It is used by one caller at a
// time (the pool guarantees that); after any failure it is closed, never
// reused.
type instance struct {
	mod    api.Module
	mem    api.Memory
	alloc  api.Function
	entry  api.Function
	memory *limitedMemory
	io     *guestIO
	// fuel and depth are the globals instrument.go added: the checks left
	// before the next yield, and the calls the running call may still nest.
	fuel, depth api.MutableGlobal
	// clock is the running call's span, read by the yields (timelimit.go).
	clock clock
	// interpreter: wazero's own context checks run too, and need the
	// span's deadline on the context.
	interpreter bool
	limits      Limits
	stack       [3]uint64
	// fields are the optional record fields this instance is sent
	// (sluice_partition_fields; all of them by default).
	fields fields
}

// newInstance instantiates c under limits, runs _initialize, checks the ABI
// version and, if init is set, passes params to sluice_init. The whole start
// is bounded by Config.InstantiateTimeout.
func (h *Host) newInstance(ctx context.Context, c *compiled, m Module, limits Limits, params map[string]string, kind Kind, init bool) (*instance, error) {
	// Start-up runs guest code too (start function, sluice_init): it takes
	// a node execution slot like a call.
	if err := h.sched.acquire(ctx, m.ID()); err != nil {
		return nil, err
	}
	defer h.sched.release()
	return h.startInstance(ctx, c, m, limits, params, kind, init)
}

// startInstance is newInstance within an execution slot.
func (h *Host) startInstance(ctx context.Context, c *compiled, m Module, limits Limits, params map[string]string, kind Kind, init bool) (*instance, error) {
	initial := int64(initialPages(c)) * wasmPageSize
	if !h.memory.reserve(initial) {
		return nil, fmt.Errorf("%w: %w: the node's plugin memory budget of %d MiB has no room for the %d MiB initial memory of another instance (%d MiB in use by all plugin instances)%w",
			ErrPluginFailed, ErrMemoryLimit, h.memory.limit>>20, initial>>20, h.memory.used.Load()>>20, silent{errNodeBudget})
	}
	inst := &instance{
		memory:      &limitedMemory{limit: uint64(limits.MemoryPages) * wasmPageSize, budget: h.memory, reserved: initial},
		io:          newGuestIO(h.newLogSink(m)),
		limits:      limits,
		interpreter: h.cfg.Interpreter,
	}
	inst.clock.depth = depthLimit(c.frameBytes, limits)
	inst.clock.sched = h.sched
	inst.io.clock = &inst.clock
	sp := newSpan(h.cfg.InstantiateTimeout, "start-up")
	ictx, cancel := context.WithDeadline(ctx, sp.deadline())
	defer cancel()
	ictx = experimental.WithMemoryAllocator(ictx, inst.memory.allocator())
	mod, err := h.rt.InstantiateModule(withGuest(ictx, inst.io), c.mod,
		wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		inst.memory.releaseAll()
		return nil, fmt.Errorf("instantiate: %w", inst.failure(ctx, err, sp, false))
	}
	inst.mod, inst.mem = mod, mod.Memory()
	fail := func(err error) (*instance, error) {
		inst.close(ctx)
		return nil, err
	}
	fuel, ok1 := mod.ExportedGlobal(interruptExport).(api.MutableGlobal)
	depth, ok2 := mod.ExportedGlobal(depthExport).(api.MutableGlobal)
	if !ok1 || !ok2 {
		return fail(fmt.Errorf("%w: instrumented module lacks its fuel and depth globals", ErrInvalidModule))
	}
	inst.fuel, inst.depth = fuel, depth
	if inst.mem == nil {
		return fail(fmt.Errorf("%w: has no memory", ErrInvalidModule))
	}
	if f := mod.ExportedFunction(startExport); f != nil {
		if err := inst.call(ctx, sp, f, inst.stack[:]); err != nil {
			return fail(fmt.Errorf("start function: %w", err))
		}
	}
	if f := mod.ExportedFunction(exportInitGuest); f != nil {
		if err := inst.call(ctx, sp, f, inst.stack[:]); err != nil {
			return fail(fmt.Errorf("%s: %w", exportInitGuest, err))
		}
	}
	f := mod.ExportedFunction(exportVersion)
	if f == nil {
		return fail(fmt.Errorf("%w: does not export %s", ErrInvalidModule, exportVersion))
	}
	if err := inst.call(ctx, sp, f, inst.stack[:]); err != nil {
		return fail(fmt.Errorf("%s: %w", exportVersion, err))
	}
	if v := int32(inst.stack[0]); v != ABIVersion {
		return fail(fmt.Errorf("%w: declares ABI version %d; this host speaks version %d", ErrInvalidModule, v, ABIVersion))
	}
	inst.fields = allFields
	if f := mod.ExportedFunction(exportFields); f != nil && kind == KindPartitioner {
		if err := inst.call(ctx, sp, f, inst.stack[:]); err != nil {
			return fail(fmt.Errorf("%s: %w", exportFields, err))
		}
		inst.fields = fields(uint32(inst.stack[0])) & allFields
	}
	inst.alloc = mod.ExportedFunction(exportAlloc)
	inst.entry = mod.ExportedFunction(entryPoint(kind))
	if inst.alloc == nil || inst.entry == nil {
		return fail(fmt.Errorf("%w: does not export %s and %s", ErrInvalidModule, exportAlloc, entryPoint(kind)))
	}
	if !init {
		return inst, nil
	}
	initFn := mod.ExportedFunction(exportInit)
	if initFn == nil {
		if len(params) > 0 {
			return fail(fmt.Errorf("%w: parameters given, but the plugin takes none (it does not export %s)", ErrPluginFailed, exportInit))
		}
		return inst, nil
	}
	enc := encodeParams(params)
	ptr, err := inst.place(ctx, sp, len(enc))
	if err != nil {
		return fail(fmt.Errorf("%s: %w", exportInit, err))
	}
	inst.mem.Write(ptr, enc)
	inst.stack[0], inst.stack[1] = uint64(ptr), uint64(len(enc))
	if err := inst.call(ctx, sp, initFn, inst.stack[:]); err != nil {
		return fail(fmt.Errorf("%s: %w", exportInit, err))
	}
	if inst.stack[0] != 0 {
		res, err := inst.result(inst.stack[0])
		if err == nil {
			_, err = parseStatus(res)
		}
		if err != nil {
			var pe *pluginError
			if errors.As(err, &pe) {
				return fail(fmt.Errorf("%w: refused its parameters: %s", ErrPluginFailed, pe.msg))
			}
			return fail(fmt.Errorf("%s: %w: %w", exportInit, ErrPluginFailed, err))
		}
	}
	return inst, nil
}

// place asks the module for n bytes of room (sluice_alloc) and returns their
// address, checked to lie inside memory.
func (inst *instance) place(ctx context.Context, s span, n int) (uint32, error) {
	if uint64(n) > inst.memory.limit {
		return 0, fmt.Errorf("%w: %w: input of %d bytes is over the memory limit of %d pages",
			ErrPluginFailed, ErrMemoryLimit, n, inst.limits.MemoryPages)
	}
	inst.stack[0] = uint64(n)
	if err := inst.call(ctx, s, inst.alloc, inst.stack[:]); err != nil {
		return 0, fmt.Errorf("%s: %w", exportAlloc, err)
	}
	ptr := uint32(inst.stack[0])
	if ptr == 0 {
		if inst.memory.denied.Load() {
			return 0, fmt.Errorf("%w: %w: %s(%d) failed", ErrPluginFailed, ErrMemoryLimit, exportAlloc, n)
		}
		return 0, fmt.Errorf("%w: %s(%d) returned 0", ErrPluginFailed, exportAlloc, n)
	}
	if uint64(ptr)+uint64(n) > uint64(inst.mem.Size()) {
		return 0, fmt.Errorf("%w: %w: %s(%d) returned %d, outside memory of %d bytes",
			ErrPluginFailed, ErrBadOutput, exportAlloc, n, ptr, inst.mem.Size())
	}
	return ptr, nil
}

// result returns a view of the packed (ptr << 32 | len) result in memory.
// The view is valid until the next call into the instance.
func (inst *instance) result(packed uint64) ([]byte, error) {
	ptr, n := uint32(packed>>32), uint32(packed)
	if uint64(n) > uint64(inst.limits.MaxOutputBytes) {
		return nil, fmt.Errorf("%w: output of %d bytes is over the limit of %d", ErrBadOutput, n, inst.limits.MaxOutputBytes)
	}
	b, ok := inst.mem.Read(ptr, n)
	if !ok {
		return nil, fmt.Errorf("%w: result [%d, %d) lies outside memory of %d bytes", ErrBadOutput, ptr, uint64(ptr)+uint64(n), inst.mem.Size())
	}
	return b, nil
}

// call runs fn within span s and classifies a failure. The yields at the
// guest's fuel checks end the call when the span's deadline passes or ctx
// ends (timelimit.go).
func (inst *instance) call(ctx context.Context, s span, fn api.Function, stack []uint64) error {
	cctx := ctx
	if inst.interpreter {
		var cancel context.CancelFunc
		cctx, cancel = context.WithDeadline(ctx, s.deadline())
		defer cancel()
	}
	inst.clock.begin(ctx, s)
	inst.fuel.Set(uint64(inst.clock.quantum))
	inst.depth.Set(uint64(inst.clock.depth))
	err := fn.CallWithStack(withGuest(cctx, inst.io), stack)
	if err == nil {
		return nil
	}
	return inst.failure(ctx, err, s, errors.Is(err, errInterrupted))
}

// failure turns a wazero error into one that names the cause: the caller's
// context, ErrTimeout, ErrMemoryLimit, an exit code or a trap. All but the
// first wrap ErrPluginFailed.
func (inst *instance) failure(ctx context.Context, err error, s span, interrupted bool) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("call abandoned: %w", cerr)
	}
	if interrupted {
		return s.timeoutError()
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch code := exit.ExitCode(); code {
		case sys.ExitCodeDeadlineExceeded:
			return s.timeoutError()
		case sys.ExitCodeContextCanceled:
			return fmt.Errorf("%w: call cancelled", ErrPluginFailed)
		default:
			if inst.memory.denied.Load() {
				return inst.memoryError(fmt.Sprintf("exited with code %d", code))
			}
			return fmt.Errorf("%w: exited with code %d", ErrPluginFailed, code)
		}
	}
	var de *depthError
	if errors.As(err, &de) {
		return fmt.Errorf("%w: %v (docs/plugin-abi.md, \"Limits\")", ErrPluginFailed, de)
	}
	if inst.memory.denied.Load() {
		return inst.memoryError(firstLine(err))
	}
	return fmt.Errorf("%w: trap: %s%s", ErrPluginFailed, firstLine(err), wasmStack(err))
}

func (inst *instance) memoryError(detail string) error {
	if b := inst.memory.budget; inst.memory.overBudget.Load() {
		return fmt.Errorf("%w: %w: the node's plugin memory budget of %d MiB is used up (%d MiB held by all plugin instances): %s%w",
			ErrPluginFailed, ErrMemoryLimit, b.limit>>20, b.used.Load()>>20, detail, silent{errNodeBudget})
	}
	return fmt.Errorf("%w: %w: limit %d pages (%d MiB): %s", ErrPluginFailed, ErrMemoryLimit,
		inst.limits.MemoryPages, uint64(inst.limits.MemoryPages)*wasmPageSize>>20, detail)
}

// maxStackFrames is how many frames of a trap's Wasm stack its error names.
const maxStackFrames = 8

// wasmStack names the functions of the Wasm stack trace wazero appends to
// a trap's error, innermost first: " (in check_order <- route <- $5)". A
// function without a name in the module's name section is $index. Empty if
// err has no trace.
func wasmStack(err error) string {
	_, trace, ok := strings.Cut(err.Error(), "\nwasm stack trace:\n")
	if !ok {
		return ""
	}
	var frames []string
	for line := range strings.Lines(trace) {
		if strings.HasPrefix(line, "\t\t") {
			continue // a source line (DWARF) under its frame: stale after the rewrite
		}
		f := strings.TrimSpace(line)
		if f == "" || !strings.HasPrefix(line, "\t") {
			break // the trace ends (wazero may add Go frames after it)
		}
		if len(frames) == maxStackFrames {
			frames = append(frames, "...")
			break
		}
		frames = append(frames, frameName(f))
	}
	if len(frames) == 0 {
		return ""
	}
	return " (in " + strings.Join(frames, " <- ") + ")"
}

// maxFrameName caps a function name in a trap's error (names come from the
// module and end up in answers and logs).
const maxFrameName = 128

// frameName is the function of one frame of wazero's trace,
// "<module>.<name>(<params>)[ <results>]": the module is "" (instances
// are unnamed), and a name may hold parentheses and dots itself (Go's
// "main.(*T).route", TinyGo's "(*main.T).route").
func frameName(f string) string {
	f = strings.TrimPrefix(f, ".")
	if i := strings.LastIndex(f, ") "); i >= 0 {
		f = f[:i+1] // the results
	}
	if strings.HasSuffix(f, ")") {
		if i := strings.LastIndexByte(f, '('); i > 0 {
			f = f[:i] // the parameters
		}
	}
	if len(f) > maxFrameName {
		f = strings.ToValidUTF8(f[:maxFrameName], "") + "…"
	}
	return f
}

// firstLine drops wazero's stack trace from a trap message (wasmStack
// names its functions).
func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// initialPages is the initial memory of c's (only) memory, in pages.
func initialPages(c *compiled) uint32 {
	for _, m := range c.mod.ExportedMemories() {
		return m.Min()
	}
	return 0
}

// close ends the instance and flushes its log lines.
func (inst *instance) close(ctx context.Context) {
	inst.io.endCall()
	if inst.mod != nil {
		inst.mod.Close(ctx)
	}
	inst.memory.releaseAll() // Close freed it already, unless it failed
}

// silent wraps an error for errors.Is without adding to the message.
type silent struct{ err error }

func (s silent) Error() string { return "" }
func (s silent) Unwrap() error { return s.err }
