package plugins

// The minimal WASI preview 1 subset a plugin may import
// (docs/plugin-abi.md, section 8). The host module is built from the same
// table that Validate checks imports against, so the two cannot disagree.
// Nothing here reaches a file, a socket or the environment.

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

const wasiModule = "wasi_snapshot_preview1"

// WASI errno values used here.
const (
	errnoSuccess = 0
	errnoBadf    = 8
	errnoFault   = 21
	errnoInval   = 28
	errnoNotsup  = 58
)

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

type wasiFunc struct {
	params, results []api.ValueType
	fn              func(h *Host) api.GoModuleFunc
}

// wasiFuncs is the allow-list: exactly the functions a standard Go
// `GOOS=wasip1 -buildmode=c-shared` module imports when it uses the
// runtime, fmt and os.Stdout/os.Stderr.
var wasiFuncs = map[string]wasiFunc{
	"fd_write":            {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, fdWrite},
	"clock_time_get":      {[]api.ValueType{i32, i64, i32}, []api.ValueType{i32}, clockTimeGet},
	"random_get":          {[]api.ValueType{i32, i32}, []api.ValueType{i32}, constFn(randomGet)},
	"proc_exit":           {[]api.ValueType{i32}, nil, constFn(procExit)},
	"args_sizes_get":      {[]api.ValueType{i32, i32}, []api.ValueType{i32}, constFn(zeroSizes)},
	"environ_sizes_get":   {[]api.ValueType{i32, i32}, []api.ValueType{i32}, constFn(zeroSizes)},
	"args_get":            {[]api.ValueType{i32, i32}, []api.ValueType{i32}, errnoFn(errnoSuccess)},
	"environ_get":         {[]api.ValueType{i32, i32}, []api.ValueType{i32}, errnoFn(errnoSuccess)},
	"sched_yield":         {nil, []api.ValueType{i32}, errnoFn(errnoSuccess)},
	"poll_oneoff":         {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, pollOneoff},
	"fd_fdstat_get":       {[]api.ValueType{i32, i32}, []api.ValueType{i32}, constFn(fdFdstatGet)},
	"fd_fdstat_set_flags": {[]api.ValueType{i32, i32}, []api.ValueType{i32}, constFn(fdFdstatSetFlags)},
	"fd_prestat_get":      {[]api.ValueType{i32, i32}, []api.ValueType{i32}, errnoFn(errnoBadf)},
	"fd_prestat_dir_name": {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}, errnoFn(errnoBadf)},
	"fd_close":            {[]api.ValueType{i32}, []api.ValueType{i32}, errnoFn(errnoBadf)},
}

