package plugins

import (
	"context"
	"fmt"
	"sync"

	"github.com/sluicehq/sluice/record"
)

// Output is one record a processor produced. SourceOffset is the offset of
// the input record it came from; Record.Offset holds the same value.
// Committing SourceOffset+1 of the last output seen (or the last input's
// offset+1 once the whole batch is handled) resumes after it.
type Output struct {
	record.Record
	SourceOffset int64
}

// Processor runs a processor plugin. It is safe for concurrent use;
// concurrent batches run on separate instances.
type Processor struct {
	h    *Host
	pool *pool
	once sync.Once
}

// Processor returns a processor running m with params (passed to the
// module's sluice_init). It starts one instance at once, so a module that
// cannot start or refuses its parameters fails here. Close it when done.
func (h *Host) Processor(ctx context.Context, m Module, params map[string]string) (*Processor, error) {
	p, err := h.acquirePool(ctx, m, KindProcessor, params)
	if err != nil {
		return nil, err
	}
	return &Processor{h: h, pool: p}, nil
}

// Process runs the plugin over recs, read from partition in offset order,
// in one call. The outputs own their bytes (nothing aliases plugin memory or
// recs). On error nothing is returned: the batch failed as a whole.
func (pr *Processor) Process(ctx context.Context, partition int32, recs []record.Record) ([]Output, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	var outs []Output
	err := pr.pool.run(ctx, func(inst *instance) (bool, error) {
		sp := newSpan(inst.limits.CallTimeout, "call")
		size := batchSize(recs, allFields)
		ptr, err := inst.place(ctx, sp, size)
		if err != nil {
			return false, err
		}
		view, _ := inst.mem.Read(ptr, uint32(size))
		encodeBatch(view, recs, allFields)
		inst.stack[0], inst.stack[1], inst.stack[2] = uint64(ptr), uint64(size), uint64(uint32(partition))
		if err := inst.call(ctx, sp, inst.entry, inst.stack[:]); err != nil {
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
		// One copy out of the plugin's memory; the outputs slice into it.
		owned := make([]byte, len(body))
		copy(owned, body)
		if outs, err = parseOutputs(owned, recs); err != nil {
			return false, fmt.Errorf("%w: %w", ErrPluginFailed, err)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// Close releases this user's hold on the module's instances; the last user
// of a module closes them. Close is idempotent.
func (pr *Processor) Close(ctx context.Context) error {
	pr.once.Do(func() { pr.h.releasePool(ctx, pr.pool) })
	return nil
}
