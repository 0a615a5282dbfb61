package broker

import (
	"errors"
	"fmt"
)

// The errors callers act on. They are wrapped with context where they are
// returned; test with errors.Is. The HTTP API maps each to one wire code in
// one place (platform/httpapi).
var (
	// ErrUnknownTopic: the topic does not exist (or has been deleted).
	ErrUnknownTopic = errors.New("unknown topic")
	// ErrUnknownPartition: the topic exists but has no such partition.
	ErrUnknownPartition = errors.New("unknown partition")
	// ErrNotLeader: this broker does not lead the partition (or has not
	// opened its replica yet); the client should refresh metadata and retry
	// on the leader.
	ErrNotLeader = errors.New("not the leader for partition")
	// ErrNotEnoughReplicas: acks=all was asked and the ISR is smaller than
	// the topic's min.insync.replicas; nothing was written.
	ErrNotEnoughReplicas = errors.New("not enough in-sync replicas")
	// ErrNotEnoughReplicasAfterAppend: acks=all, the records were appended
	// and reached the high watermark, but only after the ISR had shrunk
	// below min.insync.replicas, so they are not as safe as acks=all
	// promises (Kafka's NOT_ENOUGH_REPLICAS_AFTER_APPEND). It wraps
	// ErrNotEnoughReplicas; a retry may duplicate the records.
	ErrNotEnoughReplicasAfterAppend = fmt.Errorf("%w after append", ErrNotEnoughReplicas)
	// ErrRecordTooLarge: a record is larger than the topic's
	// max.message.bytes; nothing of the request was written.
	ErrRecordTooLarge = errors.New("record too large")
	// ErrOffsetOutOfRange: a fetch offset below the log start or past the
	// log end.
	ErrOffsetOutOfRange = errors.New("offset out of range")
	// ErrInvalidRequest: the request is malformed (bad acks, empty batch,
	// negative byte limit, ...).
	ErrInvalidRequest = errors.New("invalid request")
	// ErrTimeout: acks=all and the high watermark did not pass the records
	// before the produce timeout. The records were appended on the leader
	// and may still be committed.
	ErrTimeout = errors.New("timed out waiting for replication")
	// ErrPartitioner: the topic's partitioner failed or returned a
	// partition out of range; nothing was written.
	ErrPartitioner = errors.New("partitioner failed")
	// ErrReplicaUnavailable: this broker holds a replica of the partition
	// but could not open its log (a damaged file, a disk error); the
	// cause is wrapped. The broker serves its other partitions and tries
	// again on the next metadata change.
	ErrReplicaUnavailable = errors.New("replica unavailable")
	// ErrClosed: the broker is shutting down.
	ErrClosed = errors.New("broker closed")
)

// NotLeaderError is the ErrNotLeader a client can act on: it names the
// partition's leader as the metadata this broker applied knows it.
type NotLeaderError struct {
	Topic       string
	Partition   int32
	LeaderID    int32  // -1 when the partition has no leader
	LeaderEpoch int32  // the epoch of that leadership
	LeaderAddr  string // the leader's HTTP address, "" when unknown
	Reason      string
}

// Error describes the failure.
func (e *NotLeaderError) Error() string {
	msg := fmt.Sprintf("%s-%d: node leads nothing here (leader %d, epoch %d)", e.Topic, e.Partition, e.LeaderID, e.LeaderEpoch)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// Is makes errors.Is(err, ErrNotLeader) hold.
func (e *NotLeaderError) Is(target error) bool { return target == ErrNotLeader }

// OffsetRangeError is the ErrOffsetOutOfRange of a fetch: the offset asked
// for and the valid range.
type OffsetRangeError struct {
	Topic     string
	Partition int32
	Offset    int64
	LogStart  int64
	LogEnd    int64
}

// Error describes the failure.
func (e *OffsetRangeError) Error() string {
	return fmt.Sprintf("%s-%d: offset %d is outside the log [%d, %d]", e.Topic, e.Partition, e.Offset, e.LogStart, e.LogEnd)
}

// Is makes errors.Is(err, ErrOffsetOutOfRange) hold.
func (e *OffsetRangeError) Is(target error) bool { return target == ErrOffsetOutOfRange }
