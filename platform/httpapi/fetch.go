package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

var fetchRecordsPool = sync.Pool{New: func() any { s := make([]record.Record, 0, 256); return &s }}

// partitionParam parses the {partition} path segment.
func partitionParam(r *http.Request) (int32, error) {
	v := r.PathValue("partition")
	p, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, badRequest("partition %q: want an integer", v)
	}
	if p < 0 {
		return 0, wire.Errorf(wire.CodeUnknownPartition, "partition %d does not exist", p)
	}
	return int32(p), nil
}

func (s *Server) fetch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	topic := r.PathValue("topic")
	partition, err := partitionParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	req := broker.FetchRequest{Topic: topic, Partition: partition, MaxBytes: wire.DefaultFetchMaxBytes}
	v := q.Get(wire.ParamOffset)
	if v == "" {
		s.writeError(w, r, badRequest("%s is required (use the offsets endpoint to resolve earliest, latest or a time)", wire.ParamOffset))
		return
	}
	if req.Offset, err = strconv.ParseInt(v, 10, 64); err != nil {
		s.writeError(w, r, badRequest("%s=%q: want an integer", wire.ParamOffset, v))
		return
	}
	if v := q.Get(wire.ParamMaxBytes); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.writeError(w, r, badRequest("%s=%q: want a positive integer", wire.ParamMaxBytes, v))
			return
		}
		req.MaxBytes = n
	}
	if v := q.Get(wire.ParamMaxWaitMs); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			s.writeError(w, r, badRequest("%s=%q: want milliseconds >= 0", wire.ParamMaxWaitMs, v))
			return
		}
		req.MaxWait = time.Duration(min(ms, wire.MaxFetchWaitMs)) * time.Millisecond
	}
	format := q.Get(wire.ParamFormat)
	if format == "" && mediaType(r.Header.Get("Accept")) == wire.MediaTypeRecords {
		format = wire.FormatBinary
	}
	if format != "" && format != wire.FormatJSON && format != wire.FormatBinary {
		s.writeError(w, r, badRequest("%s=%q: want json or binary", wire.ParamFormat, format))
		return
	}
	forceBase64 := false
	switch enc := q.Get(wire.ParamEncoding); enc {
	case "", wire.EncodingText:
	case wire.EncodingBase64:
		forceBase64 = true
	default:
		s.writeError(w, r, badRequest("%s=%q: want base64", wire.ParamEncoding, enc))
		return
	}
	processor := q.Get(wire.ParamProcessor)
	if processor != "" && s.cfg.Processors == nil {
		s.writeError(w, r, wire.Errorf(wire.CodeUnknownPlugin, "processor %q: this node runs no processor plugins", processor))
		return
	}
	if s.cfg.Broker == nil {
		s.writeError(w, r, &broker.NotLeaderError{Topic: topic, Partition: partition, LeaderID: -1, Reason: "this node has no broker role"})
		return
	}

	if processor == "" && format != wire.FormatJSON && acceptsBatches(r.Header.Get("Accept")) && s.fetchRaw(w, r, req, start) {
		return
	}
	recsp := fetchRecordsPool.Get().(*[]record.Record)
	defer func() {
		clear(*recsp)
		*recsp = (*recsp)[:0]
		fetchRecordsPool.Put(recsp)
	}()
	res, err := s.cfg.Broker.Fetch(r.Context(), req, (*recsp)[:0])
	if err != nil && s.catchUp(r.Context(), err) {
		res, err = s.cfg.Broker.Fetch(r.Context(), req, (*recsp)[:0])
	}
	if cap(res.Records) > cap(*recsp) {
		*recsp = res.Records[:0] // keep the grown slice for the next fetch
	}
	if err != nil && errors.Is(err, context.Canceled) && len(res.Records) == 0 && res.NextOffset == req.Offset {
		// A long-poll cut short (the node is shutting down, or the client
		// left) answers as if its wait had run out: nothing new yet.
		err = nil
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if processor != "" {
		out, err := s.cfg.Processors.Process(r.Context(), processor, pluginParams(q), partition, res.Records)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		res.Records = out
	}
	s.metrics.fetchRecs.WithLabelValues(topic).Add(float64(len(res.Records)))

	if format == wire.FormatBinary {
		out := getBuffer()
		defer putBuffer(out)
		*out = appendFetch((*out)[:0], partition, &res)
		s.metrics.fetchBytes.WithLabelValues(topic).Add(float64(len(*out)))
		writeBody(w, http.StatusOK, wire.MediaTypeRecords, *out)
		s.metrics.observeFetch(fetchFormatRecords, start, res.Waited)
		return
	}
	ans := wire.FetchResponse{
		Partition:     partition,
		Records:       make([]wire.FetchRecord, len(res.Records)),
		NextOffset:    res.NextOffset,
		HighWatermark: res.HighWatermark,
		LogStart:      res.LogStart,
		LogEnd:        res.LogEnd,
	}
	for i := range res.Records {
		ans.Records[i] = wire.NewFetchRecord(toWireRecord(partition, &res.Records[i]), forceBase64)
	}
	writeJSON(w, http.StatusOK, ans)
	s.metrics.observeFetch(fetchFormatJSON, start, res.Waited)
}

func toWireRecord(partition int32, r *record.Record) wire.Record {
	wr := wire.Record{Partition: partition, Offset: r.Offset, Timestamp: r.Timestamp, Key: r.Key, Value: r.Value}
	if len(r.Headers) > 0 {
		wr.Headers = make([]wire.Header, len(r.Headers))
		for i, h := range r.Headers {
			wr.Headers[i] = wire.Header{Key: h.Key, Value: h.Value}
		}
	}
	return wr
}

// pluginParams collects param.K=V query parameters.
func pluginParams(q map[string][]string) map[string]string {
	var out map[string]string
	for k, vs := range q {
		if name, ok := strings.CutPrefix(k, wire.ParamPrefix); ok && len(vs) > 0 {
			if out == nil {
				out = map[string]string{}
			}
			out[name] = vs[len(vs)-1]
		}
	}
	return out
}

func (s *Server) offsets(w http.ResponseWriter, r *http.Request) {
	topic := r.PathValue("topic")
	partition, err := partitionParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	at := r.URL.Query().Get(wire.ParamAt)
	var pos int64
	switch at {
	case wire.AtEarliest:
		pos = broker.OffsetEarliest
	case wire.AtLatest, "":
		at, pos = wire.AtLatest, broker.OffsetLatest
	default:
		if pos, err = strconv.ParseInt(at, 10, 64); err != nil || pos < 0 {
			s.writeError(w, r, badRequest("%s=%q: want earliest, latest or a timestamp in ms", wire.ParamAt, at))
			return
		}
	}
	if s.cfg.Broker == nil {
		s.writeError(w, r, &broker.NotLeaderError{Topic: topic, Partition: partition, LeaderID: -1, Reason: "this node has no broker role"})
		return
	}
	off, err := s.cfg.Broker.ListOffset(r.Context(), topic, partition, pos)
	if err != nil && s.catchUp(r.Context(), err) {
		off, err = s.cfg.Broker.ListOffset(r.Context(), topic, partition, pos)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.OffsetResponse{Partition: partition, At: at, Offset: off})
}
