package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Acks values for the produce "acks" query parameter.
const (
	// AcksNone ("0"): the server answers 202 as soon as the request is
	// validated; the answer has no results.
	AcksNone = "0"
	// AcksLeader ("1"): answered once the leader has appended the records.
	AcksLeader = "1"
	// AcksAll ("all", the default): answered once the high watermark has
	// passed the records, i.e. every in-sync replica has them.
	AcksAll = "all"
)

// Produce query parameters and their defaults.
const (
	ParamAcks      = "acks"       // "0" | "1" | "all"; default "all"
	ParamTimeoutMs = "timeout_ms" // how long acks=all may wait; default 30000
	// ParamPartition sends every record of the request to this partition
	// instead of the topic's partitioner's choice.
	ParamPartition = "partition"
	// DefaultProduceTimeoutMs is timeout_ms when absent.
	DefaultProduceTimeoutMs = 30000

	// The idempotent producer's parameters (all three or none): the
	// producer's id (a random integer in [0, 2^63)), its epoch
	// ([0, 32767]) and the sequence of the request's first record
	// (>= 0; record i has sequence+i). See docs/api.md.
	ParamProducerID    = "producer_id"
	ParamProducerEpoch = "producer_epoch"
	ParamSequence      = "sequence"
)

// ProduceRequest is the JSON body of POST /v1/topics/{topic}/records.
type ProduceRequest struct {
	Records []ProduceRecord `json:"records"`
}

// ProduceRecord is one record in a JSON produce request. Key absent or null
// means no key. Encoding sets both key and value encodings; KeyEncoding and
// ValueEncoding override it. Every encoding defaults to text.
type ProduceRecord struct {
	Key           *string      `json:"key,omitempty"`
	Value         string       `json:"value"`
	Encoding      string       `json:"encoding,omitempty"`
	KeyEncoding   string       `json:"key_encoding,omitempty"`
	ValueEncoding string       `json:"value_encoding,omitempty"`
	Headers       []JSONHeader `json:"headers,omitempty"`
	// Timestamp in ms; 0 or absent: the broker stamps the append time.
	Timestamp int64 `json:"timestamp,omitempty"`
}

// Decode turns the JSON record into a raw one.
func (p *ProduceRecord) Decode() (Record, error) {
	var r Record
	keyEnc, valEnc := p.Encoding, p.Encoding
	if p.KeyEncoding != "" {
		keyEnc = p.KeyEncoding
	}
	if p.ValueEncoding != "" {
		valEnc = p.ValueEncoding
	}
	if p.Key != nil {
		k, err := DecodeBytes(*p.Key, keyEnc)
		if err != nil {
			return r, fmt.Errorf("key: %w", err)
		}
		r.Key = k
	}
	v, err := DecodeBytes(p.Value, valEnc)
	if err != nil {
		return r, fmt.Errorf("value: %w", err)
	}
	r.Value = v
	if r.Headers, err = decodeHeaders(p.Headers); err != nil {
		return r, err
	}
	r.Timestamp = p.Timestamp
	return r, nil
}

// NewProduceRecord encodes a raw record for a JSON produce request: text
// where the bytes are UTF-8, base64 otherwise.
func NewProduceRecord(r Record) ProduceRecord {
	p := ProduceRecord{Timestamp: r.Timestamp, Headers: encodeHeaders(r.Headers, false)}
	if r.Key != nil {
		k, enc := EncodeBytes(r.Key, false)
		p.Key = &k
		if enc != EncodingText {
			p.KeyEncoding = enc
		}
	}
	v, enc := EncodeBytes(r.Value, false)
	p.Value = v
	if enc != EncodingText {
		p.ValueEncoding = enc
	}
	return p
}

// ProduceResponse is the answer to a produce request (JSON, or binary via
// AppendProduceResults): one result per request record, in request order.
// A request that fails as a whole (unknown topic, bad body, a record too
// large, a partitioner failure) gets an ErrorResponse instead and nothing is
// written. Per-record errors only report partition-level failures
// (not_leader, not_enough_replicas, timeout) that hit some partitions.
type ProduceResponse struct {
	Results []ProduceResult `json:"results"`
}

// ProduceResult is where one record went, or why it failed. In JSON it is
// either {"partition":P,"offset":O} or {"error":{...}}.
type ProduceResult struct {
	Partition int32
	Offset    int64
	Error     *Error
}

type produceResultOK struct {
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
}

type produceResultErr struct {
	Error *Error `json:"error"`
}

// MarshalJSON writes either the success or the error form.
func (r ProduceResult) MarshalJSON() ([]byte, error) {
	if r.Error != nil {
		return json.Marshal(produceResultErr{Error: r.Error})
	}
	return json.Marshal(produceResultOK{Partition: r.Partition, Offset: r.Offset})
}

// UnmarshalJSON reads either form.
func (r *ProduceResult) UnmarshalJSON(b []byte) error {
	var v struct {
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
		Error     *Error `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&v); err != nil {
		return err
	}
	*r = ProduceResult{Partition: v.Partition, Offset: v.Offset, Error: v.Error}
	return nil
}
