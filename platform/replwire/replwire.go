// Package replwire is the binary frame codec of the streaming replication
// protocol (docs/replication.md, "The replication stream"): every frame a
// follower and its leader exchange on a replication stream is defined,
// encoded and decoded here, and nowhere else.
//
// A frame is
//
//	uint32 length (big endian) of what follows: 1 + len(body)
//	uint8  type (TypeFetch, TypeResponse, TypePositions, TypeError)
//	body
//
// Integers in bodies are big endian, fixed width; a string or a byte
// slice is a uvarint length followed by its bytes. Record batches travel
// as the leader's log stores them (storage's Batch.Raw): copied into the
// frame as they are, and handed to storage AppendReplica as slices of the
// received frame, never re-encoded. Frames are bounded by MaxFrame; a
// decoder never allocates more than the body it is given can describe.
package replwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/sluicehq/sluice/platform/broker"
)

// Protocol is the HTTP Upgrade token of a replication stream.
const Protocol = "sluice-replication/1"

// MaxFrame bounds a frame's length field (body and type byte). A leader
// answers at most the follower's MaxBytes of batches (1 MiB by default),
// plus at least one batch per partition however large: 64 MiB leaves room
// for the largest batches storage accepts.
const MaxFrame = 64 << 20

// Frame types.
const (
	// TypeFetch: follower to leader, a broker.ReplicaFetchRequest.
	TypeFetch byte = 1
	// TypeResponse: leader to follower, the broker.ReplicaFetchResponse
	// of the oldest fetch not answered yet (answers come in request order).
	TypeResponse byte = 2
	// TypePositions: follower to leader, log end offsets the follower has
	// reached since its last fetch (broker.ReplicaPosition); never answered.
	TypePositions byte = 3
	// TypeError: leader to follower, the stream ends for the reason given
	// (a UTF-8 message); the leader closes the connection after it.
	TypeError byte = 4
)

// ErrFrame is wrapped by every decoding failure: a frame that is
// truncated, too long, of an unknown type or with fields that do not fit.
var ErrFrame = errors.New("malformed replication frame")

// frameHeader is the length field and the type byte.
const frameHeader = 5

// begin starts a frame of type t at the end of dst; end fills its length.
func begin(dst []byte, t byte) ([]byte, int) {
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0, t)
	return dst, at
}

