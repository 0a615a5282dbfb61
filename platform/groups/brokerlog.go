package groups

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
)

// TopicCreator creates topics through the controller quorum;
// *controller.Controller satisfies it.
type TopicCreator interface {
	CreateTopic(ctx context.Context, ct meta.CreateTopic) (*meta.Topic, error)
}

// BrokerLog adapts the node's broker and controller to Log.
func BrokerLog(b *broker.Broker, topics TopicCreator) Log { return brokerLog{b: b, topics: topics} }

type brokerLog struct {
	b      *broker.Broker
	topics TopicCreator
}

// maxOffsetsReplication is the replication factor of __consumer_offsets
// on clusters with that many brokers (fewer brokers: all of them).
const maxOffsetsReplication = 3

func (l brokerLog) CreateInternalTopic(ctx context.Context, topic string, partitions int) error {
	if _, ok := l.b.Cluster().Topic(topic); ok {
		return nil
	}
	rf := min(maxOffsetsReplication, max(1, len(l.b.Cluster().AliveBrokers())))
	_, err := l.topics.CreateTopic(ctx, meta.CreateTopic{
		Name: topic, Partitions: partitions, ReplicationFactor: rf, Internal: true,
		Partitioner: meta.PartitionerSpec{Name: "hash"},
		Config:      map[string]string{meta.KeyRetentionMs: "-1", meta.KeyRetentionBytes: "-1"},
	})
	if err != nil && !errors.Is(err, meta.ErrTopicExists) {
		return err
	}
	return nil
}

func (l brokerLog) Append(ctx context.Context, topic string, partition int32, recs []record.Record) error {
	res, err := l.b.Produce(ctx, broker.ProduceRequest{Topic: topic, Records: recs, Acks: broker.AcksAll}, nil)
	if err != nil {
		return err
	}
	for i, r := range res {
		if r.Err != nil {
			return fmt.Errorf("record %d: %w", i, r.Err)
		}
		if r.Partition != partition {
			return fmt.Errorf("%s routed a record to partition %d, want %d: is its partitioner hash?", topic, r.Partition, partition)
		}
	}
	return nil
}

func (l brokerLog) Read(ctx context.Context, topic string, partition int32, offset int64, maxBytes int) ([]record.Record, int64, error) {
	res, err := l.b.Fetch(ctx, broker.FetchRequest{Topic: topic, Partition: partition, Offset: offset, MaxBytes: maxBytes}, nil)
	if err != nil {
		return nil, 0, err
	}
	return res.Records, res.HighWatermark, nil
}

func (l brokerLog) Partitions(_ context.Context, topic string) (int32, error) {
	t, ok := l.b.Cluster().Topic(topic)
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrUnknownTopic, topic)
	}
	return int32(len(t.Partitions)), nil
}

func (l brokerLog) Bounds(ctx context.Context, topic string, partition int32) (int64, int64, error) {
	start, err := l.b.ListOffset(ctx, topic, partition, broker.OffsetEarliest)
	if err != nil {
		return 0, 0, err
	}
	end, err := l.b.ListOffset(ctx, topic, partition, broker.OffsetLatest)
	if err != nil {
		return 0, 0, err
	}
	return start, end, nil
}

func (l brokerLog) OffsetForTimestamp(ctx context.Context, topic string, partition int32, ts int64) (int64, error) {
	return l.b.ListOffset(ctx, topic, partition, ts)
}
