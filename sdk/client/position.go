package client

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
)

// Position is where a consumer starts in a partition: Earliest, Latest, an
// offset (AtOffset) or a time (AtTime). The zero Position is Earliest.
type Position struct {
	kind   posKind
	offset int64 // posOffset
	ms     int64 // posTime
}

type posKind uint8

const (
	posEarliest posKind = iota
	posLatest
	posOffset
	posTime
)

var (
	// Earliest is the first offset still in the log.
	Earliest = Position{kind: posEarliest}
	// Latest is the high watermark: only records produced from now on.
	Latest = Position{kind: posLatest}
)

// AtOffset starts at offset o.
func AtOffset(o int64) Position { return Position{kind: posOffset, offset: o} }

// AtTime starts at the first record whose timestamp is at or after t.
func AtTime(t time.Time) Position { return Position{kind: posTime, ms: t.UnixMilli()} }

// AtTimestamp starts at the first record whose timestamp (ms since the Unix
// epoch) is at or after ms.
func AtTimestamp(ms int64) Position { return Position{kind: posTime, ms: ms} }

// ParsePosition reads "earliest", "latest", an offset ("42"), or "@" and a
// time: milliseconds since the Unix epoch ("@1764085200000") or RFC 3339
// ("@2026-11-25T10:00:00Z").
func ParsePosition(s string) (Position, error) {
	switch s {
	case "earliest", "beginning", "":
		return Earliest, nil
	case "latest", "end":
		return Latest, nil
	}
	if t, ok := strings.CutPrefix(s, "@"); ok {
		if ms, err := strconv.ParseInt(t, 10, 64); err == nil {
			return AtTimestamp(ms), nil
		}
		tm, err := time.Parse(time.RFC3339Nano, t)
		if err != nil {
			return Position{}, fmt.Errorf("position %q: after @ give milliseconds since the epoch or an RFC 3339 time", s)
		}
		return AtTime(tm), nil
	}
	o, err := strconv.ParseInt(s, 10, 64)
	if err != nil || o < 0 {
		return Position{}, fmt.Errorf("position %q: want earliest, latest, an offset or @TIMESTAMP", s)
	}
	return AtOffset(o), nil
}

// String formats the position as ParsePosition reads it.
func (p Position) String() string {
	switch p.kind {
	case posLatest:
		return "latest"
	case posOffset:
		return strconv.FormatInt(p.offset, 10)
	case posTime:
		return "@" + strconv.FormatInt(p.ms, 10)
	}
	return "earliest"
}

// Resolve turns a position into an offset of one partition (an offset
// position resolves to itself without asking the server).
func (c *Client) Resolve(ctx context.Context, topic string, partition int32, p Position) (int64, error) {
	switch p.kind {
	case posOffset:
		return p.offset, nil
	case posLatest:
		return c.Offset(ctx, topic, partition, wire.AtLatest)
	case posTime:
		return c.Offset(ctx, topic, partition, strconv.FormatInt(p.ms, 10))
	}
	return c.Offset(ctx, topic, partition, wire.AtEarliest)
}
