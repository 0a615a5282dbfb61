// Package storage is the partition log: one *Log per partition replica, each
// in its own bbolt file.
//
// Records are stored as immutable batches keyed by their base offset. Every
// batch carries a CRC-32C that is checked on every read, so a corrupt batch
// is reported as ErrCorrupt and never returned as data. Side state (log start
// offset, log end offset, high-watermark checkpoint, the leader-epoch cache
// and a time index) lives in the same file and changes in the same bbolt
// transaction as the batches it describes.
//
// Appends are group-committed: a per-log committer goroutine drains all
// queued appends into one write transaction. Durability is per log: with
// DurabilityFsync (the default) a commit is synced before Append returns;
// with DurabilityReplicated nothing is synced and safety comes from
// replication.
//
// The file format and the invariants are described in docs/storage.md.
package storage
