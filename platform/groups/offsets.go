package groups

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/platform/meta"
)

// OffsetsTopic is the internal topic that stores committed offsets.
const OffsetsTopic = meta.ConsumerOffsetsTopic

// OffsetKey names one committed position: a group's place in one partition.
type OffsetKey struct {
	Group     string
	Topic     string
	Partition int32
}

// Committed is a committed position. Offset is the next offset the group
// will read (one past the last record processed); Metadata is free text from
// the client; Timestamp is the commit time in ms since the Unix epoch.
type Committed struct {
	Offset    int64
	Metadata  string
	Timestamp int64
}

// offsetsPartition is the partition of __consumer_offsets that holds every
// commit of group: Kafka's murmur2 of the group name, so a group's offsets
// (and, in a cluster, its coordinator) live in one place.
func offsetsPartition(group string, partitions int) int32 {
	return partitioner.HashPartition([]byte(group), partitions)
}

// Record layout in __consumer_offsets (integers big-endian):
//
//	key:   the group name (so the topic's hash partitioner puts every
//	       commit of a group on offsetsPartition(group))
//	value: version u8 (0) | kind u8 (0 commit, 1 tombstone) |
//	       topic len u16 | topic | partition i32 |
//	       commit only: offset i64 | timestamp i64 | metadata len u16 | metadata
//
// The position a record sets is keyed by (group, topic, partition); read-back
// keeps the last record per position, and a tombstone deletes it.
const offsetsFormatVersion = 0

const (
	kindCommit    = 0
	kindTombstone = 1
)

var errBadOffsetRecord = errors.New("malformed __consumer_offsets record")

// encodeOffsetRecord returns the key and value of a commit (c != nil) or a
// tombstone (c == nil) for k.
func encodeOffsetRecord(k OffsetKey, c *Committed) (key, value []byte) {
	v := make([]byte, 0, 2+2+len(k.Topic)+4+18)
	v = append(v, offsetsFormatVersion)
	if c == nil {
		v = append(v, kindTombstone)
	} else {
		v = append(v, kindCommit)
	}
	v = binary.BigEndian.AppendUint16(v, uint16(len(k.Topic)))
	v = append(v, k.Topic...)
	v = binary.BigEndian.AppendUint32(v, uint32(k.Partition))
	if c != nil {
		v = binary.BigEndian.AppendUint64(v, uint64(c.Offset))
		v = binary.BigEndian.AppendUint64(v, uint64(c.Timestamp))
		v = binary.BigEndian.AppendUint16(v, uint16(len(c.Metadata)))
		v = append(v, c.Metadata...)
	}
	return []byte(k.Group), v
}

// decodeOffsetRecord reverses encodeOffsetRecord; tombstone reports a
// deletion (c is then zero).
func decodeOffsetRecord(key, value []byte) (k OffsetKey, c Committed, tombstone bool, err error) {
	bad := func(what string) (OffsetKey, Committed, bool, error) {
		return OffsetKey{}, Committed{}, false, fmt.Errorf("%w: %s", errBadOffsetRecord, what)
	}
	if len(key) == 0 {
		return bad("empty key")
	}
	k.Group = string(key)
	b := value
	if len(b) < 4 || b[0] != offsetsFormatVersion || b[1] > kindTombstone {
		return bad("value header")
	}
	kind := b[1]
	n := int(binary.BigEndian.Uint16(b[2:]))
	b = b[4:]
	if len(b) < n+4 {
		return bad("topic")
	}
	k.Topic = string(b[:n])
	k.Partition = int32(binary.BigEndian.Uint32(b[n:]))
	b = b[n+4:]
	if kind == kindTombstone {
		if len(b) != 0 {
			return bad("tombstone length")
		}
		return k, Committed{}, true, nil
	}
	if len(b) < 18 {
		return bad("commit length")
	}
	c.Offset = int64(binary.BigEndian.Uint64(b))
	c.Timestamp = int64(binary.BigEndian.Uint64(b[8:]))
	m := int(binary.BigEndian.Uint16(b[16:]))
	if len(b) != 18+m {
		return bad("metadata length")
	}
	c.Metadata = string(b[18:])
	return k, c, false, nil
}

// maxMetadata bounds the client's commit metadata (it must fit a u16).
const maxMetadata = 4096
