package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
)

// CreateTopic creates a topic and returns its description.
// Fails with ErrTopicExists, ErrInvalidRequest, ErrInvalidConfig,
// ErrUnknownPlugin (for a wasm: partitioner).
func (c *Client) CreateTopic(ctx context.Context, req wire.CreateTopicRequest) (*wire.Topic, error) {
	var t wire.Topic
	if err := c.doJSON(ctx, http.MethodPost, "/v1/topics", nil, req, &t); err != nil {
		return nil, fmt.Errorf("create topic %s: %w", req.Name, err)
	}
	c.created.Store(req.Name, time.Now())
	return &t, nil
}

// ListTopics returns every topic, sorted by name.
func (c *Client) ListTopics(ctx context.Context) ([]wire.TopicSummary, error) {
	var l wire.TopicList
	if err := c.doJSON(ctx, http.MethodGet, "/v1/topics", nil, nil, &l); err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	return l.Topics, nil
}

// DescribeTopic returns a topic's settings and its partitions' state.
// Fails with ErrUnknownTopic.
func (c *Client) DescribeTopic(ctx context.Context, topic string) (*wire.Topic, error) {
	var t wire.Topic
	if err := c.doJSON(ctx, http.MethodGet, "/v1/topics/"+seg(topic), nil, nil, &t); err != nil {
		return nil, fmt.Errorf("describe topic %s: %w", topic, err)
	}
	return &t, nil
}

// AlterTopic changes a topic's configuration or partitioner and returns the
// new description.
func (c *Client) AlterTopic(ctx context.Context, topic string, req wire.AlterTopicRequest) (*wire.Topic, error) {
	var t wire.Topic
	if err := c.doJSON(ctx, http.MethodPatch, "/v1/topics/"+seg(topic), nil, req, &t); err != nil {
		return nil, fmt.Errorf("alter topic %s: %w", topic, err)
	}
	return &t, nil
}

// DeleteTopic deletes a topic and its data. Fails with ErrUnknownTopic.
func (c *Client) DeleteTopic(ctx context.Context, topic string) error {
	if err := c.doJSON(ctx, http.MethodDelete, "/v1/topics/"+seg(topic), nil, nil, nil); err != nil {
		return fmt.Errorf("delete topic %s: %w", topic, err)
	}
	return nil
}

// Cluster describes the cluster: id, active controller, nodes.
func (c *Client) Cluster(ctx context.Context) (*wire.Cluster, error) {
	var cl wire.Cluster
	if err := c.doJSON(ctx, http.MethodGet, "/v1/cluster", nil, nil, &cl); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return &cl, nil
}

// Health asks the node whether it serves. A node that is up but not ready
// answers with an error (status 503) whose message is its status.
func (c *Client) Health(ctx context.Context) (*wire.Health, error) {
	var h wire.Health
	_, _, body, err := c.do(ctx, request{method: http.MethodGet, path: "/healthz"})
	if err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	if err := jsonUnmarshal(body, &h); err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	return &h, nil
}

// Offset resolves a position in one partition: "earliest" (log start),
// "latest" (high watermark) or a timestamp in ms (first offset at or after
// it). Use Position.Resolve for the Position type.
func (c *Client) Offset(ctx context.Context, topic string, partition int32, at string) (int64, error) {
	var o wire.OffsetResponse
	q := url.Values{wire.ParamAt: {at}}
	path := "/v1/topics/" + seg(topic) + "/partitions/" + strconv.FormatInt(int64(partition), 10) + "/offsets"
	if err := c.doJSON(ctx, http.MethodGet, path, q, nil, &o); err != nil {
		return 0, fmt.Errorf("offset of %s/%d at %s: %w", topic, partition, at, err)
	}
	return o.Offset, nil
}
