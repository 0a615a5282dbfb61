package plugins

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Info describes a module that passed validation.
type Info struct {
	ABIVersion int      // the version the module declares (1)
	Kind       Kind     // the kind it was validated as
	Kinds      []Kind   // every kind its exports allow
	Exports    []string // exported functions and memories, sorted
	Imports    []string // "module.name" of every imported function, sorted
	SHA256     string   // hex SHA-256 of the bytes
	Size       int      // bytes
	MemoryMin  uint32   // initial memory, in 64 KiB pages
}

// Export names and signatures of ABI v1.
const (
	exportMemory    = "memory"
	exportVersion   = "sluice_abi_version"
	exportAlloc     = "sluice_alloc"
	exportInit      = "sluice_init"
	exportPartition = "sluice_partition"
	exportProcess   = "sluice_process"
	exportInitGuest = "_initialize"
	exportFields    = "sluice_partition_fields"
)

type signature struct{ params, results []api.ValueType }

var exportSigs = map[string]signature{
	exportVersion:   {nil, []api.ValueType{i32}},
	exportAlloc:     {[]api.ValueType{i32}, []api.ValueType{i32}},
	exportInit:      {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
	exportPartition: {[]api.ValueType{i32, i32, i32}, []api.ValueType{i64}},
	exportProcess:   {[]api.ValueType{i32, i32, i32}, []api.ValueType{i64}},
	exportInitGuest: {nil, nil},
	exportFields:    {nil, []api.ValueType{i32}},
}

func entryPoint(k Kind) string {
	if k == KindProcessor {
		return exportProcess
	}
	return exportPartition
}

// Validate checks that wasm can run as a plugin of the given kind (or, with
// kind "", of any kind its exports allow): it is a Wasm binary, compiles,
// imports only the allowed WASI subset, exports memory, sluice_abi_version,
// sluice_alloc and the kind's entry point with the ABI's signatures, fits the
// default memory limit, starts, and declares ABI version 1. The error wraps
// ErrInvalidModule and says why. Validate does not call sluice_init, since
// parameters come later.
func (h *Host) Validate(ctx context.Context, wasm []byte, kind Kind) (Info, error) {
	c, err := h.compile(ctx, wasm)
	if err != nil {
		return Info{}, err
	}
	defer h.release(ctx, c)
	info, err := inspect(c.mod, kind, h.cfg.DefaultLimits.MemoryPages)
	if err != nil {
		return Info{}, err
	}
	info.SHA256, info.Size = c.sum, len(wasm)
	inst, err := h.newInstance(ctx, c, Module{Name: "validate"}, h.cfg.DefaultLimits, nil, info.Kind, false)
	if err != nil {
		return Info{}, fmt.Errorf("%w: %v", ErrInvalidModule, err)
	}
	inst.close(ctx)
	info.ABIVersion = ABIVersion
	return info, nil
}

// inspect checks a compiled module's imports and exports (no instance).
func inspect(mod wazero.CompiledModule, kind Kind, memLimit uint32) (Info, error) {
	var info Info
	var bad []string
	for _, f := range mod.ImportedFunctions() {
		m, n, _ := f.Import()
		if m == internalModule {
			continue // added by instrument.go; a module's own import of it is refused there
		}
		info.Imports = append(info.Imports, m+"."+n)
		if !allowedImport(m, n, f.ParamTypes(), f.ResultTypes()) {
			bad = append(bad, m+"."+n)
		}
	}
	for _, m := range mod.ImportedMemories() {
		mn, n, _ := m.Import()
		bad = append(bad, mn+"."+n+" (memory)")
	}
	slices.Sort(info.Imports)
	if len(bad) > 0 {
		slices.Sort(bad)
		return info, fmt.Errorf("%w: imports %s; plugins may import only the WASI subset in docs/plugin-abi.md (no file system, network or environment)",
			ErrInvalidModule, strings.Join(bad, ", "))
	}

	funcs := mod.ExportedFunctions()
	for name := range funcs {
		if name != startExport {
			info.Exports = append(info.Exports, name)
		}
	}
	mems := mod.ExportedMemories()
	for name := range mems {
		info.Exports = append(info.Exports, name)
	}
	// (the interrupt global instrument.go adds is not a function or memory,
	// so it never shows here)
	slices.Sort(info.Exports)
	mem, ok := mems[exportMemory]
	if !ok {
		return info, fmt.Errorf("%w: does not export its memory as %q", ErrInvalidModule, exportMemory)
	}
	info.MemoryMin = mem.Min()
	if info.MemoryMin > memLimit {
		return info, fmt.Errorf("%w: initial memory of %d pages is over the limit of %d pages", ErrInvalidModule, info.MemoryMin, memLimit)
	}
	for name, sig := range exportSigs {
		f, ok := funcs[name]
		if ok && (!sameTypes(f.ParamTypes(), sig.params) || !sameTypes(f.ResultTypes(), sig.results)) {
			return info, fmt.Errorf("%w: export %s has signature %s, want %s", ErrInvalidModule,
				name, sigString(f.ParamTypes(), f.ResultTypes()), sigString(sig.params, sig.results))
		}
	}
	var missing []string
	for _, name := range []string{exportVersion, exportAlloc} {
		if _, ok := funcs[name]; !ok {
			missing = append(missing, name)
		}
	}
	for _, k := range []Kind{KindPartitioner, KindProcessor} {
		if _, ok := funcs[entryPoint(k)]; ok {
			info.Kinds = append(info.Kinds, k)
		}
	}
	switch {
	case kind == "" && len(info.Kinds) > 0:
		kind = info.Kinds[0]
	case kind == "":
		missing = append(missing, exportPartition+" or "+exportProcess)
	case !slices.Contains(info.Kinds, kind):
		if _, err := ParseKind(string(kind)); err != nil {
			return info, fmt.Errorf("%w: %v", ErrInvalidModule, err)
		}
		missing = append(missing, entryPoint(kind))
	}
	info.Kind = kind
	if len(missing) > 0 {
		what := "plugin"
		if kind != "" {
			what = string(kind)
		}
		return info, fmt.Errorf("%w: does not export %s, which a %s needs (docs/plugin-abi.md)",
			ErrInvalidModule, strings.Join(missing, ", "), what)
	}
	return info, nil
}

func sigString(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ", ")
	}
	return "(" + names(params) + ") -> (" + names(results) + ")"
}
