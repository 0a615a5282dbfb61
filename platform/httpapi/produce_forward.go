package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// paramLastSequence carries, on the internal forward route, the sequence
// of the last record of the idempotent request a forwarded share belongs
// to (the share holds only some of its records).
const paramLastSequence = "last_sequence"

// forwardedProducer reads the idempotent producer of a forwarded share.
func forwardedProducer(q url.Values) (*broker.Producer, int64, error) {
	prod, err := producerParams(q)
	if err != nil || prod == nil {
		return nil, 0, err
	}
	v := q.Get(paramLastSequence)
	last, perr := strconv.ParseInt(v, 10, 64)
	if perr != nil || last < prod.BaseSequence {
		return nil, 0, badRequest("%s=%q: want an integer >= %s", paramLastSequence, v, wire.ParamSequence)
	}
	return prod, last, nil
}

// ForwardAs is Forward for an idempotent producer's share of a request;
// it implements broker.ProducerForwarder.
func (p *Peer) ForwardAs(ctx context.Context, leader *meta.Broker, topic string, partition int32, recs []record.Record, acks broker.Acks, prod broker.Producer, lastSeq int64) (int64, error) {
	return p.forward(ctx, leader, topic, partition, recs, acks, &prod, lastSeq)
}

// forward sends one share to its leader: over the produce stream to the
// leader (RouteProduceStream, binary frames on a persistent connection),
// or, to a leader that serves none, as a POST to RouteForwardProduce.
func (p *Peer) forward(ctx context.Context, leader *meta.Broker, topic string, partition int32, recs []record.Record, acks broker.Acks, prod *broker.Producer, lastSeq int64) (int64, error) {
	if _, ok := ctx.Deadline(); !ok {
		// A leader that stops answering must not hold the producer forever.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ForwardTimeout)
		defer cancel()
	}
	base, err := clusterAddr(leader)
	if err != nil {
		return -1, fmt.Errorf("%w: %v", broker.ErrLeaderUnreachable, err)
	}
	var timeout time.Duration
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	off, err := p.forwardStream(ctx, base, produceFrame(topic, partition, recs, acks, timeout, prod, lastSeq))
	if !errors.Is(err, errProduceStreamUnsupported) {
		if err != nil {
			return -1, forwardError(ctx, leader, base, err)
		}
		return off, nil
	}
	return p.forwardHTTP(ctx, leader, base, topic, partition, recs, acks, prod, lastSeq)
}

// forwardHTTP is forward as one POST to RouteForwardProduce.
func (p *Peer) forwardHTTP(ctx context.Context, leader *meta.Broker, base, topic string, partition int32, recs []record.Record, acks broker.Acks, prod *broker.Producer, lastSeq int64) (int64, error) {
	// Not a pooled buffer: net/http may go on reading a request body after
	// Do returned (a timeout or cancellation ends the round trip before the
	// transport's writer is done; it closes the body later, from another
	// goroutine), so the bytes must stay ours until nobody refers to them.
	body := appendRecords(nil, recs)
	q := url.Values{wire.ParamAcks: {acks.String()}}
	if prod != nil {
		q.Set(wire.ParamProducerID, strconv.FormatInt(prod.ID, 10))
		q.Set(wire.ParamProducerEpoch, strconv.FormatInt(int64(prod.Epoch), 10))
		q.Set(wire.ParamSequence, strconv.FormatInt(prod.BaseSequence, 10))
		q.Set(paramLastSequence, strconv.FormatInt(lastSeq, 10))
	}
	if dl, ok := ctx.Deadline(); ok {
		q.Set(wire.ParamTimeoutMs, strconv.FormatInt(max(time.Until(dl).Milliseconds(), 1), 10))
	}
	u := fmt.Sprintf("%s/internal/v1/topics/%s/partitions/%d/records?%s", base, url.PathEscape(topic), partition, q.Encode())
	var res ForwardResult
	if _, err := p.do(ctx, http.MethodPost, u, wire.MediaTypeRecords, body, &res); err != nil {
		return -1, forwardError(ctx, leader, base, err)
	}
	return res.BaseOffset, nil
}

// forwardError classifies a failed forward so the producer learns whether
// to retry: a leader that cannot be dialled wrote nothing
// (ErrLeaderUnreachable: unavailable); one whose connection failed after
// the records went out may have written them (ErrForwardFailed: timeout).
// The leader's own answers (a *wire.Error) pass unchanged.
func forwardError(ctx context.Context, leader *meta.Broker, base string, err error) error {
	var we *wire.Error
	if errors.As(err, &we) {
		return err
	}
	if ctx.Err() != nil {
		return err // the caller's deadline: timeout
	}
	if errors.Is(err, broker.ErrForwardFailed) || errors.Is(err, broker.ErrLeaderUnreachable) {
		return err // classified already (the produce stream)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return fmt.Errorf("%w: node %d at %s: %v", broker.ErrLeaderUnreachable, leader.ID, base, err)
	}
	return fmt.Errorf("%w: node %d at %s: %v", broker.ErrForwardFailed, leader.ID, base, err)
}
