package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// produceScratch is the per-request memory of the produce path, pooled:
// the decoded records (aliasing the body buffer) and the results.
type produceScratch struct {
	recs    []record.Record
	results []broker.ProduceResult
}

var produceScratchPool = sync.Pool{New: func() any { return new(produceScratch) }}

func (p *produceScratch) release() {
	clear(p.recs) // drop references into the body buffer
	p.recs = p.recs[:0]
	clear(p.results)
	p.results = p.results[:0]
	produceScratchPool.Put(p)
}

// mediaType is the Content-Type (or Accept) without parameters.
func mediaType(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

func (s *Server) produce(w http.ResponseWriter, r *http.Request) {
	topic := r.PathValue("topic")
	q := r.URL.Query()
	acks := broker.DefaultAcks
	if v := q.Get(wire.ParamAcks); v != "" {
		var err error
		if acks, err = broker.ParseAcks(v); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	timeout := time.Duration(wire.DefaultProduceTimeoutMs) * time.Millisecond
	if v := q.Get(wire.ParamTimeoutMs); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			s.writeError(w, r, badRequest("%s=%q: want milliseconds >= 0", wire.ParamTimeoutMs, v))
			return
		}
		timeout = time.Duration(ms) * time.Millisecond
	}
	prod, err := producerParams(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var partition *int32
	if v := q.Get(wire.ParamPartition); v != "" {
		p, err := strconv.ParseInt(v, 10, 32)
		if err != nil || p < 0 {
			s.writeError(w, r, badRequest("%s %q: want a partition number >= 0", wire.ParamPartition, v))
			return
		}
		partition = wire.Ptr(int32(p))
	}
	if s.cfg.Broker == nil {
		s.writeError(w, r, &broker.NotLeaderError{Topic: topic, Partition: -1, LeaderID: -1, Reason: "this node has no broker role"})
		return
	}
	if t, ok := s.cfg.Metadata().Topic(topic); ok && t.Internal {
		// The cluster writes internal topics (committed offsets) through
		// the internal forward route; a client's records would corrupt them.
		s.writeError(w, r, badRequest("topic %s is internal: clients may not produce to it", topic))
		return
	}

	bufp := getBuffer()
	defer putBuffer(bufp)
	body, err := readBody(w, r, s.cfg.MaxRequestBytes, (*bufp)[:0])
	*bufp = body[:0]
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sc := produceScratchPool.Get().(*produceScratch)
	defer sc.release()
	switch ct := mediaType(r.Header.Get("Content-Type")); ct {
	case wire.MediaTypeRecords:
		sc.recs, err = decodeRecords(sc.recs[:0], body)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	case wire.MediaTypeJSON, "", "application/x-www-form-urlencoded", "text/plain":
		// curl -d sends form-urlencoded; the body is still JSON.
		if sc.recs, err = decodeJSONRecords(sc.recs[:0], body); err != nil {
			s.writeError(w, r, err)
			return
		}
	default:
		s.writeError(w, r, badRequest("Content-Type %q: want %s or %s", ct, wire.MediaTypeJSON, wire.MediaTypeRecords))
		return
	}
	for i := range sc.recs {
		if ts := sc.recs[i].Timestamp; ts < 0 {
			s.writeError(w, r, negativeTimestamp(i, ts))
			return
		}
	}

	preq := broker.ProduceRequest{Topic: topic, Records: sc.recs, Acks: acks, Timeout: timeout, Producer: prod, Partition: partition}
	binaryAnswer := mediaType(r.Header.Get("Accept")) == wire.MediaTypeResults
	if acks == broker.AcksNone {
		s.produceNoAcks(w, r, preq, len(body), binaryAnswer)
		return
	}
	sc.results, err = s.cfg.Broker.Produce(r.Context(), preq, sc.results[:0])
	if err != nil && s.catchUp(r.Context(), err) {
		sc.results, err = s.cfg.Broker.Produce(r.Context(), preq, sc.results[:0])
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.metrics.prodRecords.WithLabelValues(topic).Add(float64(len(sc.recs)))
	s.metrics.prodBytes.WithLabelValues(topic).Add(float64(len(body)))

	writeResults(w, http.StatusOK, sc.results, binaryAnswer)
}

// producerParams reads the idempotent producer's parameters: all three
// or none (nil).
func producerParams(q url.Values) (*broker.Producer, error) {
	id, epoch, seq := q.Get(wire.ParamProducerID), q.Get(wire.ParamProducerEpoch), q.Get(wire.ParamSequence)
	if id == "" && epoch == "" && seq == "" {
		return nil, nil
	}
	if id == "" || epoch == "" || seq == "" {
		return nil, badRequest("%s, %s and %s go together", wire.ParamProducerID, wire.ParamProducerEpoch, wire.ParamSequence)
	}
	var p broker.Producer
	var err error
	if p.ID, err = strconv.ParseInt(id, 10, 64); err != nil || p.ID < 0 {
		return nil, badRequest("%s=%q: want an integer in [0, 2^63)", wire.ParamProducerID, id)
	}
	e, err := strconv.ParseInt(epoch, 10, 16)
	if err != nil || e < 0 {
		return nil, badRequest("%s=%q: want an integer in [0, 32767]", wire.ParamProducerEpoch, epoch)
	}
	p.Epoch = int16(e)
	if p.BaseSequence, err = strconv.ParseInt(seq, 10, 64); err != nil || p.BaseSequence < 0 {
		return nil, badRequest("%s=%q: want an integer >= 0", wire.ParamSequence, seq)
	}
	return &p, nil
}

// writeResults writes a produce answer, binary or JSON.
func writeResults(w http.ResponseWriter, status int, results []broker.ProduceResult, binary bool) {
	out := getBuffer()
	defer putBuffer(out)
	if binary {
		*out = appendResults((*out)[:0], results)
		writeBody(w, status, wire.MediaTypeResults, *out)
		return
	}
	*out = appendResultsJSON((*out)[:0], results)
	writeBody(w, status, wire.MediaTypeJSON, *out)
}

// produceNoAcks answers an acks=0 request 202 (no results) as soon as it is
// validated and handed to the background appender (Kafka's acks=0: what
// goes wrong later, such as a record over max.message.bytes or a leader
// that cannot be reached, is logged, not reported). Requests to one topic
// through this node are appended in the order they were answered.
func (s *Server) produceNoAcks(w http.ResponseWriter, r *http.Request, req broker.ProduceRequest, size int, binaryAnswer bool) {
	if _, ok := s.cfg.Metadata().Topic(req.Topic); !ok {
		s.writeError(w, r, unknownTopic(req.Topic))
		return
	}
	// Waiting for room in the background queue is bounded by timeout_ms.
	ctx, cancel := context.WithTimeout(r.Context(), req.Timeout)
	defer cancel()
	err := s.produceLater(ctx, req, size)
	switch {
	case errors.Is(err, ErrServerClosed):
		s.writeError(w, r, &broker.NotLeaderError{Topic: req.Topic, Partition: -1, LeaderID: -1, Reason: "this node is shutting down"})
		return
	case err != nil:
		s.writeError(w, r, wire.Errorf(wire.CodeTimeout, "acks=0: no room among the pending appends within %s=%d; nothing written",
			wire.ParamTimeoutMs, req.Timeout.Milliseconds()))
		return
	}
	writeResults(w, http.StatusAccepted, nil, binaryAnswer)
}

// decodeJSONRecords reads a JSON produce body into dst. Unknown fields
// are refused ({"valu":"x"} is a mistake, not an empty record).
func decodeJSONRecords(dst []record.Record, body []byte) ([]record.Record, error) {
	var req wire.ProduceRequest
	if err := unmarshalStrict(body, &req); err != nil {
		return dst, err
	}
	for i := range req.Records {
		raw, err := req.Records[i].Decode()
		if err != nil {
			return dst, recordError(i, err.Error())
		}
		rec := record.Record{Timestamp: raw.Timestamp, Key: raw.Key, Value: raw.Value}
		if len(raw.Headers) > 0 {
			rec.Headers = make([]record.Header, len(raw.Headers))
			for j, h := range raw.Headers {
				rec.Headers[j] = record.Header{Key: h.Key, Value: h.Value}
			}
		}
		dst = append(dst, rec)
	}
	return dst, nil
}

// recordError is invalid_request about record i of a produce request.
func recordError(i int, msg string) *wire.Error {
	return &wire.Error{Code: wire.CodeInvalidRequest, Message: "record " + strconv.Itoa(i) + ": " + msg,
		Details: &wire.ErrorDetails{Index: wire.Ptr(i)}}
}

// negativeTimestamp refuses a record's timestamp below 0: 0 (or absent)
// means "stamp the append time", and no record predates 1970.
func negativeTimestamp(i int, ts int64) *wire.Error {
	return recordError(i, "timestamp "+strconv.FormatInt(ts, 10)+": want milliseconds >= 0 (0 or absent: the append time)")
}

// appendResultsJSON writes {"results":[...]} without reflection: a
// produce of thousands of records answers as fast as it decodes.
func appendResultsJSON(dst []byte, rs []broker.ProduceResult) []byte {
	dst = append(dst, `{"results":[`...)
	for i := range rs {
		if i > 0 {
			dst = append(dst, ',')
		}
		r := &rs[i]
		if r.Err != nil {
			e, _ := json.Marshal(toWire(r.Err))
			dst = append(dst, `{"error":`...)
			dst = append(dst, e...)
			dst = append(dst, '}')
			continue
		}
		dst = append(dst, `{"partition":`...)
		dst = strconv.AppendInt(dst, int64(r.Partition), 10)
		dst = append(dst, `,"offset":`...)
		dst = strconv.AppendInt(dst, r.Offset, 10)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}
