package storage

import (
	"fmt"
	"log/slog"
	"time"
)

// Durability says when a commit is acknowledged.
type Durability int

const (
	// DurabilityFsync syncs every commit to disk before Append returns. It is
	// the zero value and the default.
	DurabilityFsync Durability = iota
	// DurabilityReplicated never syncs; safety comes from replication. A file
	// that was not closed cleanly is fully verified on Open, and one that
	// fails is reported as ErrCorrupt so the replica can be rebuilt.
	DurabilityReplicated
)

// String returns the topic-configuration spelling: "fsync" or "replicated".
func (d Durability) String() string {
	switch d {
	case DurabilityFsync:
		return "fsync"
	case DurabilityReplicated:
		return "replicated"
	default:
		return fmt.Sprintf("Durability(%d)", int(d))
	}
}

// ParseDurability maps "fsync" or "replicated" to a Durability.
func ParseDurability(s string) (Durability, error) {
	switch s {
	case "fsync", "":
		return DurabilityFsync, nil
	case "replicated":
		return DurabilityReplicated, nil
	default:
		return 0, fmt.Errorf("unknown durability %q (want fsync or replicated)", s)
	}
}

// Defaults for Options fields left at their zero value.
const (
	DefaultMaxRecordBytes = 1 << 20 // 1 MiB
	DefaultMaxBatchBytes  = 8 << 20 // 8 MiB
)

// Options configure a Log. The zero value is usable: fsync durability,
// default limits, the wall clock and slog.Default().
type Options struct {
	// Durability of commits; default DurabilityFsync.
	Durability Durability
	// MaxRecordBytes limits record.Size() of each record given to Append;
	// default DefaultMaxRecordBytes. Larger records fail with
	// ErrRecordTooLarge and nothing is written.
	MaxRecordBytes int
	// MaxBatchBytes limits the encoded size of a batch given to Append;
	// default DefaultMaxBatchBytes. Larger batches fail with
	// ErrBatchTooLarge and nothing is written.
	MaxBatchBytes int
	// Now is the clock used to stamp records appended with Timestamp 0;
	// default time.Now.
	Now func() time.Time
	// Logger receives the log's diagnostics; default slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.Durability != DurabilityFsync && o.Durability != DurabilityReplicated {
		return o, fmt.Errorf("invalid durability %d", int(o.Durability))
	}
	if o.MaxRecordBytes < 0 || o.MaxBatchBytes < 0 {
		return o, fmt.Errorf("negative size limit (record %d, batch %d)", o.MaxRecordBytes, o.MaxBatchBytes)
	}
	if o.MaxRecordBytes == 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if o.MaxBatchBytes == 0 {
		o.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}
