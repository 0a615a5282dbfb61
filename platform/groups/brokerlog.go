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

// Append writes recs to exactly the partition asked for, bypassing the
// topic's partitioner (ProducePartition takes the partition as given), and
// refuses a topic that is not the internal one the coordinator created: a
// user topic of that name, or one whose spec changed, would take commits it
// cannot read back.
func (l brokerLog) Append(ctx context.Context, topic string, partition int32, recs []record.Record) error {
	t, ok := l.b.Cluster().Topic(topic)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownTopic, topic)
	}
	if !t.Internal {
		return fmt.Errorf("%w: %s is not an internal topic: refusing to write offsets to it", ErrInvalidRequest, topic)
	}
	if _, err := l.b.ProducePartition(ctx, topic, partition, recs, broker.AcksAll, 0); err != nil {
		return fmt.Errorf("append to %s/%d: %w", topic, partition, err)
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
