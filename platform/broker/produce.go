package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// ProduceResult is where one record of a produce went: its partition and
// offset, or the error that kept it from being written. Offset is -1 when
// unknown (Err set).
type ProduceResult struct {
	Partition int32
	Offset    int64
	Err       error
}

// RecordError ties an error to one record of a request, by index.
type RecordError struct {
	Index int
	Err   error
}

// Error describes the failure.
func (e *RecordError) Error() string { return fmt.Sprintf("record %d: %v", e.Index, e.Err) }

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }

// ProduceRequest is one produce call. Records' Key and Value may alias the
// caller's request buffer: the broker does not keep them past Produce.
type ProduceRequest struct {
	Topic   string
	Records []record.Record
	Acks    Acks
	// Timeout bounds the wait for acks=all; 0 means no bound beyond ctx.
	Timeout time.Duration
	// Producer, if set, makes the request idempotent (see
	// producer_state.go): record i has sequence Producer.BaseSequence+i,
	// a built-in partitioner places records as a function of the request
	// (splitIdempotent), and a partition that already wrote its share
	// answers the original offsets instead of writing it again.
	Producer *Producer
	// Partition, if set, sends every record to this partition: the
	// topic's partitioner is not asked. Out of range: ErrUnknownPartition.
	Partition *int32
}

// ProducerForwarder is a Forwarder that can carry an idempotent
// producer's fields to the leader. httpapi.Peer implements it.
type ProducerForwarder interface {
	ForwardAs(ctx context.Context, leader *meta.Broker, topic string, partition int32, recs []record.Record, acks Acks, prod Producer, lastSeq int64) (base int64, err error)
}