func end(dst []byte, at int) []byte {
	binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst []byte, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func append32(dst []byte, v int32) []byte { return binary.BigEndian.AppendUint32(dst, uint32(v)) }
func append64(dst []byte, v int64) []byte { return binary.BigEndian.AppendUint64(dst, uint64(v)) }

// AppendFetch appends req as a TypeFetch frame to dst.
func AppendFetch(dst []byte, req *broker.ReplicaFetchRequest) []byte {
	dst, at := begin(dst, TypeFetch)
	dst = append32(dst, req.ReplicaID)
	dst = append64(dst, req.MaxWaitMs)
	dst = append64(dst, int64(req.MaxBytes))
	dst = binary.AppendUvarint(dst, uint64(len(req.Partitions)))
	for i := range req.Partitions {
		p := &req.Partitions[i]
		dst = appendString(dst, p.Topic)
		dst = append32(dst, p.Partition)
		dst = append32(dst, p.LeaderEpoch)
		dst = append64(dst, p.FetchOffset)
		dst = append64(dst, p.AckedOffset)
		dst = append64(dst, p.HighWatermark)
		dst = append32(dst, p.EpochQuery)
	}
	return end(dst, at)
}

// AppendResponse appends resp as a TypeResponse frame to dst; its batches
// are copied in as they are.
func AppendResponse(dst []byte, resp *broker.ReplicaFetchResponse) []byte {
	dst, at := begin(dst, TypeResponse)
	dst = binary.AppendUvarint(dst, uint64(len(resp.Partitions)))
	for i := range resp.Partitions {
		r := &resp.Partitions[i]
		dst = appendString(dst, r.Topic)
		dst = append32(dst, r.Partition)
		dst = appendString(dst, r.Error)
		dst = appendString(dst, r.Message)
		dst = append64(dst, r.HighWatermark)
		dst = append64(dst, r.LogStart)
		dst = append64(dst, r.LogEnd)
		if r.EpochEnd != nil {
			dst = append(dst, 1)
			dst = append32(dst, r.EpochEnd.Epoch)
			dst = append64(dst, r.EpochEnd.EndOffset)
		} else {
			dst = append(dst, 0)
		}
		dst = binary.AppendUvarint(dst, uint64(len(r.Batches)))
		for _, b := range r.Batches {
			dst = appendBytes(dst, b)
		}
	}
	return end(dst, at)
}

// AppendPositions appends a TypePositions frame of replica's positions.
func AppendPositions(dst []byte, replica int32, pos []broker.ReplicaPosition) []byte {
	dst, at := begin(dst, TypePositions)
	dst = append32(dst, replica)
	dst = binary.AppendUvarint(dst, uint64(len(pos)))
	for i := range pos {
		p := &pos[i]
		dst = appendString(dst, p.Topic)
		dst = append32(dst, p.Partition)
		dst = append32(dst, p.LeaderEpoch)
		dst = append64(dst, p.Offset)
	}
	return end(dst, at)
}

// AppendError appends a TypeError frame carrying msg.
func AppendError(dst []byte, msg string) []byte {
	dst, at := begin(dst, TypeError)
	dst = append(dst, msg...)
	return end(dst, at)
}

// ReadFrame reads one frame from r into buf (grown when too small) and
// returns its type and body, which alias the returned buffer: they stay
// valid until buf is used again.
func ReadFrame(r io.Reader, buf []byte) (typ byte, body, out []byte, err error) {
	var h [frameHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, buf, err
	}
	n := binary.BigEndian.Uint32(h[:4])
	if n < 1 || n > MaxFrame {
		return 0, nil, buf, fmt.Errorf("%w: frame length %d", ErrFrame, n)
	}
	size := int(n) - 1
	if cap(buf) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, buf, fmt.Errorf("%w: frame body: %w", ErrFrame, noEOF(err))
	}
	return h[4], buf, buf, nil
}

// SplitFrame splits one whole frame (length field included) into its type
// and body; the frame must be exactly one frame long.
func SplitFrame(frame []byte) (typ byte, body []byte, err error) {
	if len(frame) < frameHeader {
		return 0, nil, fmt.Errorf("%w: %d bytes", ErrFrame, len(frame))
	}
	n := binary.BigEndian.Uint32(frame)
	if n < 1 || n > MaxFrame || int(n) != len(frame)-4 {
		return 0, nil, fmt.Errorf("%w: frame length %d for %d bytes", ErrFrame, n, len(frame)-4)
	}
	return frame[4], frame[frameHeader:], nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// dec reads a body; the first failure sticks and later reads yield zero.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrFrame, what)
	}
	d.b = nil
}

func (d *dec) i32(what string) int32 {
	if len(d.b) < 4 {
		d.fail(what)
		return 0
	}
	v := int32(binary.BigEndian.Uint32(d.b))
	d.b = d.b[4:]
	return v
}

