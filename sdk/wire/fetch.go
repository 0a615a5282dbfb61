package wire

import "fmt"

// Fetch query parameters (GET /v1/topics/{t}/partitions/{p}/records).
const (
	ParamOffset    = "offset"      // first offset wanted; required
	ParamMaxBytes  = "max_bytes"   // default DefaultFetchMaxBytes
	ParamMaxWaitMs = "max_wait_ms" // long-poll bound; default 0, max MaxFetchWaitMs
	ParamProcessor = "processor"   // "NAME" or "NAME@N"
	ParamFormat    = "format"      // "json" (default) | "binary"
	ParamEncoding  = "encoding"    // JSON only: "base64" forces base64 for all bytes
	// ParamPrefix starts a plugin parameter: param.k=v passes k=v.
	ParamPrefix = "param."
)

// Offsets query parameter (GET /v1/topics/{t}/partitions/{p}/offsets).
const ParamAt = "at" // "earliest" | "latest" | a timestamp in ms

// Fetch limits.
const (
	// DefaultFetchMaxBytes is max_bytes when absent (1 MiB). The server
	// always returns at least one whole batch, even a larger one, so a fetch
	// makes progress.
	DefaultFetchMaxBytes = 1 << 20
	// MaxFetchWaitMs caps max_wait_ms.
	MaxFetchWaitMs = 30000
)

// Formats for the "format" parameter.
const (
	FormatJSON   = "json"
	FormatBinary = "binary"
)

// Offset positions for the "at" parameter of the offsets endpoint.
const (
	AtEarliest = "earliest"
	AtLatest   = "latest"
)

// FetchResponse is the JSON answer of a fetch. Records are in offset order
// and all below HighWatermark. NextOffset is the offset to ask for next: one
// past the last source record examined, which moves even when a processor
// dropped every record; it equals the requested offset when nothing was
// there before max_wait_ms ran out.
//
// With a processor, Offset of each output record is the offset of the input
// record it came from; several outputs may share one offset (flat-map).
type FetchResponse struct {
	Partition     int32         `json:"partition"`
	Records       []FetchRecord `json:"records"`
	NextOffset    int64         `json:"next_offset"`
	HighWatermark int64         `json:"high_watermark"`
	LogStart      int64         `json:"log_start"`
	LogEnd        int64         `json:"log_end"`
}

// FetchRecord is a record in a JSON fetch answer. KeyEncoding and
// ValueEncoding are omitted for text and "base64" otherwise; Key is absent
// when the record has no key.
type FetchRecord struct {
	Partition     int32        `json:"partition"`
	Offset        int64        `json:"offset"`
	Timestamp     int64        `json:"timestamp"`
	Key           *string      `json:"key,omitempty"`
	KeyEncoding   string       `json:"key_encoding,omitempty"`
	Value         string       `json:"value"`
	ValueEncoding string       `json:"value_encoding,omitempty"`
	Headers       []JSONHeader `json:"headers,omitempty"`
}

// FetchBatch is a fetch answer with raw records: what AppendFetchBatch
// writes and DecodeFetchBatch reads, and what JSON converts to.
type FetchBatch struct {
	Partition     int32
	NextOffset    int64
	HighWatermark int64
	LogStart      int64
	LogEnd        int64
	Records       []Record
}

// JSON converts the batch to its JSON answer. forceBase64 encodes every
// byte string as base64 (the encoding=base64 parameter).
func (b *FetchBatch) JSON(forceBase64 bool) FetchResponse {
	out := FetchResponse{
		Partition:     b.Partition,
		Records:       make([]FetchRecord, len(b.Records)),
		NextOffset:    b.NextOffset,
		HighWatermark: b.HighWatermark,
		LogStart:      b.LogStart,
		LogEnd:        b.LogEnd,
	}
	for i := range b.Records {
		out.Records[i] = NewFetchRecord(b.Records[i], forceBase64)
	}
	return out
}

// NewFetchRecord encodes one raw record for a JSON answer.
func NewFetchRecord(r Record, forceBase64 bool) FetchRecord {
	f := FetchRecord{
		Partition: r.Partition,
		Offset:    r.Offset,
		Timestamp: r.Timestamp,
		Headers:   encodeHeaders(r.Headers, forceBase64),
	}
	if r.Key != nil {
		k, enc := EncodeBytes(r.Key, forceBase64)
		f.Key = &k
		if enc != EncodingText {
			f.KeyEncoding = enc
		}
	}
	v, enc := EncodeBytes(r.Value, forceBase64)
	f.Value = v
	if enc != EncodingText {
		f.ValueEncoding = enc
	}
	return f
}

// Decode turns a JSON fetch record back into a raw one.
func (f *FetchRecord) Decode() (Record, error) {
	r := Record{Partition: f.Partition, Offset: f.Offset, Timestamp: f.Timestamp}
	if f.Key != nil {
		k, err := DecodeBytes(*f.Key, f.KeyEncoding)
		if err != nil {
			return r, fmt.Errorf("record %d key: %w", f.Offset, err)
		}
		r.Key = k
	}
	v, err := DecodeBytes(f.Value, f.ValueEncoding)
	if err != nil {
		return r, fmt.Errorf("record %d value: %w", f.Offset, err)
	}
	r.Value = v
	if r.Headers, err = decodeHeaders(f.Headers); err != nil {
		return r, fmt.Errorf("record %d: %w", f.Offset, err)
	}
	return r, nil
}

// Batch converts a JSON fetch answer into raw records.
func (f *FetchResponse) Batch() (*FetchBatch, error) {
	b := &FetchBatch{
		Partition:     f.Partition,
		NextOffset:    f.NextOffset,
		HighWatermark: f.HighWatermark,
		LogStart:      f.LogStart,
		LogEnd:        f.LogEnd,
		Records:       make([]Record, len(f.Records)),
	}
	for i := range f.Records {
		r, err := f.Records[i].Decode()
		if err != nil {
			return nil, err
		}
		b.Records[i] = r
	}
	return b, nil
}

// OffsetResponse is the answer of GET .../partitions/{p}/offsets?at=...:
// the first offset whose timestamp is >= the given time (the log end when
// none is), the log start for "earliest", the high watermark for "latest".
type OffsetResponse struct {
	Partition int32  `json:"partition"`
	At        string `json:"at"`
	Offset    int64  `json:"offset"`
}
