package client

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
)

// Record is a record to produce, or one fetched (then Partition and Offset
// are set). Key == nil means no key.
type Record = wire.Record

// Header is a record header.
type Header = wire.Header

// Acks says when the server answers a produce request.
type Acks string

// Acks values.
const (
	// AcksNone: the server answers once the request is validated; results
	// carry partition and offset -1.
	AcksNone Acks = wire.AcksNone
	// AcksLeader: once the partition leader appended the records.
	AcksLeader Acks = wire.AcksLeader
	// AcksAll: once every in-sync replica has them (the default).
	AcksAll Acks = wire.AcksAll
)

// ParseAcks accepts "0", "1", "all" (and "-1", Kafka's spelling of all).
func ParseAcks(s string) (Acks, error) {
	switch s {
	case "0", "1", "all":
		return Acks(s), nil
	case "-1":
		return AcksAll, nil
	}
	return "", fmt.Errorf("acks %q: want 0, 1 or all", s)
}

// ProduceResult is where one record went, or why it failed.
type ProduceResult struct {
	Partition int32
	Offset    int64
	// Err is nil on success; otherwise an *APIError (or a transport error)
	// matching the named errors with errors.Is.
	Err error
}

// ProduceOptions tune one Produce call.
type ProduceOptions struct {
	// Acks defaults to AcksAll.
	Acks Acks
	// Timeout is how long acks=all may wait on the server (timeout_ms);
	// zero means the server's default (30 s).
	Timeout time.Duration
}

// Produce sends recs to topic in one request, using the binary record
// format, and returns one result per record in order. The topic's
// partitioner places the records. An error return means the request as a
// whole failed and nothing was written (unknown topic, a record too large,
// a partitioner failure, the server unreachable); per-record errors are in
// the results.
func (c *Client) Produce(ctx context.Context, topic string, recs []Record, opts ProduceOptions) ([]ProduceResult, error) {
	body := wire.AppendRecords(make([]byte, 0, recordsSize(recs)), recs)
	res, err := c.produceBody(ctx, topic, body, len(recs), opts)
	if err != nil {
		return nil, fmt.Errorf("produce to %s: %w", topic, err)
	}
	return res, nil
}

func recordsSize(recs []Record) int {
	n := 11
	for i := range recs {
		n += wire.RecordSize(&recs[i])
	}
	return n
}

func (c *Client) produceBody(ctx context.Context, topic string, body []byte, n int, opts ProduceOptions) ([]ProduceResult, error) {
	acks := opts.Acks
	if acks == "" {
		acks = AcksAll
	}
	q := url.Values{wire.ParamAcks: {string(acks)}}
	serverWait := time.Duration(wire.DefaultProduceTimeoutMs) * time.Millisecond
	if opts.Timeout > 0 {
		serverWait = opts.Timeout
		q.Set(wire.ParamTimeoutMs, strconv.FormatInt(opts.Timeout.Milliseconds(), 10))
	}
	status, hdr, answer, err := c.do(ctx, request{
		method: http.MethodPost,
		path:   "/v1/topics/" + seg(topic) + "/records",
		query:  q,
		body:   body,
		ctype:  wire.MediaTypeRecords,
		accept: wire.MediaTypeResults,
		// Outlast the server's own acks wait, so that its timeout error
		// (which says the records may still commit) is what the caller sees.
		extra: serverWait,
	})
	if err != nil {
		return nil, err
	}
	out := make([]ProduceResult, n)
	if acks == AcksNone || status == http.StatusAccepted {
		for i := range out {
			out[i] = ProduceResult{Partition: -1, Offset: -1}
		}
		return out, nil
	}
	var results []wire.ProduceResult
	mt, _, _ := mime.ParseMediaType(hdr.Get("Content-Type"))
	if mt == wire.MediaTypeResults {
		if results, err = wire.DecodeProduceResults(answer); err != nil {
			return nil, fmt.Errorf("decode answer: %w", err)
		}
	} else {
		var pr wire.ProduceResponse
		if err := json.Unmarshal(answer, &pr); err != nil {
			return nil, fmt.Errorf("decode answer: %w", err)
		}
		results = pr.Results
	}
	if len(results) != n {
		return nil, fmt.Errorf("server answered %d results for %d records", len(results), n)
	}
	for i, r := range results {
		if r.Error != nil {
			out[i] = ProduceResult{Partition: -1, Offset: -1, Err: fromWire(0, r.Error)}
			continue
		}
		out[i] = ProduceResult{Partition: r.Partition, Offset: r.Offset}
	}
	return out, nil
}