func (d *dec) i64(what string) int64 {
	if len(d.b) < 8 {
		d.fail(what)
		return 0
	}
	v := int64(binary.BigEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *dec) u8(what string) byte {
	if len(d.b) < 1 {
		d.fail(what)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// count reads a uvarint count of items of at least minSize bytes each,
// refusing one the rest of the body cannot hold.
func (d *dec) count(what string, minSize int) int {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > uint64(len(d.b)-n)/uint64(minSize) {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

// bytes reads a length-prefixed byte slice that aliases the body.
func (d *dec) bytes(what string) []byte {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > uint64(len(d.b)-n) {
		d.fail(what)
		return nil
	}
	out := d.b[n : n+int(v) : n+int(v)]
	d.b = d.b[n+int(v):]
	return out
}

func (d *dec) str(what string) string { return string(d.bytes(what)) }

func (d *dec) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d bytes after the last field", ErrFrame, len(d.b))
	}
	return d.err
}

// Minimum encoded sizes, which bound the counts a body may claim.
const (
	minFetchPartition  = 1 + 4 + 4 + 8 + 8 + 8 + 4
	minResultPartition = 1 + 4 + 1 + 1 + 8 + 8 + 8 + 1 + 1
	minPosition        = 1 + 4 + 4 + 8
	minBatch           = 1
)

// DecodeFetch decodes a TypeFetch body into req.
func DecodeFetch(body []byte, req *broker.ReplicaFetchRequest) error {
	d := dec{b: body}
	req.ReplicaID = d.i32("replica id")
	req.MaxWaitMs = d.i64("max wait")
	maxBytes := d.i64("max bytes")
	if maxBytes < 0 || maxBytes > MaxFrame {
		d.fail("max bytes out of range")
	}
	req.MaxBytes = int(maxBytes)
	n := d.count("partition count", minFetchPartition)
	req.Partitions = make([]broker.ReplicaFetchPartition, n)
	for i := range req.Partitions {
		p := &req.Partitions[i]
		p.Topic = d.str("topic")
		p.Partition = d.i32("partition")
		p.LeaderEpoch = d.i32("leader epoch")
		p.FetchOffset = d.i64("fetch offset")
		p.AckedOffset = d.i64("acked offset")
		p.HighWatermark = d.i64("high watermark")
		p.EpochQuery = d.i32("epoch query")
	}
	if err := d.done(); err != nil {
		return fmt.Errorf("fetch frame: %w", err)
	}
	return nil
}

// DecodeResponse decodes a TypeResponse body into resp. The batches alias
// body; nothing is copied.
func DecodeResponse(body []byte, resp *broker.ReplicaFetchResponse) error {
	d := dec{b: body}
	n := d.count("partition count", minResultPartition)
	resp.Partitions = make([]broker.ReplicaFetchResult, n)
	for i := range resp.Partitions {
		r := &resp.Partitions[i]
		r.Topic = d.str("topic")
		r.Partition = d.i32("partition")
		r.Error = d.str("error")
		r.Message = d.str("message")
		r.HighWatermark = d.i64("high watermark")
		r.LogStart = d.i64("log start")
		r.LogEnd = d.i64("log end")
		switch d.u8("epoch end flag") {
		case 0:
		case 1:
			r.EpochEnd = &broker.EpochEnd{Epoch: d.i32("epoch end epoch"), EndOffset: d.i64("epoch end offset")}
		default:
			d.fail("epoch end flag")
		}
		nb := d.count("batch count", minBatch)
		if nb > 0 {
			r.Batches = make([][]byte, nb)
			for j := range r.Batches {
				r.Batches[j] = d.bytes("batch")
			}
		}
	}
	if err := d.done(); err != nil {
		return fmt.Errorf("response frame: %w", err)
	}
	return nil
}

// DecodePositions decodes a TypePositions body.
func DecodePositions(body []byte) (replica int32, pos []broker.ReplicaPosition, err error) {
	d := dec{b: body}
	replica = d.i32("replica id")
	n := d.count("position count", minPosition)
	pos = make([]broker.ReplicaPosition, n)
	for i := range pos {
		p := &pos[i]
		p.Topic = d.str("topic")
		p.Partition = d.i32("partition")
		p.LeaderEpoch = d.i32("leader epoch")
		p.Offset = d.i64("offset")
	}
	if err := d.done(); err != nil {
		return 0, nil, fmt.Errorf("positions frame: %w", err)
	}
	return replica, pos, nil
}
