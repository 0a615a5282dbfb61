package httpapi

import (
	"context"
	"errors"
	"sync"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/record"
)

// AsyncProduceBytes bounds the request bytes of acks=0 produces that were
// answered but not yet appended. A request that does not fit waits for
// room before it is answered (backpressure instead of unbounded memory);
// one request is always admitted when nothing is pending.
const AsyncProduceBytes = 64 << 20

// ErrServerClosed answers an acks=0 produce that arrives after Close.
var ErrServerClosed = errors.New("httpapi: server closed")

// asyncProducer appends acks=0 produces after their answer went out:
// Kafka's acks=0, where the producer learns of no failure. Requests to one
// topic are appended one after another in the order they were accepted (a
// goroutine per topic with pending work, gone when it has none), so
// consecutive acks=0 requests keep their order as they do in Kafka over one
// connection. Its zero value is ready; close stops new work and waits for
// the pending appends.
type asyncProducer struct {
	mu      sync.Mutex
	queues  map[string][]asyncJob // pending per topic, oldest first
	bytes   int64                 // size of the pending requests
	room    chan struct{}         // closed (and replaced) when bytes shrink
	closed  bool
	workers sync.WaitGroup
}

// asyncJob is one accepted acks=0 request; it owns its records' memory.
type asyncJob struct {
	req  broker.ProduceRequest
	size int64
}

// add queues req (whose records it now owns) once there is room; ctx (the
// request's) bounds the wait. run appends one job.
func (a *asyncProducer) add(ctx context.Context, req broker.ProduceRequest, size int64, run func(asyncJob)) error {
	a.mu.Lock()
	for !a.closed && a.bytes > 0 && a.bytes+size > AsyncProduceBytes {
		if a.room == nil {
			a.room = make(chan struct{})
		}
		room := a.room
		a.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
		a.mu.Lock()
	}
	defer a.mu.Unlock()
	if a.closed {
		return ErrServerClosed
	}
	if a.queues == nil {
		a.queues = map[string][]asyncJob{}
	}
	q, busy := a.queues[req.Topic]
	a.queues[req.Topic] = append(q, asyncJob{req: req, size: size})
	a.bytes += size
	if !busy {
		a.workers.Add(1)
		go a.drain(req.Topic, run)
	}
	return nil
}

// drain appends the topic's pending jobs in order and exits when none is
// left.
func (a *asyncProducer) drain(topic string, run func(asyncJob)) {
	defer a.workers.Done()
	for {
		a.mu.Lock()
		q := a.queues[topic]
		if len(q) == 0 {
			delete(a.queues, topic)
			a.mu.Unlock()
			return
		}
		job := q[0]
		q[0] = asyncJob{}
		a.queues[topic] = q[1:]
		a.mu.Unlock()

		run(job)

		a.mu.Lock()
		a.bytes -= job.size
		if a.room != nil {
			close(a.room)
			a.room = nil
		}
		a.mu.Unlock()
	}
}

// close refuses new jobs and waits until the pending ones are appended
// (each is bounded by its request's timeout).
func (a *asyncProducer) close() {
	a.mu.Lock()
	a.closed = true
	if a.room != nil {
		close(a.room)
		a.room = nil
	}
	a.mu.Unlock()
	a.workers.Wait()
}

// Close waits for the acks=0 produces that were answered but not yet
// appended, and refuses new ones. Call it after the HTTP server stopped
// taking requests and before the broker is closed.
func (s *Server) Close() error {
	s.produceStreams.closeAll()
	s.async.close()
	return nil
}

// produceLater hands an acks=0 request to the background appender: the
// records are copied (the request's buffers go back to their pools when
// the handler returns).
func (s *Server) produceLater(ctx context.Context, req broker.ProduceRequest, bodySize int) error {
	req.Records = cloneRecords(req.Records)
	return s.async.add(ctx, req, int64(bodySize), s.appendAccepted)
}

// appendAccepted appends an acks=0 request; failures can only be logged.
func (s *Server) appendAccepted(job asyncJob) {
	req := job.req
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = ForwardTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	results, err := s.cfg.Broker.Produce(ctx, req, nil)
	if err != nil && s.catchUp(ctx, err) {
		results, err = s.cfg.Broker.Produce(ctx, req, nil)
	}
	if err != nil {
		s.log.Warn("acks=0 produce failed after it was answered", "topic", req.Topic, "records", len(req.Records), "err", err)
		return
	}
	failed := 0
	for i := range results {
		if results[i].Err != nil {
			failed++
			err = results[i].Err
		}
	}
	if failed > 0 {
		s.log.Warn("acks=0 produce: records failed after it was answered", "topic", req.Topic, "failed", failed, "records", len(results), "err", err)
	}
	s.metrics.prodRecords.WithLabelValues(req.Topic).Add(float64(len(results) - failed))
	s.metrics.prodBytes.WithLabelValues(req.Topic).Add(float64(job.size))
}

// cloneRecords copies recs and every byte they refer to into memory of
// their own (one allocation for the bytes).
func cloneRecords(recs []record.Record) []record.Record {
	n := 0
	for i := range recs {
		n += len(recs[i].Key) + len(recs[i].Value)
		for _, h := range recs[i].Headers {
			n += len(h.Value)
		}
	}
	arena := make([]byte, 0, n)
	take := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		start := len(arena)
		arena = append(arena, b...)
		return arena[start:len(arena):len(arena)]
	}
	out := make([]record.Record, len(recs))
	for i := range recs {
		r := &recs[i]
		out[i] = record.Record{Offset: r.Offset, Timestamp: r.Timestamp, Key: take(r.Key), Value: take(r.Value)}
		if r.Headers != nil {
			out[i].Headers = make([]record.Header, len(r.Headers))
			for j, h := range r.Headers {
				out[i].Headers[j] = record.Header{Key: h.Key, Value: take(h.Value)}
			}
		}
	}
	return out
}
