package broker

import (
	"context"

	"github.com/sluicehq/sluice/record"
)

// Log is what the broker needs of one partition replica's log. The
// storage package's *storage.Log is adapted to it (storagelog.go); tests
// wrap it to inject faults.
type Log interface {
	// Append assigns offsets base..base+len(recs)-1, stamping leaderEpoch,
	// and returns base once the records are durable as the log's
	// durability says.
	Append(ctx context.Context, recs []record.Record, leaderEpoch int32) (base int64, err error)
	// ReadRecords appends to dst the records with offsets in
	// [from, maxOffset), up to about maxBytes (always at least one record
	// when any is there), and returns dst.
	ReadRecords(dst []record.Record, from int64, maxBytes int, maxOffset int64) ([]record.Record, error)
	// StartOffset is the first offset still in the log.
	StartOffset() int64
	// EndOffset is the offset the next append gets (the LEO).
	EndOffset() int64
	// HighWatermark is the last checkpointed high watermark.
	HighWatermark() int64
	// SetHighWatermark records a new high watermark.
	SetHighWatermark(off int64) error
	// OffsetForTimestamp is the first offset whose timestamp is >= ts, or
	// EndOffset when there is none.
	OffsetForTimestamp(ts int64) (int64, error)
	// Close flushes and closes the log.
	Close() error
}

// LogOptions are what the broker asks of a log when it opens one: the
// topic's configuration as it applies to storage.
type LogOptions struct {
	// Sync is true for durability "fsync", false for "replicated".
	Sync bool
	// MaxRecordBytes is the topic's max.message.bytes.
	MaxRecordBytes int
	// RetentionMs and RetentionBytes are the topic's retention.ms and
	// retention.bytes; <= 0 keeps everything. The broker's janitor
	// applies them in the background (storage logs only).
	RetentionMs, RetentionBytes int64
}

// storageOpts are the options a log is opened with: a retention change
// alone does not reopen the log.
func (o LogOptions) storageOpts() LogOptions {
	o.RetentionMs, o.RetentionBytes = 0, 0
	return o
}

// LogOpener opens (creating if needed) the log file at path.
type LogOpener func(path string, opts LogOptions) (Log, error)

// ReplicaLog is a Log that can replicate: what a follower and a leader
// need beyond Log. The storage log satisfies it; a Log that does not
// cannot be replicated (its partition refuses replica fetches).
type ReplicaLog interface {
	Log
	// AppendReplica appends batches copied byte for byte from the leader;
	// the first starts at EndOffset.
	AppendReplica(ctx context.Context, batches [][]byte) error
	// ReadBatches returns the stored batches from the one holding from
	// on, below maxOffset, up to about maxBytes (at least one).
	ReadBatches(from int64, maxBytes int, maxOffset int64) ([][]byte, error)
	// TruncateTo removes the batches at and past off.
	TruncateTo(off int64) error
	// TruncateFullyAndStartAt empties the log and restarts it at off.
	TruncateFullyAndStartAt(off int64) error
	// EndOffsetForEpoch is where epoch ends in this log (KIP-101).
	EndOffsetForEpoch(epoch int32) (int32, int64, error)
	// LatestEpoch is the epoch of the last batch, -1 when there is none.
	LatestEpoch() int32
}
