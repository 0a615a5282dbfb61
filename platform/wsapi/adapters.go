package wsapi

import (
	"context"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/record"
)

// FromBroker adapts the node's broker to Broker.
func FromBroker(b *broker.Broker) Broker { return brokerAdapter{b} }

type brokerAdapter struct{ b *broker.Broker }

func (a brokerAdapter) Partitions(_ context.Context, topic string) (int32, error) {
	t, ok := a.b.Cluster().Topic(topic)
	if !ok {
		return 0, fmt.Errorf("%w: %s", broker.ErrUnknownTopic, topic)
	}
	return int32(len(t.Partitions)), nil
}

func (a brokerAdapter) Fetch(ctx context.Context, req FetchRequest) (FetchResult, error) {
	res, err := a.b.Fetch(ctx, broker.FetchRequest{Topic: req.Topic, Partition: req.Partition,
		Offset: req.Offset, MaxBytes: req.MaxBytes, MaxWait: req.MaxWait}, nil)
	return FetchResult{Records: res.Records, NextOffset: res.NextOffset, HighWatermark: res.HighWatermark,
		LogStart: res.LogStart, LogEnd: res.LogEnd}, err
}

func (a brokerAdapter) ListOffset(ctx context.Context, topic string, partition int32, at int64) (int64, error) {
	return a.b.ListOffset(ctx, topic, partition, at)
}

func (a brokerAdapter) Produce(ctx context.Context, topic string, recs []record.Record, acks string) ([]ProduceResult, error) {
	ak, err := broker.ParseAcks(acks)
	if err != nil {
		return nil, err
	}
	res, err := a.b.Produce(ctx, broker.ProduceRequest{Topic: topic, Records: recs, Acks: ak, Timeout: 30 * time.Second}, nil)
	if err != nil {
		return nil, err
	}
	out := make([]ProduceResult, len(res))
	for i, r := range res {
		out[i] = ProduceResult{Partition: r.Partition, Offset: r.Offset, Err: r.Err}
	}
	return out, nil
}

// PluginProcessors resolves processors from the plugin registry (in the
// cluster metadata) and runs them on host.
func PluginProcessors(host *plugins.Host, metadata func() *meta.Cluster) ProcessorResolver {
	return pluginResolver{host: host, metadata: metadata}
}

type pluginResolver struct {
	host     *plugins.Host
	metadata func() *meta.Cluster
}

func (r pluginResolver) Processor(ctx context.Context, name string, version int, params map[string]string) (Processor, error) {
	pv, err := r.metadata().PluginVersion(name, version)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownProcessor, err)
	}
	if pv.Kind != string(plugins.KindProcessor) {
		return nil, fmt.Errorf("%w: plugin %s@%d is a %s, not a processor", errBadRequest, pv.Name, pv.Version, pv.Kind)
	}
	merged := make(map[string]string, len(pv.Params)+len(params))
	for k, v := range pv.Params {
		merged[k] = v
	}
	for k, v := range params {
		merged[k] = v
	}
	p, err := r.host.Processor(ctx, plugins.Module{Name: pv.Name, Version: pv.Version, Wasm: pv.Wasm, Limits: plugins.Limits{
		MemoryPages:    pv.Limits.MemoryPages,
		CallTimeout:    time.Duration(pv.Limits.CallTimeoutMs) * time.Millisecond,
		MaxOutputBytes: pv.Limits.MaxOutputBytes,
	}}, merged)
	if err != nil {
		return nil, fmt.Errorf("%w: start %s@%d: %w", ErrProcessorFailed, pv.Name, pv.Version, err)
	}
	return pluginProcessor{p}, nil
}

type pluginProcessor struct{ p *plugins.Processor }

func (pp pluginProcessor) Process(ctx context.Context, partition int32, recs []record.Record) ([]Output, error) {
	outs, err := pp.p.Process(ctx, partition, recs)
	if err != nil {
		return nil, err
	}
	res := make([]Output, len(outs))
	for i := range outs {
		res[i] = Output{Record: outs[i].Record, SourceOffset: outs[i].SourceOffset}
	}
	return res, nil
}

func (pp pluginProcessor) Close(ctx context.Context) error { return pp.p.Close(ctx) }
