package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sluicehq/sluice/sdk/wire"
)

// ListGroups returns every consumer group, sorted by name.
func (c *Client) ListGroups(ctx context.Context) ([]wire.GroupSummary, error) {
	var l wire.GroupList
	if err := c.doJSON(ctx, http.MethodGet, "/v1/groups", nil, nil, &l); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return l.Groups, nil
}

// DescribeGroup returns a group's members, assignment, committed offsets
// and lag. Fails with ErrUnknownGroup.
func (c *Client) DescribeGroup(ctx context.Context, group string) (*wire.Group, error) {
	var g wire.Group
	if err := c.doJSON(ctx, http.MethodGet, "/v1/groups/"+seg(group), nil, nil, &g); err != nil {
		return nil, fmt.Errorf("describe group %s: %w", group, err)
	}
	return &g, nil
}

// ResetGroupOffsets commits new offsets for a group without members.
// Fails with ErrGroupNotEmpty while members are connected.
func (c *Client) ResetGroupOffsets(ctx context.Context, group string, req wire.ResetOffsetsRequest) ([]wire.GroupOffset, error) {
	var r wire.ResetOffsetsResponse
	if err := c.doJSON(ctx, http.MethodPost, "/v1/groups/"+seg(group)+"/reset-offsets", nil, req, &r); err != nil {
		return nil, fmt.Errorf("reset offsets of group %s: %w", group, err)
	}
	return r.Offsets, nil
}

// DeleteGroup deletes a group and its committed offsets.
func (c *Client) DeleteGroup(ctx context.Context, group string) error {
	if err := c.doJSON(ctx, http.MethodDelete, "/v1/groups/"+seg(group), nil, nil, nil); err != nil {
		return fmt.Errorf("delete group %s: %w", group, err)
	}
	return nil
}
