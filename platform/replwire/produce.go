package replwire

import (
	"encoding/binary"
	"fmt"
)

// ProduceProtocol is the HTTP Upgrade token of a produce stream: the
// persistent connection a broker forwards produce requests on to the
// leader of their partition (docs/replication.md, "Forwarded produce").
// It carries the replication stream's framing with two frame types of
// its own, TypeProduce one way and TypeProduceResult the other, and
// TypeError from the leader when the stream ends.
const ProduceProtocol = "sluice-produce/1"

// Produce stream frame types.
const (
	// TypeProduce: forwarding broker to leader, a Produce.
	TypeProduce byte = 5
	// TypeProduceResult: leader to forwarding broker, the ProduceResult
	// of the Produce with the same ID. Results come in the order the
	// appends finish, not the order of the requests.
	TypeProduceResult byte = 6
)

// Produce is one forwarded produce request: records for one partition
// the receiving node leads, already partitioned by the forwarding node.
type Produce struct {
	// ID names the request within its stream; the result carries it.
	ID uint64
	// Topic and Partition are where the records go.
	Topic     string
	Partition int32
	// Acks is "0", "1" or "all" (broker.ParseAcks).
	Acks string
	// TimeoutMs bounds the leader's wait for acks=all (0: its default).
	TimeoutMs int64
	// Idempotent marks a share of an idempotent producer's request: the
	// producer, its epoch, the sequence of the share's first record and
	// of the last record of the whole request.
	Idempotent    bool
	ProducerID    int64
	ProducerEpoch int16
	BaseSequence  int64
	LastSequence  int64
	// Records is a binary produce body (sdk/wire's MediaTypeRecords
	// format), carried as it is.
	Records []byte
}

// ProduceResult answers one Produce: the base offset of its records, or
// the error the leader's API would have answered (its code, message and
// details, the last as the JSON of a wire.ErrorDetails; empty for none).
type ProduceResult struct {
	ID         uint64
	BaseOffset int64
	Code       string
	Message    string
	Details    []byte
}

// minProduce and minProduceResult bound what a body can claim.
const (
	minProduce       = 8 + 1 + 4 + 1 + 8 + 1 + 1
	minProduceResult = 8 + 8 + 1 + 1 + 1
)

// AppendProduce appends p as a TypeProduce frame to dst.
func AppendProduce(dst []byte, p *Produce) []byte {
	dst, at := begin(dst, TypeProduce)
	dst = append64(dst, int64(p.ID))
	dst = appendString(dst, p.Topic)
	dst = append32(dst, p.Partition)
	dst = appendString(dst, p.Acks)
	dst = append64(dst, p.TimeoutMs)
	if p.Idempotent {
		dst = append(dst, 1)
		dst = append64(dst, p.ProducerID)
		dst = binary.BigEndian.AppendUint16(dst, uint16(p.ProducerEpoch))
		dst = append64(dst, p.BaseSequence)
		dst = append64(dst, p.LastSequence)
	} else {
		dst = append(dst, 0)
	}
	dst = appendBytes(dst, p.Records)
	return end(dst, at)
}

// DecodeProduce decodes a TypeProduce body into p. Records aliases body.
func DecodeProduce(body []byte, p *Produce) error {
	d := dec{b: body}
	if len(body) < minProduce {
		d.fail("produce frame shorter than its fixed fields")
	}
	p.ID = uint64(d.i64("request id"))
	p.Topic = d.str("topic")
	p.Partition = d.i32("partition")
	p.Acks = d.str("acks")
	p.TimeoutMs = d.i64("timeout")
	if d.err == nil && p.TimeoutMs < 0 {
		d.fail("negative timeout")
	}
	switch d.u8("idempotent flag") {
	case 0:
		p.Idempotent, p.ProducerID, p.ProducerEpoch, p.BaseSequence, p.LastSequence = false, 0, 0, 0, 0
	case 1:
		p.Idempotent = true
		p.ProducerID = d.i64("producer id")
		if len(d.b) < 2 {
			d.fail("producer epoch")
		} else {
			p.ProducerEpoch = int16(binary.BigEndian.Uint16(d.b))
			d.b = d.b[2:]
		}
		p.BaseSequence = d.i64("base sequence")
		p.LastSequence = d.i64("last sequence")
	default:
		d.fail("idempotent flag")
	}
	p.Records = d.bytes("records")
	if err := d.done(); err != nil {
		return fmt.Errorf("produce frame: %w", err)
	}
	return nil
}

// AppendProduceResult appends r as a TypeProduceResult frame to dst.
func AppendProduceResult(dst []byte, r *ProduceResult) []byte {
	dst, at := begin(dst, TypeProduceResult)
	dst = append64(dst, int64(r.ID))
	dst = append64(dst, r.BaseOffset)
	dst = appendString(dst, r.Code)
	dst = appendString(dst, r.Message)
	dst = appendBytes(dst, r.Details)
	return end(dst, at)
}

// DecodeProduceResult decodes a TypeProduceResult body into r. Details
// aliases body.
func DecodeProduceResult(body []byte, r *ProduceResult) error {
	d := dec{b: body}
	if len(body) < minProduceResult {
		d.fail("produce result frame shorter than its fixed fields")
	}
	r.ID = uint64(d.i64("request id"))
	r.BaseOffset = d.i64("base offset")
	r.Code = d.str("code")
	r.Message = d.str("message")
	r.Details = d.bytes("details")
	if len(r.Details) == 0 {
		r.Details = nil
	}
	if err := d.done(); err != nil {
		return fmt.Errorf("produce result frame: %w", err)
	}
	return nil
}
