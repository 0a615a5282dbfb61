package storage

import "errors"

// Named errors callers act on. They are returned wrapped with detail; test
// them with errors.Is.
var (
	// ErrOffsetOutOfRange: a read or truncation below the log start offset
	// or past the log end offset.
	ErrOffsetOutOfRange = errors.New("offset out of range")
	// ErrCorrupt: bytes on disk (or bytes handed to DecodeBatch or
	// AppendReplica) fail their checks: CRC, length, framing, or the file's
	// own invariants.
	ErrCorrupt = errors.New("corrupt data")
	// ErrRecordTooLarge: a record's Size exceeds Options.MaxRecordBytes.
	ErrRecordTooLarge = errors.New("record too large")
	// ErrBatchTooLarge: an encoded batch exceeds Options.MaxBatchBytes.
	ErrBatchTooLarge = errors.New("batch too large")
	// ErrNonContiguous: a replicated batch does not start at the log end
	// offset (or the batches handed over do not follow each other).
	ErrNonContiguous = errors.New("batch not contiguous with log end")
	// ErrStaleEpoch: a batch carries a leader epoch lower than the latest
	// epoch already in the log; the epoch cache only moves forward (truncate
	// first, as KIP-101 prescribes).
	ErrStaleEpoch = errors.New("leader epoch older than the log's latest epoch")
	// ErrClosed: the log has been closed.
	ErrClosed = errors.New("log closed")
)
