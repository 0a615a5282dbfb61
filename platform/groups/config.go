package groups

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/record"
)

// Log is what the coordinator needs of the broker: the internal offsets
// topic, and the bounds of the topics groups consume (for describe, lag and
// reset-offsets). The node adapts its broker and controller to it.
type Log interface {
	// CreateInternalTopic creates topic, marked internal, with the given
	// partition count and the hash partitioner through the controller; it
	// succeeds without change when the topic exists. Internal topics should
	// keep records forever (no retention by time or size).
	CreateInternalTopic(ctx context.Context, topic string, partitions int) error
	// Append appends recs to exactly that partition (not through the
	// topic's partitioner) and returns once they are committed (acks=all).
	Append(ctx context.Context, topic string, partition int32, recs []record.Record) error
	// Read returns committed records of one partition from offset (about
	// maxBytes, at least one batch when there is one) and the high
	// watermark. It does not wait: at the high watermark it returns none.
	Read(ctx context.Context, topic string, partition int32, offset int64, maxBytes int) (recs []record.Record, highWatermark int64, err error)
	// Partitions returns the partition count of topic; an unknown topic is
	// an error wrapping ErrUnknownTopic.
	Partitions(ctx context.Context, topic string) (int32, error)
	// Bounds returns a partition's log start offset and high watermark.
	Bounds(ctx context.Context, topic string, partition int32) (start, end int64, err error)
	// OffsetForTimestamp returns the first offset whose record timestamp is
	// at least ts (ms), or the high watermark when there is none.
	OffsetForTimestamp(ctx context.Context, topic string, partition int32, ts int64) (int64, error)
	// Leader says whether this node leads a partition, else which node
	// does (ErrNoLeader when none does now). The node leading a group's
	// __consumer_offsets partition is the group's coordinator.
	Leader(ctx context.Context, topic string, partition int32) (Leader, error)
}

// ErrUnknownTopic is what a Log wraps for a topic that does not exist; the
// coordinator passes it through so callers can map it.
var ErrUnknownTopic = errors.New("unknown topic")

// Clock is the coordinator's source of time. Tests inject one; the default
// is the system clock (which testing/synctest also fakes).
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config configures a Coordinator. The zero value of every field but Log
// means its documented default.
type Config struct {
	// Log reaches partitions and the offsets topic. Required.
	Log Log
	// Clock drives session and revocation timeouts. Default: system clock.
	Clock Clock
	// Logger receives coordinator events. Default: slog.Default().
	Logger *slog.Logger
	// OffsetsPartitions is the partition count of __consumer_offsets when
	// the coordinator creates it. Default 16.
	OffsetsPartitions int
	// SessionTimeout is a member's session when it asks for none: a member
	// that does not heartbeat for this long is removed. Default 10s.
	SessionTimeout time.Duration
	// MinSessionTimeout and MaxSessionTimeout bound what members may ask
	// for. Defaults 1s and 5m.
	MinSessionTimeout, MaxSessionTimeout time.Duration
	// RebalanceTimeout is how long a member may take to acknowledge a
	// revocation before the partition is released anyway. Default 30s:
	// it must exceed what a server needs to stop sending a revoked
	// partition to a slow client (wsapi requires more than twice its
	// WriteTimeout, 10s by default).
	RebalanceTimeout time.Duration
	// LoadRetry is the pause between attempts to create and load the
	// offsets topic at start (the controller or broker may not be ready
	// yet). Default 250ms.
	LoadRetry time.Duration
	// LoadBatchBytes is the read size when loading offsets. Default 1 MiB.
	LoadBatchBytes int
	// MetadataRefresh is how often the coordinator reads the partition
	// count of the topics members consume, to rebalance a group whose
	// topic gained partitions. Default 1s.
	MetadataRefresh time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if c.Log == nil {
		return c, fmt.Errorf("%w: groups.Config.Log is required", ErrInvalidRequest)
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.OffsetsPartitions <= 0 {
		c.OffsetsPartitions = 16
	}
	def(&c.SessionTimeout, 10*time.Second)
	def(&c.MinSessionTimeout, time.Second)
	def(&c.MaxSessionTimeout, 5*time.Minute)
	def(&c.RebalanceTimeout, 30*time.Second)
	def(&c.LoadRetry, 250*time.Millisecond)
	def(&c.MetadataRefresh, time.Second)
	if c.LoadBatchBytes <= 0 {
		c.LoadBatchBytes = 1 << 20
	}
	if c.MinSessionTimeout > c.MaxSessionTimeout {
		return c, fmt.Errorf("%w: MinSessionTimeout %v > MaxSessionTimeout %v", ErrInvalidRequest, c.MinSessionTimeout, c.MaxSessionTimeout)
	}
	return c, nil
}
