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

// FetchOptions tune a fetch. Zero values take the server's defaults.
type FetchOptions struct {
	// MaxBytes is a soft bound on the answer (default 1 MiB; at least one
	// batch is always returned).
	MaxBytes int
	// MaxWait is how long the server waits for records when there are none
	// past the offset (long-poll); zero answers at once. Max 30 s.
	MaxWait time.Duration
	// Processor ("NAME" or "NAME@N") runs a processor plugin on the broker
	// over the records; Params are its parameters.
	Processor string
	Params    map[string]string
}

func (o *FetchOptions) query(offset int64) url.Values {
	q := url.Values{
		wire.ParamOffset: {strconv.FormatInt(offset, 10)},
		wire.ParamFormat: {wire.FormatBinary},
	}
	if o.MaxBytes > 0 {
		q.Set(wire.ParamMaxBytes, strconv.Itoa(o.MaxBytes))
	}
	if o.MaxWait > 0 {
		q.Set(wire.ParamMaxWaitMs, strconv.FormatInt(o.MaxWait.Milliseconds(), 10))
	}
	if o.Processor != "" {
		q.Set(wire.ParamProcessor, o.Processor)
		for k, v := range o.Params {
			q.Set(wire.ParamPrefix+k, v)
		}
	}
	return q
}

// Fetch reads records of one partition from offset, in the binary format.
// Records are below the high watermark and in offset order; NextOffset is
// where to continue. When the node does not lead the partition and names
// the leader, Fetch asks the leader once. Fails with ErrOffsetOutOfRange
// (the *APIError's Details carry the log bounds), ErrUnknownTopic,
// ErrUnknownPartition, ErrUnknownPlugin, ErrPluginFailed.
func (c *Client) Fetch(ctx context.Context, topic string, partition int32, offset int64, opts FetchOptions) (*wire.FetchBatch, error) {
	r := request{
		method: http.MethodGet,
		path:   "/v1/topics/" + seg(topic) + "/partitions/" + strconv.FormatInt(int64(partition), 10) + "/records",
		query:  opts.query(offset),
		accept: fetchAccept,
		extra:  opts.MaxWait,
	}
	_, hdr, body, err := c.do(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("fetch %s/%d at %d: %w", topic, partition, offset, err)
	}
	fb, err := decodeFetch(hdr.Get("Content-Type"), body)
	if err != nil {
		return nil, fmt.Errorf("fetch %s/%d at %d: %w", topic, partition, offset, err)
	}
	return fb, nil
}

// fetchAccept asks for stored batches (decoded here, records aliasing the
// answer) and takes binary records (a fetch through a processor, or a
// server that does not send batches).
const fetchAccept = wire.MediaTypeBatches + ", " + wire.MediaTypeRecords

// decodeFetch reads a stored-batches or binary-records answer, or a JSON
// one from a server that preferred JSON, as its Content-Type says.
func decodeFetch(ctype string, body []byte) (*wire.FetchBatch, error) {
	mt, _, _ := mime.ParseMediaType(ctype)
	if mt == wire.MediaTypeBatches {
		return wire.DecodeFetchBatches(body)
	}
	if mt == wire.MediaTypeJSON {
		var fr wire.FetchResponse
		if err := json.Unmarshal(body, &fr); err != nil {
			return nil, fmt.Errorf("decode answer: %w", err)
		}
		return fr.Batch()
	}
	return wire.DecodeFetchBatch(body)
}
