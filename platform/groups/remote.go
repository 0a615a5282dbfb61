package groups

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// Peers reaches partitions that other nodes lead: appends go through the
// broker's forwarding seam (httpapi.Peer on a node), reads through the
// leader's internal fetch and offsets routes (httpapi.RouteInternalFetch,
// RouteInternalOffsets). *PeerClient implements it.
type Peers interface {
	broker.Forwarder
	// Fetch reads one partition on its leader from offset (no long-poll
	// beyond maxWait).
	Fetch(ctx context.Context, leader *meta.Broker, topic string, partition int32, offset int64, maxBytes int, maxWait time.Duration) (*wire.FetchBatch, error)
	// ListOffset asks the leader for the log start (broker.OffsetEarliest),
	// the high watermark (broker.OffsetLatest) or the first offset at a
	// timestamp (ms).
	ListOffset(ctx context.Context, leader *meta.Broker, topic string, partition int32, at int64) (int64, error)
}

// PeerClient is the node's Peers: Forwarder appends (httpapi.Peer), HTTP
// reads. A failure the leader reports comes back as its *wire.Error.
type PeerClient struct {
	// Forwarder appends to partitions led elsewhere. Required.
	Forwarder broker.Forwarder
	// HTTP is the client for reads; nil means http.DefaultClient.
	HTTP *http.Client
}

// Forward implements broker.Forwarder.
func (p *PeerClient) Forward(ctx context.Context, leader *meta.Broker, topic string, partition int32, recs []record.Record, acks broker.Acks) (int64, error) {
	return p.Forwarder.Forward(ctx, leader, topic, partition, recs, acks)
}

// Fetch implements Peers.
func (p *PeerClient) Fetch(ctx context.Context, leader *meta.Broker, topic string, partition int32, offset int64, maxBytes int, maxWait time.Duration) (*wire.FetchBatch, error) {
	base, err := clusterBase(leader)
	if err != nil {
		return nil, err
	}
	u := fmt.Sprintf("%s/internal/v1/topics/%s/partitions/%d/records?%s=%d&%s=%d&%s=%d&%s=%s", base, url.PathEscape(topic), partition,
		wire.ParamOffset, offset, wire.ParamMaxBytes, max(maxBytes, 1), wire.ParamMaxWaitMs, maxWait.Milliseconds(), wire.ParamFormat, wire.FormatBinary)
	body, err := p.get(ctx, u)
	if err != nil {
		return nil, err
	}
	fb, err := wire.DecodeFetchBatch(body)
	if err != nil {
		return nil, fmt.Errorf("fetch %s/%d from node %d: %w", topic, partition, leader.ID, err)
	}
	return fb, nil
}

// clusterBase is the base URL of leader's cluster listener, where the
// internal read routes are served (mutual TLS; HTTP must present this
// node's certificate).
func clusterBase(leader *meta.Broker) (string, error) {
	if leader.ClusterAddr == "" {
		return "", fmt.Errorf("node %d has no cluster address yet: %w", leader.ID, broker.ErrLeaderUnreachable)
	}
	return leader.ClusterAddr, nil
}

// ListOffset implements Peers.
func (p *PeerClient) ListOffset(ctx context.Context, leader *meta.Broker, topic string, partition int32, at int64) (int64, error) {
	a := strconv.FormatInt(at, 10)
	switch at {
	case broker.OffsetEarliest:
		a = wire.AtEarliest
	case broker.OffsetLatest:
		a = wire.AtLatest
	}
	base, err := clusterBase(leader)
	if err != nil {
		return 0, err
	}
	u := fmt.Sprintf("%s/internal/v1/topics/%s/partitions/%d/offsets?%s=%s", base, url.PathEscape(topic), partition, wire.ParamAt, a)
	body, err := p.get(ctx, u)
	if err != nil {
		return 0, err
	}
	var res wire.OffsetResponse
	if err := json.Unmarshal(body, &res); err != nil {
		return 0, fmt.Errorf("offsets of %s/%d from node %d: %w", topic, partition, leader.ID, err)
	}
	return res.Offset, nil
}

func (p *PeerClient) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	hc := p.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: read answer: %w", u, err)
	}
	if resp.StatusCode >= 300 {
		var er wire.ErrorResponse
		if json.Unmarshal(body, &er) == nil && er.Error != nil {
			return nil, er.Error
		}
		return nil, fmt.Errorf("GET %s: status %d: %.200s", u, resp.StatusCode, body)
	}
	return body, nil
}

// Leader says where a partition is led: on this node (Local) or on Node,
// and since when: Epoch is the partition's leader epoch, which grows with
// every leader change.
type Leader struct {
	Local bool
	Node  *meta.Broker // nil when Local
	Epoch int32
}

// ErrNoLeader: the partition has no live leader right now (retriable).
var ErrNoLeader = errors.New("partition has no leader")

// leaderOf finds the leader of topic/partition in the broker's metadata.
func leaderOf(b *broker.Broker, self int32, topic string, partition int32) (Leader, error) {
	c := b.Cluster()
	t, ok := c.Topic(topic)
	if !ok {
		return Leader{}, fmt.Errorf("%w: %s", ErrUnknownTopic, topic)
	}
	if partition < 0 || int(partition) >= len(t.Partitions) {
		return Leader{}, fmt.Errorf("%w: %s has no partition %d", ErrInvalidRequest, topic, partition)
	}
	id, epoch := t.Partitions[partition].Leader, t.Partitions[partition].LeaderEpoch
	if id == meta.NoLeader {
		return Leader{}, fmt.Errorf("%s/%d: %w", topic, partition, ErrNoLeader)
	}
	if int32(id) == self {
		return Leader{Local: true, Epoch: epoch}, nil
	}
	n, ok := c.Broker(id)
	if !ok || n.HTTPAddr == "" {
		return Leader{}, fmt.Errorf("%s/%d: leader %d unknown: %w", topic, partition, id, ErrNoLeader)
	}
	return Leader{Node: n, Epoch: epoch}, nil
}

// fromWire converts fetched records.
func fromWire(rs []wire.Record) []record.Record {
	out := make([]record.Record, len(rs))
	for i, r := range rs {
		out[i] = record.Record{Offset: r.Offset, Timestamp: r.Timestamp, Key: r.Key, Value: r.Value}
		if len(r.Headers) > 0 {
			out[i].Headers = make([]record.Header, len(r.Headers))
			for j, h := range r.Headers {
				out[i].Headers[j] = record.Header{Key: h.Key, Value: h.Value}
			}
		}
	}
	return out
}
