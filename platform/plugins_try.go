package platform

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
)

// TestPartitioner implements httpapi.PluginTester: a fresh instance of
// the version, closed after the one call.
func (rt *pluginRuntime) TestPartitioner(ctx context.Context, pv *meta.PluginVersion, params map[string]string, n int, recs []record.Record) ([]int32, error) {
	p, err := rt.host.Partitioner(ctx, moduleOf(pv), params)
	if err != nil {
		return nil, err
	}
	defer p.Close(context.WithoutCancel(ctx))
	out := make([]int32, len(recs))
	for start := 0; start < len(recs); start += partitionerBatch {
		end := min(start+partitionerBatch, len(recs))
		if err := p.Partition(ctx, recs[start:end], n, out[start:end]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TestProcessor implements httpapi.PluginTester.
func (rt *pluginRuntime) TestProcessor(ctx context.Context, pv *meta.PluginVersion, params map[string]string, partition int32, recs []record.Record) ([]record.Record, error) {
	pr, err := rt.host.Processor(ctx, moduleOf(pv), params)
	if err != nil {
		return nil, err
	}
	defer pr.Close(context.WithoutCancel(ctx))
	var out []record.Record
	for start := 0; start < len(recs); start += processorBatch {
		end := min(start+processorBatch, len(recs))
		outs, err := pr.Process(ctx, partition, recs[start:end])
		if err != nil {
			return nil, fmt.Errorf("process records %d..%d: %w", start, end-1, err)
		}
		for _, o := range outs {
			r := o.Record
			r.Offset = o.SourceOffset
			out = append(out, r)
		}
	}
	return out, nil
}
