package groups

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
)

// TopicCreator creates topics through the controller quorum;
// *controller.Controller satisfies it.
type TopicCreator interface {
	CreateTopic(ctx context.Context, ct meta.CreateTopic) (*meta.Topic, error)
}

// BrokerLog adapts the node's broker and controller to Log on a one-node
// cluster: every partition is read and written through the local broker.
func BrokerLog(b *broker.Broker, topics TopicCreator) Log {
	return brokerLog{b: b, topics: topics, self: -1}
}

// ClusterBrokerLog adapts the node's broker and controller to Log on a
// cluster: a partition this node (self) leads is used through the local
// broker, any other through its leader via peers.
func ClusterBrokerLog(b *broker.Broker, topics TopicCreator, self int32, peers Peers) Log {
	return brokerLog{b: b, topics: topics, self: self, peers: peers}
}

type brokerLog struct {
	b      *broker.Broker
	topics TopicCreator
	self   int32 // -1: every partition is local (BrokerLog)
	peers  Peers
}

// CreateInternalTopic creates the topic replicated like any topic: RF
// min(3, alive brokers) and min.insync.replicas 2 when that is 3
// (meta.InternalReplication). A topic created smaller (a young cluster, or
// one created before offsets were replicated) is raised by the active
// controller as brokers allow (meta.InternalTopicChanges).
func (l brokerLog) CreateInternalTopic(ctx context.Context, topic string, partitions int) error {
	c := l.b.Cluster()
	if _, ok := c.Topic(topic); ok {
		return nil
	}
	rf, minISR := meta.InternalReplication(len(c.AliveBrokers()))
	_, err := l.topics.CreateTopic(ctx, meta.CreateTopic{
		Name: topic, Partitions: partitions, ReplicationFactor: rf, Internal: true,
		Partitioner: meta.PartitionerSpec{Name: "hash"},
		Config: map[string]string{
			meta.KeyRetentionMs: "-1", meta.KeyRetentionBytes: "-1",
			meta.KeyMinInsyncReplicas: strconv.Itoa(minISR),
		},
	})
	if err != nil && !errors.Is(err, meta.ErrTopicExists) {
		return err
	}
	return nil
}

// LogEnd returns the log end offset of the local replica of a partition
// this node leads (see logEnder).
func (l brokerLog) LogEnd(_ context.Context, topic string, partition int32) (int64, error) {
	info, err := l.b.PartitionInfo(topic, partition)
	if err != nil {
		return 0, err
	}
	if !info.Leader {
		return 0, fmt.Errorf("%s/%d: not the leader here", topic, partition)
	}
	return info.LogEnd, nil
}

// Leader implements Log.
func (l brokerLog) Leader(_ context.Context, topic string, partition int32) (Leader, error) {
	if l.self < 0 {
		return Leader{Local: true}, nil
	}
	return leaderOf(l.b, l.self, topic, partition)
}

// Append writes recs to exactly the partition asked for, bypassing the
// topic's partitioner (ProducePartition and Forward take the partition
// as given), and refuses a topic that is not the internal one the
// coordinator created: a user topic of that name, or one whose spec
// changed, would take commits it cannot read back.
func (l brokerLog) Append(ctx context.Context, topic string, partition int32, recs []record.Record) error {
	t, ok := l.b.Cluster().Topic(topic)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownTopic, topic)
	}
	if !t.Internal {
		return fmt.Errorf("%w: %s is not an internal topic: refusing to write offsets to it", ErrInvalidRequest, topic)
	}
	ld, err := l.Leader(ctx, topic, partition)
	if err != nil {
		return err
	}
	if ld.Local {
		_, err = l.b.ProducePartition(ctx, topic, partition, recs, broker.AcksAll, 0)
	} else {
		_, err = l.peers.Forward(ctx, ld.Node, topic, partition, recs, broker.AcksAll)
	}
	if err != nil {
		return fmt.Errorf("append to %s/%d: %w", topic, partition, err)
	}
	return nil
}

func (l brokerLog) Read(ctx context.Context, topic string, partition int32, offset int64, maxBytes int) ([]record.Record, int64, error) {
	ld, err := l.Leader(ctx, topic, partition)
	if err != nil {
		return nil, 0, err
	}
	if !ld.Local {
		fb, err := l.peers.Fetch(ctx, ld.Node, topic, partition, offset, maxBytes, 0)
		if err != nil {
			return nil, 0, err
		}
		return fromWire(fb.Records), fb.HighWatermark, nil
	}
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

func (l brokerLog) listOffset(ctx context.Context, topic string, partition int32, at int64) (int64, error) {
	ld, err := l.Leader(ctx, topic, partition)
	if err != nil {
		return 0, err
	}
	if !ld.Local {
		return l.peers.ListOffset(ctx, ld.Node, topic, partition, at)
	}
	return l.b.ListOffset(ctx, topic, partition, at)
}

func (l brokerLog) Bounds(ctx context.Context, topic string, partition int32) (int64, int64, error) {
	start, err := l.listOffset(ctx, topic, partition, broker.OffsetEarliest)
	if err != nil {
		return 0, 0, err
	}
	end, err := l.listOffset(ctx, topic, partition, broker.OffsetLatest)
	if err != nil {
		return 0, 0, err
	}
	return start, end, nil
}

func (l brokerLog) OffsetForTimestamp(ctx context.Context, topic string, partition int32, ts int64) (int64, error) {
	return l.listOffset(ctx, topic, partition, ts)
}
