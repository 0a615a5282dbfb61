package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sluicehq/sluice/sdk/wire"
)

// RecoverPartition is an operator's unclean recovery of a partition that
// has no leader (wire.RouteRecoverPartition): an alive replica, one that
// kept its data if any did, becomes leader; records only the others held
// are lost. It returns the topic's new description.
func (c *Client) RecoverPartition(ctx context.Context, topic string, partition int32) (*wire.Topic, error) {
	var t wire.Topic
	if err := c.doJSON(ctx, http.MethodPost, wire.RecoverPartitionPath(seg(topic), partition), nil, nil, &t); err != nil {
		return nil, fmt.Errorf("recover %s/%d: %w", topic, partition, err)
	}
	return &t, nil
}
