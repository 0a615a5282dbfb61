package plugins

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/record"
)

// WasmPartitioner runs a partitioner plugin. It implements
// partitioner.Partitioner and is safe for concurrent use; concurrent batches
// run on separate instances, up to Config.MaxInstancesPerModule.
type WasmPartitioner struct {
	h    *Host
	pool *pool
	once sync.Once
}

var _ partitioner.Partitioner = (*WasmPartitioner)(nil)

// Partitioner returns a partitioner running m with params (passed to the
// module's sluice_init). It starts one instance at once, so a module that
// cannot start or refuses its parameters fails here. Close it when done.
func (h *Host) Partitioner(ctx context.Context, m Module, params map[string]string) (*WasmPartitioner, error) {
	p, err := h.acquirePool(ctx, m, KindPartitioner, params)
	if err != nil {
		return nil, err
	}
	return &WasmPartitioner{h: h, pool: p}, nil
}

// Partition implements partitioner.Partitioner: one call into the plugin for
// the whole batch. Any failure fails the batch; no partition in out is
// meaningful then.
func (w *WasmPartitioner) Partition(ctx context.Context, recs []record.Record, partitions int, out []int32) error {
	if partitions < 1 || len(out) != len(recs) {
		return fmt.Errorf("plugin %s: %w: %d records, %d result slots, %d partitions",
			w.pool.key.id, partitioner.ErrBadArgs, len(recs), len(out), partitions)
	}
	if len(recs) == 0 {
		return nil
	}
	if partitions > 1<<31-1 {
		return fmt.Errorf("plugin %s: %w: %d partitions", w.pool.key.id, partitioner.ErrBadArgs, partitions)
	}
	return w.pool.run(ctx, func(inst *instance) (bool, error) {
		sp := newSpan(inst.limits.CallTimeout, "call")
		size := batchSize(recs, inst.fields)
		ptr, err := inst.place(ctx, sp, size)
		if err != nil {
			return false, err
		}
		view, _ := inst.mem.Read(ptr, uint32(size)) // place checked the bounds
		encodeBatch(view, recs, inst.fields)
		inst.stack[0], inst.stack[1], inst.stack[2] = uint64(ptr), uint64(size), uint64(partitions)
		inst.io.batch, inst.io.partitions = recs, partitions
		err = inst.call(ctx, sp, inst.entry, inst.stack[:])
		inst.io.batch = nil // the caller's records: not kept past the call
		if err != nil {
			return false, err
		}
		res, err := inst.result(inst.stack[0])
		if err != nil {
			return false, fmt.Errorf("%w: %w", ErrPluginFailed, err)
		}
		body, err := parseStatus(res)
		if err != nil {
			return resultFailure(err)
		}
		if err := parsePartitions(body, partitions, out); err != nil {
			return false, fmt.Errorf("%w: %w", ErrPluginFailed, err)
		}
		return true, nil
	})
}

// resultFailure maps a parseStatus error: the plugin's own error result
// leaves the instance healthy; anything else is malformed output.
func resultFailure(err error) (bool, error) {
	var pe *pluginError
	if errors.As(err, &pe) {
		return true, fmt.Errorf("%w: %s", ErrPluginFailed, pe.msg)
	}
	return false, fmt.Errorf("%w: %w", ErrPluginFailed, err)
}

// Close releases this user's hold on the module's instances; the last user
// of a module closes them. Close is idempotent.
func (w *WasmPartitioner) Close(ctx context.Context) error {
	w.once.Do(func() { w.h.releasePool(ctx, w.pool) })
	return nil
}