// Produce appends a batch of records to a topic and returns where each
// went, in request order, appending to results (which it may reuse).
//
// Everything that can fail the whole request is checked before anything
// is written: the topic, every record's size against max.message.bytes,
// the partitioner (run once over the whole batch), and, for every
// partition the batch touches, that this broker leads it and that the
// ISR satisfies acks. Then each partition's records are appended as one
// batch, so concurrent produces to one partition share a commit in
// storage. Failures after that point (a log error, acks=all timing out)
// are reported per record, for the records of the partition concerned.
func (b *Broker) Produce(ctx context.Context, req ProduceRequest, results []ProduceResult) ([]ProduceResult, error) {
	if !req.Acks.Valid() {
		return results, fmt.Errorf("%w: acks %d", ErrInvalidRequest, req.Acks)
	}
	if len(req.Records) == 0 {
		return results, fmt.Errorf("%w: no records", ErrInvalidRequest)
	}
	var q *produced
	if req.Producer != nil {
		if err := req.Producer.Validate(); err != nil {
			return results, err
		}
		q = &produced{Producer: *req.Producer, last: req.Producer.BaseSequence + int64(len(req.Records)) - 1}
	}
	t, err := b.lookup(req.Topic)
	if err != nil {
		return results, err
	}
	cfg := t.meta.Config
	if err := validateRecords(req.Topic, req.Records, cfg.MaxMessageBytes); err != nil {
		return results, err
	}

	n := len(t.meta.Partitions)
	s := getSplit(len(req.Records))
	defer s.release()
	switch {
	case req.Partition != nil:
		p := *req.Partition
		if p < 0 || int(p) >= n {
			return results, fmt.Errorf("topic %s has %d partitions, not %d: %w", req.Topic, n, p, ErrUnknownPartition)
		}
		for i := range s.parts {
			s.parts[i] = p
		}
	case q == nil || !splitIdempotent(t.meta.Partitioner, q.Producer, req.Records, n, s.parts):
		part, err := t.part.get(ctx, b.Cluster())
		if err != nil {
			return results, err
		}
		if err := part.Partition(ctx, req.Records, n, s.parts); err != nil {
			return results, fmt.Errorf("topic %s: %w: %w", req.Topic, ErrPartitioner, err)
		}
	}
	for i, p := range s.parts {
		if p < 0 || int(p) >= n {
			return results, &RecordError{Index: i, Err: fmt.Errorf("topic %s: partitioner chose partition %d of %d: %w", req.Topic, p, n, ErrPartitioner)}
		}
	}
	if err := checkShares(req.Topic, req.Records, s.parts); err != nil {
		return results, err
	}
	s.group(req.Records, n)

	// Check every target partition before writing to any.
	for p := range n {
		if recs, _ := s.groupOf(p); len(recs) == 0 {
			continue
		}
		if err := b.checkTarget(t, int32(p), req.Acks, cfg.MinInsyncReplicas); err != nil {
			return results, b.enrich(t, int32(p), err)
		}
	}

	if req.Timeout > 0 && req.Acks == AcksAll {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	results = grow(results, len(req.Records))
	// Each partition's batch goes to its own log: append them at once, so
	// a request spread over many partitions waits for one commit round
	// (an fsync each, in parallel), not one after the other.
	var (
		wg    sync.WaitGroup
		first func()
	)
	for p := range n {
		recs, index := s.groupOf(p)
		if len(recs) == 0 {
			continue
		}
		run := func() {
			base, err := b.appendTo(ctx, t, int32(p), recs, req.Acks, cfg.MinInsyncReplicas, q)
			err = b.enrich(t, int32(p), err)
			for k, i := range index {
				r := &results[i]
				r.Partition, r.Offset, r.Err = int32(p), -1, err
				if base >= 0 && (err == nil || errors.Is(err, ErrTimeout) || errors.Is(err, ErrNotEnoughReplicasAfterAppend)) {
					r.Offset = base + int64(k)
				}
			}
		}
		if first == nil {
			first = run // runs on this goroutine once the others are started
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			run()
		}()
	}
	first()
	wg.Wait()
	return results, nil
}

// checkTarget is the pre-write check for one partition: led here (or
// forwardable) and, for acks=all, an ISR of at least minISR.
func (b *Broker) checkTarget(t *topic, index int32, acks Acks, minISR int) error {
	a := &t.meta.Partitions[index]
	p := t.parts[index]
	if err := t.broken[index]; p == nil && err != nil {
		return fmt.Errorf("%s-%d: %w: %w", t.meta.Name, index, ErrReplicaUnavailable, err)
	}
	if int32(a.Leader) != b.cfg.NodeID || p == nil {
		if b.cfg.Forwarder != nil && a.Leader != meta.NoLeader {
			return nil
		}
		return fmt.Errorf("%s-%d is led by node %d, not %d: %w", t.meta.Name, index, a.Leader, b.cfg.NodeID, ErrNotLeader)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.leader {
		return fmt.Errorf("%s: %w", p, ErrNotLeader)
	}
	if err := p.repl.CheckProduce(acks, minISR); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

// appendTo appends locally or forwards; base is -1 when nothing was
// appended.
func (b *Broker) appendTo(ctx context.Context, t *topic, index int32, recs []record.Record, acks Acks, minISR int, q *produced) (int64, error) {
	a := &t.meta.Partitions[index]
	if p := t.parts[index]; p != nil && int32(a.Leader) == b.cfg.NodeID {
		base, err := p.appendAs(ctx, recs, acks, minISR, q)
		if err != nil && !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrNotEnoughReplicasAfterAppend) {
			return -1, err
		}
		return base, err
	}
	if b.cfg.Forwarder == nil {
		return -1, fmt.Errorf("%s-%d: %w", t.meta.Name, index, ErrNotLeader)
	}
	leader, ok := b.Cluster().Broker(a.Leader)
	if !ok {
		return -1, fmt.Errorf("%s-%d: leader %d unknown: %w", t.meta.Name, index, a.Leader, ErrNotLeader)
	}
	var (
		base int64
		err  error
	)
	if q != nil {
		pf, ok := b.cfg.Forwarder.(ProducerForwarder)
		if !ok {
			return -1, fmt.Errorf("%s-%d: %w: the forwarder cannot carry idempotent producers", t.meta.Name, index, ErrInvalidRequest)
		}
		base, err = pf.ForwardAs(ctx, leader, t.meta.Name, index, recs, acks, q.Producer, q.last)
	} else {
		base, err = b.cfg.Forwarder.Forward(ctx, leader, t.meta.Name, index, recs, acks)
	}
	if err != nil {
		return -1, fmt.Errorf("forward to %s-%d on node %d: %w", t.meta.Name, index, a.Leader, leaderBehind(err))
	}
	return base, nil
}

// leaderBehind turns a leader's "no such topic / partition" into
// ErrLeaderUnreachable: this broker forwards because its metadata has the
// partition, so the leader's metadata is behind (a freshly created topic,
// a restarting node) and nothing was written; the producer retries.
func leaderBehind(err error) error {
	var we *wire.Error
	if errors.As(err, &we) && (we.Code == wire.CodeUnknownTopic || we.Code == wire.CodeUnknownPartition) {
		return fmt.Errorf("%w: its metadata is behind (it answered: %s)", ErrLeaderUnreachable, we.Message)
	}
	return err
}

// ProducePartition appends recs to one partition this broker leads: the
// receiving end of another broker's Forwarder. The sender already ran
// the partitioner; the checks are the same as Produce's (record sizes,
// leadership, ISR for acks=all) and nothing is written if one fails.
func (b *Broker) ProducePartition(ctx context.Context, topicName string, index int32, recs []record.Record, acks Acks, timeout time.Duration) (int64, error) {
	return b.ProducePartitionAs(ctx, topicName, index, recs, acks, timeout, nil, 0)
}

// ProducePartitionAs is ProducePartition for an idempotent producer's
// share of a request (prod nil: none); lastSeq is the sequence of the
// request's last record. A share written before answers its original
// base offset and is not written again.
func (b *Broker) ProducePartitionAs(ctx context.Context, topicName string, index int32, recs []record.Record, acks Acks, timeout time.Duration, prod *Producer, lastSeq int64) (int64, error) {
	if !acks.Valid() || len(recs) == 0 {
		return -1, fmt.Errorf("%w: acks %d, %d records", ErrInvalidRequest, acks, len(recs))
	}
	var q *produced
	if prod != nil {
		if err := prod.Validate(); err != nil {
			return -1, err
		}
		if lastSeq < prod.BaseSequence+int64(len(recs))-1 {
			return -1, fmt.Errorf("%w: last sequence %d: the request's %d records here need at least %d", ErrInvalidRequest, lastSeq, len(recs), prod.BaseSequence+int64(len(recs))-1)
		}
		q = &produced{Producer: *prod, last: lastSeq}
	}
	t, p, err := b.partitionOf(topicName, index)
	if err != nil {
		return -1, err
	}
	cfg := t.meta.Config
	if err := validateRecords(topicName, recs, cfg.MaxMessageBytes); err != nil {
		return -1, err
	}
	if err := checkShare(topicName, index, recs); err != nil {
		return -1, err
	}
	if int32(t.meta.Partitions[index].Leader) != b.cfg.NodeID {
		return -1, b.notLeader(t, index, nil)
	}
	if timeout > 0 && acks == AcksAll {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	base, err := p.appendAs(ctx, recs, acks, cfg.MinInsyncReplicas, q)
	if err != nil && !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrNotEnoughReplicasAfterAppend) {
		return -1, b.enrich(t, index, err)
	}
	return base, err
}
