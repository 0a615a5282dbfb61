package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
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
	// Partition, if set, sends every record to this partition instead of
	// the topic partitioner's choice (ErrUnknownPartition out of range).
	Partition *int32
	// Idempotent, if set, makes the request idempotent: the broker
	// writes each of its records at most once however often it is sent
	// with the same fields (docs/api.md). Producer sets it by default.
	Idempotent *Idempotent
}

// Idempotent names an idempotent producer's request: the producer's id
// (a random integer in [0, 2^63)), its epoch, and the sequence of the
// request's first record (record i has Sequence+i). A producer's
// sequences only grow: the next request starts past the last one's
// records.
type Idempotent struct {
	ProducerID int64
	Epoch      int16
	Sequence   int64
}

// NewProducerID returns a random producer id in [0, 2^63).
func NewProducerID() int64 { return rand.Int64() }

// Produce sends recs to topic in one request, using the binary record
// format, and returns one result per record in order. The topic's
// partitioner places the records. An error return means the request as a
// whole failed and nothing was written (unknown topic, a record too large,
// a partitioner failure, the server unreachable); per-record errors are in
// the results.
//
// Within the client's delivery timeout (WithDeliveryTimeout) the request
// is sent again, with backoff, after an error that guarantees nothing was
// written (not_leader, not_enough_replicas, not_controller, unavailable,
// a node that cannot be dialled). With opts.Idempotent it is also sent
// again after a timeout, a lost answer or a retriable per-record error:
// the broker answers records it already wrote with their original
// offsets.
func (c *Client) Produce(ctx context.Context, topic string, recs []Record, opts ProduceOptions) ([]ProduceResult, error) {
	return c.produce(ctx, topic, recs, opts, c.retry)
}

func (c *Client) produce(ctx context.Context, topic string, recs []Record, opts ProduceOptions, pol retryPolicy) ([]ProduceResult, error) {
	body := wire.AppendRecords(make([]byte, 0, recordsSize(recs)), recs)
	rt := pol.start()
	for {
		res, err := c.produceBody(ctx, topic, body, len(recs), opts)
		if !c.retryProduce(ctx, topic, opts.Idempotent != nil, res, err) || !rt.after(err).next(ctx) {
			if err != nil {
				return nil, fmt.Errorf("produce to %s: %w", topic, err)
			}
			return res, nil
		}
	}
}

// retryProduce reports whether a produce attempt's outcome calls for
// another: see Produce.
func (c *Client) retryProduce(ctx context.Context, topic string, idempotent bool, res []ProduceResult, err error) bool {
	if err != nil && c.justCreated(request{path: "/v1/topics/" + seg(topic) + "/records"}, err) {
		return true
	}
	if !idempotent {
		if err != nil {
			return nothingDone(err)
		}
		// Sending the request again cannot duplicate anything when every
		// record failed with unavailable (a forward to a leader that could
		// not be reached or does not know the topic yet): none was written.
		// Per-record not_leader and not_enough_replicas may follow an
		// append, so they are not retried without idempotence.
		return allUnavailable(res)
	}
	if err != nil {
		return retriableIdempotent(ctx, err)
	}
	for _, r := range res {
		if r.Err != nil && retriableIdempotent(ctx, r.Err) {
			return true
		}
	}
	return false
}

// allUnavailable reports whether res is not empty and every record in it
// failed with the code unavailable.
func allUnavailable(res []ProduceResult) bool {
	for _, r := range res {
		var ae *APIError
		if r.Err == nil || !errors.As(r.Err, &ae) || ae.Code != wire.CodeUnavailable {
			return false
		}
	}
	return len(res) > 0
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
	if opts.Partition != nil {
		q.Set(wire.ParamPartition, strconv.FormatInt(int64(*opts.Partition), 10))
	}
	if id := opts.Idempotent; id != nil {
		q.Set(wire.ParamProducerID, strconv.FormatInt(id.ProducerID, 10))
		q.Set(wire.ParamProducerEpoch, strconv.FormatInt(int64(id.Epoch), 10))
		q.Set(wire.ParamSequence, strconv.FormatInt(id.Sequence, 10))
	}
	serverWait := time.Duration(wire.DefaultProduceTimeoutMs) * time.Millisecond
	if opts.Timeout > 0 {
		serverWait = opts.Timeout
		q.Set(wire.ParamTimeoutMs, strconv.FormatInt(opts.Timeout.Milliseconds(), 10))
	}
	status, hdr, answer, err := c.doRedirect(ctx, request{
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
