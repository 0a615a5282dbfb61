package wsapi

import (
	"context"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/groups"
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

// FromCluster adapts the node's broker to Broker on a cluster: fetches
// and offsets of partitions led by other nodes go to their leaders
// through peers (the local broker serves only what it leads); produce
// goes through the broker, which forwards by itself. self is this node's
// id.
func FromCluster(b *broker.Broker, self int32, peers groups.Peers) Broker {
	return clusterAdapter{brokerAdapter: brokerAdapter{b}, self: self, peers: peers}
}

type clusterAdapter struct {
	brokerAdapter
	self  int32
	peers groups.Peers
}

// leader is the partition's leader, nil when this node leads it (or the
// metadata does not say: the local broker then answers with its error).
func (a clusterAdapter) leader(topic string, partition int32) *meta.Broker {
	c := a.b.Cluster()
	t, ok := c.Topic(topic)
	if !ok || partition < 0 || int(partition) >= len(t.Partitions) {
		return nil
	}
	id := t.Partitions[partition].Leader
	if id == meta.NoLeader || int32(id) == a.self {
		return nil
	}
	n, ok := c.Broker(id)
	if !ok {
		return nil
	}
	return n
}

func (a clusterAdapter) Fetch(ctx context.Context, req FetchRequest) (FetchResult, error) {
	ld := a.leader(req.Topic, req.Partition)
	if ld == nil {
		return a.brokerAdapter.Fetch(ctx, req)
	}
	fb, err := a.peers.Fetch(ctx, ld, req.Topic, req.Partition, req.Offset, req.MaxBytes, req.MaxWait)
	if err != nil {
		return FetchResult{}, err
	}
	recs := make([]record.Record, len(fb.Records))
	for i, r := range fb.Records {
		recs[i] = record.Record{Offset: r.Offset, Timestamp: r.Timestamp, Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			recs[i].Headers = append(recs[i].Headers, record.Header{Key: h.Key, Value: h.Value})
		}
	}
	return FetchResult{Records: recs, NextOffset: fb.NextOffset, HighWatermark: fb.HighWatermark,
		LogStart: fb.LogStart, LogEnd: fb.LogEnd}, nil
}

func (a clusterAdapter) ListOffset(ctx context.Context, topic string, partition int32, at int64) (int64, error) {
	if ld := a.leader(topic, partition); ld != nil {
		return a.peers.ListOffset(ctx, ld, topic, partition, at)
	}
	return a.brokerAdapter.ListOffset(ctx, topic, partition, at)
}
