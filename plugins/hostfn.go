package plugins

// Host functions of the "sluice" import module (docs/plugin-abi.md,
// section 12): hot primitives the host runs natively over a whole batch,
// so that plugins written in a high-level language (standard Go compiled
// to Wasm runs several times slower than native code) need not do them in
// Wasm. A module may import them like the WASI subset (Validate checks the
// signatures against this table).

import (
	"context"
	"math"
	"strings"

	"github.com/tetratelabs/wazero/api"

	"github.com/sluicehq/sluice/sdk/fieldpart"
)

const hostModule = "sluice"

// Results of partition_by_json_field other than a record count.
const (
	hostErrMalformed = -1 // the batch breaks the ABI layout
	hostErrBounds    = -2 // a pointer and length lie outside memory
	hostErrArgs      = -3 // partitions < 1 or an empty path
	hostErrNoCall    = -4 // partition_call_*: not within a sluice_partition call
)

// hostFuncs is the allow-list of the "sluice" module.
var hostFuncs = map[string]wasiFunc{
	"partition_by_json_field":      {[]api.ValueType{i32, i32, i32, i32, i32, i32}, []api.ValueType{i32}, constFn(partitionByJSONField)},
	"partition_call_by_json_field": {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}, constFn(partitionCallByJSONField)},
}

func (h *Host) instantiateHostFuncs(ctx context.Context) error {
	b := h.rt.NewHostModuleBuilder(hostModule)
	for name, f := range hostFuncs {
		b.NewFunctionBuilder().WithGoModuleFunction(f.fn(h), f.params, f.results).Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// partitionByJSONField(batch_ptr, batch_len, path_ptr, path_len,
// partitions, out_ptr) -> i32 writes, for every record of the batch at
// batch_ptr, the i32 partition of the text of the JSON field at the dotted
// path (fieldpart.Partitions) or -1, at out_ptr + 4*i, and returns the
// record count, or a negative hostErr.
func partitionByJSONField(ctx context.Context, mod api.Module, stack []uint64) {
	interruptHostCall(ctx)
	bp, bl, pp, pl := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	partitions, op := int32(stack[4]), uint32(stack[5])
	res := func(v int32) { stack[0] = uint64(uint32(v)) }
	mem := mod.Memory()
	batch, ok1 := mem.Read(bp, bl)
	path, ok2 := mem.Read(pp, pl)
	if !ok1 || !ok2 {
		res(hostErrBounds)
		return
	}
	if partitions < 1 || len(path) == 0 {
		res(hostErrArgs)
		return
	}
	if len(batch) < 4 {
		res(hostErrMalformed)
		return
	}
	count := le.Uint32(batch)
	if uint64(count) > uint64(len(batch)/recordFixed) { // also bounds the scratch slice below
		res(hostErrMalformed)
		return
	}
	outBytes, ok := mem.Read(op, count*4) // count < 2^27: no overflow
	if !ok {
		res(hostErrBounds)
		return
	}
	// Results go to a scratch slice first: out may overlap the batch.
	out := make([]int32, count)
	n, err := fieldpart.Partitions(batch, strings.Split(string(path), "."), int(partitions), out)
	if err != nil {
		res(hostErrMalformed)
		return
	}
	for i := range n {
		le.PutUint32(outBytes[4*i:], uint32(out[i]))
	}
	res(int32(n))
}

// partitionCallByJSONField(path_ptr, path_len, out_ptr) -> i32 is
// partitionByJSONField over the records of the running sluice_partition
// call as the host holds them, with the call's partition count: the module
// need not be sent the values (sluice_partition_fields), so a batch's
// values are never copied into it. It returns the record count, or a
// negative hostErr (hostErrNoCall outside a partition call).
func partitionCallByJSONField(ctx context.Context, mod api.Module, stack []uint64) {
	pp, pl, op := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	res := func(v int32) { stack[0] = uint64(uint32(v)) }
	interruptHostCall(ctx)
	g := guestFrom(ctx)
	if g == nil || g.batch == nil {
		res(hostErrNoCall)
		return
	}
	mem := mod.Memory()
	path, ok := mem.Read(pp, pl)
	if !ok {
		res(hostErrBounds)
		return
	}
	if len(path) == 0 {
		res(hostErrArgs)
		return
	}
	if len(g.batch) > math.MaxUint32/4 {
		res(hostErrArgs)
		return
	}
	outBytes, ok := mem.Read(op, uint32(len(g.batch))*4)
	if !ok {
		res(hostErrBounds)
		return
	}
	steps := strings.Split(string(path), ".")
	for i := range g.batch {
		le.PutUint32(outBytes[4*i:], uint32(fieldpart.Partition(g.batch[i].Value, steps, g.partitions)))
	}
	res(int32(len(g.batch)))
}