// allowedImport reports whether a module may import module.name with the
// given signature.
func allowedImport(module, name string, params, results []api.ValueType) bool {
	var f wasiFunc
	var ok bool
	switch module {
	case wasiModule:
		f, ok = wasiFuncs[name]
	case hostModule:
		f, ok = hostFuncs[name]
	}
	return ok && sameTypes(f.params, params) && sameTypes(f.results, results)
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// instantiateWASI adds the subset to the runtime as wasi_snapshot_preview1.
func (h *Host) instantiateWASI(ctx context.Context) error {
	b := h.rt.NewHostModuleBuilder(wasiModule)
	for name, f := range wasiFuncs {
		b.NewFunctionBuilder().WithGoModuleFunction(f.fn(h), f.params, f.results).Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

func constFn(fn api.GoModuleFunc) func(*Host) api.GoModuleFunc {
	return func(*Host) api.GoModuleFunc { return fn }
}

func errnoFn(errno uint64) func(*Host) api.GoModuleFunc {
	return constFn(func(_ context.Context, _ api.Module, stack []uint64) { stack[0] = errno })
}

// fdWrite sends fds 1 and 2 to the instance's log writers.
func fdWrite(*Host) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		fd, iovs, n, nwrittenPtr := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
		gio := guestFrom(ctx)
		if (fd != 1 && fd != 2) || gio == nil {
			stack[0] = errnoBadf
			return
		}
		w := gio.stdout
		if fd == 2 {
			w = gio.stderr
		}
		mem := mod.Memory()
		var total uint32
		for i := range n {
			base := iovs + 8*i
			p, ok1 := mem.ReadUint32Le(base)
			l, ok2 := mem.ReadUint32Le(base + 4)
			data, ok3 := mem.Read(p, l)
			if !ok1 || !ok2 || !ok3 {
				stack[0] = errnoFault
				return
			}
			w.Write(data)
			total += l
		}
		if !mem.WriteUint32Le(nwrittenPtr, total) {
			stack[0] = errnoFault
			return
		}
		stack[0] = errnoSuccess
	}
}

func clockTimeGet(h *Host) api.GoModuleFunc {
	return func(_ context.Context, mod api.Module, stack []uint64) {
		id, resultPtr := uint32(stack[0]), uint32(stack[2])
		var t uint64
		switch id {
		case 0: // realtime
			t = uint64(time.Now().UnixNano())
		case 1: // monotonic
			t = uint64(time.Since(h.epoch).Nanoseconds()) + 1
		default:
			stack[0] = errnoInval
			return
		}
		if !mod.Memory().WriteUint64Le(resultPtr, t) {
			stack[0] = errnoFault
			return
		}
		stack[0] = errnoSuccess
	}
}

func randomGet(_ context.Context, mod api.Module, stack []uint64) {
	buf, ok := mod.Memory().Read(uint32(stack[0]), uint32(stack[1]))
	if !ok {
		stack[0] = errnoFault
		return
	}
	rand.Read(buf)
	stack[0] = errnoSuccess
}

// procExit ends the instance the way wazero's own WASI does: close the
// module with the code and unwind the call with an ExitError.
func procExit(ctx context.Context, mod api.Module, stack []uint64) {
	code := uint32(stack[0])
	_ = mod.CloseWithExitCode(ctx, code)
	panic(sys.NewExitError(code))
}

func zeroSizes(_ context.Context, mod api.Module, stack []uint64) {
	mem := mod.Memory()
	if !mem.WriteUint32Le(uint32(stack[0]), 0) || !mem.WriteUint32Le(uint32(stack[1]), 0) {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

func fdFdstatGet(_ context.Context, mod api.Module, stack []uint64) {
	fd, p := uint32(stack[0]), uint32(stack[1])
	if fd > 2 {
		stack[0] = errnoBadf
		return
	}
	const (
		filetypeCharDevice = 2
		rightFdRead        = 1 << 1
		rightFdWrite       = 1 << 6
		rightPollFd        = 1 << 27
	)
	rights := uint64(rightFdWrite | rightPollFd)
	if fd == 0 {
		rights = rightFdRead | rightPollFd
	}
	var st [24]byte
	st[0] = filetypeCharDevice
	le.PutUint64(st[8:], rights)
	if !mod.Memory().Write(p, st[:]) {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

func fdFdstatSetFlags(_ context.Context, _ api.Module, stack []uint64) {
	if uint32(stack[0]) > 2 {
		stack[0] = errnoBadf
		return
	}
	stack[0] = errnoSuccess
}

// pollOneoff serves clock subscriptions by sleeping until the earliest
// timeout (or until the call's context ends, which then interrupts the
// module) and answers fd subscriptions with ENOTSUP.
func pollOneoff(h *Host) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		in, out, nsubs, neventsPtr := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
		if nsubs == 0 {
			stack[0] = errnoInval
			return
		}
		mem := mod.Memory()
		subs, ok := mem.Read(in, nsubs*48)
		if !ok {
			stack[0] = errnoFault
			return
		}
		events, ok := mem.Read(out, nsubs*32)
		if !ok {
			stack[0] = errnoFault
			return
		}
		const (
			tagClock     = 0
			flagAbstime  = 1
			maxSleep     = time.Hour
			clockRealtim = 0
		)
		sleep, fdEvents := maxSleep, false
		for i := range nsubs {
			s := subs[48*i:]
			if s[8] != tagClock {
				fdEvents = true
				continue
			}
			d := time.Duration(le.Uint64(s[24:]))
			if le.Uint16(s[40:])&flagAbstime != 0 {
				now := time.Since(h.epoch) + 1
				if le.Uint32(s[16:]) == clockRealtim {
					now = time.Duration(time.Now().UnixNano())
				}
				d -= now
			}
			sleep = max(min(sleep, d), 0)
		}
		if !fdEvents && sleep > 0 {
			t := time.NewTimer(sleep)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		var n uint32
		for i := range nsubs {
			s := subs[48*i:]
			isClock := s[8] == tagClock
			if isClock && fdEvents {
				continue // report the fd events first; clocks have not expired
			}
			e := events[32*n : 32*n+32]
			clear(e)
			copy(e[0:8], s[0:8]) // userdata
			e[10] = s[8]         // type
			if !isClock {
				le.PutUint16(e[8:], errnoNotsup)
			}
			n++
		}
		if !mem.WriteUint32Le(neventsPtr, n) {
			stack[0] = errnoFault
			return
		}
		stack[0] = errnoSuccess
	}
}
