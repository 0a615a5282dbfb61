package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/sdk/wire"
)

// acceptsBatches reports whether the Accept header lists
// wire.MediaTypeBatches (a client that decodes stored batches).
func acceptsBatches(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		if mediaType(part) == wire.MediaTypeBatches {
			return true
		}
	}
	return false
}

// fetchRaw answers a fetch with the partition's stored batches
// (wire.MediaTypeBatches): one copy from the file into a pooled buffer,
// written to the connection as it is. It reports false, having written
// nothing, when the replica's log cannot read raw batches; the caller
// then answers with records.
func (s *Server) fetchRaw(w http.ResponseWriter, r *http.Request, req broker.FetchRequest, start time.Time) bool {
	buf := getBuffer()
	defer putBuffer(buf)
	*buf = slices.Grow((*buf)[:0], min(req.MaxBytes, maxPooledBuffer))
	res, err := s.cfg.Broker.FetchRaw(r.Context(), req, *buf)
	if err != nil && s.catchUp(r.Context(), err) {
		res, err = s.cfg.Broker.FetchRaw(r.Context(), req, res.Buf)
	}
	if cap(res.Buf) > cap(*buf) {
		*buf = res.Buf[:0] // keep the grown buffer for the next fetch
	}
	if errors.Is(err, broker.ErrRawUnsupported) {
		return false
	}
	if err != nil && errors.Is(err, context.Canceled) && len(res.Batches) == 0 {
		err = nil // a long-poll cut short: nothing new yet, as in fetch
		res.NextOffset = req.Offset
	}
	if err != nil {
		s.writeError(w, r, err)
		return true
	}
	var hdr [6 * 10]byte
	head := wire.AppendFetchBatchesHeader(hdr[:0], wire.FetchBatchesHeader{
		Partition: req.Partition, From: req.Offset, NextOffset: res.NextOffset,
		HighWatermark: res.HighWatermark, LogStart: res.LogStart, LogEnd: res.LogEnd,
	})
	var size int
	for _, b := range res.Batches {
		size += len(b)
	}
	// Offsets are dense: the answer delivers next - from records.
	s.metrics.fetchRecs.WithLabelValues(req.Topic).Add(float64(res.NextOffset - req.Offset))
	s.metrics.fetchBytes.WithLabelValues(req.Topic).Add(float64(len(head) + size))
	h := w.Header()
	h.Set("Content-Type", wire.MediaTypeBatches)
	h.Set("Content-Length", strconv.Itoa(len(head)+size))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(head); err != nil {
		return true
	}
	// The batches are the buffer's bytes, back to back: one write.
	_, _ = w.Write(res.Buf[len(res.Buf)-size:])
	s.metrics.observeFetch(fetchFormatBatches, start, res.Waited)
	return true
}
