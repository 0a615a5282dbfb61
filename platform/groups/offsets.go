package groups

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/partitioner"
)

// OffsetsTopic is the internal topic that stores committed offsets.
const OffsetsTopic = "__consumer_offsets"

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

// Record layout in __consumer_offsets (all integers big-endian):
//
//	key:   version u8 (0) | group len u16 | group | topic len u16 | topic | partition i32
//	value: version u8 (0) | offset i64 | timestamp i64 | metadata len u16 | metadata
//
// An empty value is a tombstone: the group's position there was deleted.
// Read-back keeps the last record per key (compaction on read).
const offsetsFormatVersion = 0

var errBadOffsetRecord = errors.New("malformed __consumer_offsets record")

func encodeOffsetKey(k OffsetKey) []byte {
	b := make([]byte, 0, 1+2+len(k.Group)+2+len(k.Topic)+4)
	b = append(b, offsetsFormatVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(k.Group)))
	b = append(b, k.Group...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(k.Topic)))
	b = append(b, k.Topic...)
	return binary.BigEndian.AppendUint32(b, uint32(k.Partition))
}

func decodeOffsetKey(b []byte) (OffsetKey, error) {
	var k OffsetKey
	if len(b) < 1 || b[0] != offsetsFormatVersion {
		return k, fmt.Errorf("%w: key version", errBadOffsetRecord)
	}
	b = b[1:]
	str := func() (string, bool) {
		if len(b) < 2 {
			return "", false
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return "", false
		}
		s := string(b[2 : 2+n])
		b = b[2+n:]
		return s, true
	}
	var ok1, ok2 bool
	k.Group, ok1 = str()
	k.Topic, ok2 = str()
	if !ok1 || !ok2 || len(b) != 4 {
		return k, fmt.Errorf("%w: key layout", errBadOffsetRecord)
	}
	k.Partition = int32(binary.BigEndian.Uint32(b))
	return k, nil
}

func encodeCommitted(c Committed) []byte {
	b := make([]byte, 0, 1+8+8+2+len(c.Metadata))
	b = append(b, offsetsFormatVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Offset))
	b = binary.BigEndian.AppendUint64(b, uint64(c.Timestamp))
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.Metadata)))
	return append(b, c.Metadata...)
}

func decodeCommitted(b []byte) (Committed, error) {
	var c Committed
	if len(b) < 19 || b[0] != offsetsFormatVersion {
		return c, fmt.Errorf("%w: value layout", errBadOffsetRecord)
	}
	c.Offset = int64(binary.BigEndian.Uint64(b[1:]))
	c.Timestamp = int64(binary.BigEndian.Uint64(b[9:]))
	n := int(binary.BigEndian.Uint16(b[17:]))
	if len(b) != 19+n {
		return c, fmt.Errorf("%w: metadata length", errBadOffsetRecord)
	}
	c.Metadata = string(b[19:])
	return c, nil
}

// maxMetadata bounds the client's commit metadata (it must fit a u16).
const maxMetadata = 4096
