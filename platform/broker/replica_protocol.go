package broker

import (
	"context"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
)

// The follower fetch protocol (docs/replication.md). A follower keeps one
// fetch session per leader broker: a long-polled request that carries every
// partition it follows on that leader. The types are plain JSON values;
// batches travel as the leader stored them (storage's Batch.Raw), never
// re-encoded.

// ReplicaFetchRequest is one round of a follower's fetch session.
type ReplicaFetchRequest struct {
	// ReplicaID is the follower's node id.
	ReplicaID int32 `json:"replica_id"`
	// MaxWaitMs is how long the leader may hold the request when no
	// partition has anything new for the follower.
	MaxWaitMs int64 `json:"max_wait_ms"`
	// MaxBytes bounds the batch bytes of the answer (at least one batch per
	// partition with data is sent, however large).
	MaxBytes   int                     `json:"max_bytes"`
	Partitions []ReplicaFetchPartition `json:"partitions"`
}

// ReplicaFetchPartition is one partition of a fetch round.
type ReplicaFetchPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// LeaderEpoch is the leadership the follower believes current; the
	// leader refuses an older one (ErrCodeFencedEpoch) or a newer one it
	// has not applied yet (ErrCodeUnknownEpoch).
	LeaderEpoch int32 `json:"leader_epoch"`
	// FetchOffset is the follower's log end offset: it has every record
	// below it, and wants batches from it on.
	FetchOffset int64 `json:"fetch_offset"`
	// AckedOffset is the follower's log end offset as it sent the request,
	// which the leader records as the follower's LEO (it moves the HW and
	// the ISR); -1 records nothing. It equals FetchOffset except on a
	// replication stream, where a pipelined fetch asks from past batches
	// the follower is still appending (their end comes in a later
	// TypePositions frame). The JSON route always takes FetchOffset.
	AckedOffset int64 `json:"acked_offset"`
	// HighWatermark is the HW the follower knows; the leader answers at
	// once when its own is higher, so followers learn commits promptly.
	HighWatermark int64 `json:"high_watermark"`
	// EpochQuery, when >= 0, asks where that epoch ends on the leader
	// (KIP-101/KIP-279) instead of fetching: the answer's EpochEnd.
	EpochQuery int32 `json:"epoch_query"`
}

// ReplicaFetchResponse answers a ReplicaFetchRequest, one entry per
// partition asked, in the same order.
type ReplicaFetchResponse struct {
	Partitions []ReplicaFetchResult `json:"partitions"`
}

// ReplicaFetchResult is the leader's answer for one partition.
type ReplicaFetchResult struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Error is "" or one of the ErrCode constants; Message explains it.
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
	// Batches are raw stored batches from FetchOffset on.
	Batches       [][]byte `json:"batches,omitempty"`
	HighWatermark int64    `json:"high_watermark"`
	LogStart      int64    `json:"log_start"`
	LogEnd        int64    `json:"log_end"`
	// EpochEnd answers an EpochQuery.
	EpochEnd *EpochEnd `json:"epoch_end,omitempty"`
}

// ReplicaPosition is a follower's log end offset on one partition under
// one leader epoch, reported on a replication stream after an append.
type ReplicaPosition struct {
	Topic       string
	Partition   int32
	LeaderEpoch int32
	Offset      int64
}

// Per-partition error codes of the fetch protocol.
const (
	// ErrCodeNotLeader: the answering broker does not lead the partition.
	ErrCodeNotLeader = "not_leader"
	// ErrCodeFencedEpoch: the follower's leader epoch is older than the
	// leader's; the follower waits for newer metadata.
	ErrCodeFencedEpoch = "fenced_leader_epoch"
	// ErrCodeUnknownEpoch: the follower's leader epoch is newer than the
	// leader's (its metadata is behind); the follower retries.
	ErrCodeUnknownEpoch = "unknown_leader_epoch"
	// ErrCodeOutOfRange: FetchOffset is outside [LogStart, LogEnd].
	ErrCodeOutOfRange = "offset_out_of_range"
	// ErrCodeUnknown: any other failure (unknown topic, storage error).
	ErrCodeUnknown = "error"
)

// ReplicaStream is one follower's replication stream to a leader
// (docs/replication.md): fetches and positions go out in order on one
// persistent connection, answers come back in request order. One
// goroutine uses it at a time, except Close, which may be called from any.
type ReplicaStream interface {
	// Fetch sends a fetch round without waiting for its answer.
	Fetch(req *ReplicaFetchRequest) error
	// Positions reports log end offsets reached since the last fetch.
	Positions(pos []ReplicaPosition) error
	// Recv returns the answer to the oldest fetch not answered yet,
	// waiting at most wait. Its batches alias a buffer that the next Recv
	// reuses.
	Recv(wait time.Duration) (*ReplicaFetchResponse, error)
	Close() error
}

// ReplicaStreamer opens replication streams; httpapi.Peer implements it
// over an upgraded connection to GET /internal/v1/replica-stream.
type ReplicaStreamer interface {
	OpenReplicaStream(ctx context.Context, leader *meta.Broker) (ReplicaStream, error)
}

// ReplicaClient carries fetch rounds to a leader; httpapi.Peer implements
// it over POST /internal/v1/replica-fetch.
type ReplicaClient interface {
	FetchReplica(ctx context.Context, leader *meta.Broker, req *ReplicaFetchRequest) (*ReplicaFetchResponse, error)
}
