package client

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/sluicehq/sluice/sdk/wire"
)

// ElectLeaders moves leadership to each selected partition's preferred
// replica (its first) where that replica is alive and in sync: every
// partition when req is zero, one topic's, or some of its partitions.
func (c *Client) ElectLeaders(ctx context.Context, req wire.ElectLeadersRequest) (*wire.ElectLeadersResponse, error) {
	var out wire.ElectLeadersResponse
	if err := c.doJSON(ctx, http.MethodPost, "/v1/partitions/elect-leaders", nil, req, &out); err != nil {
		return nil, fmt.Errorf("elect leaders: %w", err)
	}
	return &out, nil
}

// CreatePartitions raises topic's partition count to count (never lowers
// it: ErrInvalidRequest) and returns the topic.
func (c *Client) CreatePartitions(ctx context.Context, topic string, count int32) (*wire.Topic, error) {
	var t wire.Topic
	if err := c.doJSON(ctx, http.MethodPost, "/v1/topics/"+seg(topic)+"/partitions", nil, wire.CreatePartitionsRequest{Count: count}, &t); err != nil {
		return nil, fmt.Errorf("add partitions to %s: %w", topic, err)
	}
	return &t, nil
}

// Reassign starts (or cancels) the reassignments of a plan, all or
// nothing, and returns the named partitions' state. ErrUnknownBroker
// names a broker that does not exist.
func (c *Client) Reassign(ctx context.Context, plan wire.ReassignRequest) (*wire.ReassignmentList, error) {
	var out wire.ReassignmentList
	if err := c.doJSON(ctx, http.MethodPost, "/v1/partitions/reassignments", nil, plan, &out); err != nil {
		return nil, fmt.Errorf("reassign: %w", err)
	}
	return &out, nil
}

// Reassignments lists the reassignments in progress with their progress.
func (c *Client) Reassignments(ctx context.Context) (*wire.ReassignmentList, error) {
	var out wire.ReassignmentList
	if err := c.doJSON(ctx, http.MethodGet, "/v1/partitions/reassignments", nil, nil, &out); err != nil {
		return nil, fmt.Errorf("list reassignments: %w", err)
	}
	return &out, nil
}

// GenerateReassignments proposes a balanced plan for topics (all when
// empty) on brokers; it changes nothing.
func (c *Client) GenerateReassignments(ctx context.Context, req wire.GeneratePlanRequest) (*wire.ReassignRequest, error) {
	var out wire.ReassignRequest
	if err := c.doJSON(ctx, http.MethodPost, "/v1/partitions/reassignments/generate", nil, req, &out); err != nil {
		return nil, fmt.Errorf("generate a reassignment plan: %w", err)
	}
	return &out, nil
}

// ClusterHealth reports partition health, brokers and the controller
// quorum.
func (c *Client) ClusterHealth(ctx context.Context) (*wire.ClusterHealth, error) {
	var out wire.ClusterHealth
	if err := c.doJSON(ctx, http.MethodGet, "/v1/cluster/health", nil, nil, &out); err != nil {
		return nil, fmt.Errorf("cluster health: %w", err)
	}
	return &out, nil
}

// AddController makes an alive controller-role node a raft voter.
func (c *Client) AddController(ctx context.Context, id int32) error {
	if err := c.doJSON(ctx, http.MethodPost, "/v1/controllers/"+strconv.Itoa(int(id)), nil, nil, nil); err != nil {
		return fmt.Errorf("add controller %d: %w", id, err)
	}
	return nil
}

// RemoveController takes a dead controller out of the raft quorum.
func (c *Client) RemoveController(ctx context.Context, id int32) error {
	if err := c.doJSON(ctx, http.MethodDelete, "/v1/controllers/"+strconv.Itoa(int(id)), nil, nil, nil); err != nil {
		return fmt.Errorf("remove controller %d: %w", id, err)
	}
	return nil
}

// DecommissionBroker starts moving every replica off broker id (keeping
// each partition's replication factor and rack spread) and returns the
// moves; ErrNotEnoughReplicas when no broker is left to take a replica.
func (c *Client) DecommissionBroker(ctx context.Context, id int32) (*wire.ReassignmentList, error) {
	return c.DecommissionBrokerWith(ctx, id, wire.DecommissionRequest{})
}

// DecommissionBrokerWith is DecommissionBroker with options: req.Throttle
// limits the catch-up traffic of every move (bytes per second).
func (c *Client) DecommissionBrokerWith(ctx context.Context, id int32, req wire.DecommissionRequest) (*wire.ReassignmentList, error) {
	var out wire.ReassignmentList
	var in any
	if req != (wire.DecommissionRequest{}) {
		in = req
	}
	if err := c.doJSON(ctx, http.MethodPost, "/v1/brokers/"+strconv.Itoa(int(id))+"/decommission", nil, in, &out); err != nil {
		return nil, fmt.Errorf("decommission broker %d: %w", id, err)
	}
	return &out, nil
}

// RemoveBroker unregisters a stopped broker that holds no replicas.
func (c *Client) RemoveBroker(ctx context.Context, id int32) error {
	if err := c.doJSON(ctx, http.MethodDelete, "/v1/brokers/"+strconv.Itoa(int(id)), nil, nil, nil); err != nil {
		return fmt.Errorf("remove broker %d: %w", id, err)
	}
	return nil
}
