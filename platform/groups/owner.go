package groups

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/platform/meta"
)

// ErrNotCoordinator: this node does not coordinate the group; its
// coordinator is the node leading the group's __consumer_offsets
// partition. The error is a *NotCoordinatorError naming that node.
var ErrNotCoordinator = errors.New("not the group's coordinator")

// NotCoordinatorError says which node coordinates a group.
type NotCoordinatorError struct {
	Group string
	// Leader is the coordinating node (Leader.Node; never Local).
	Leader Leader
}

func (e *NotCoordinatorError) Error() string {
	return fmt.Sprintf("group %s is coordinated by node %d (%s), not this node", e.Group, e.Leader.Node.ID, e.Leader.Node.HTTPAddr)
}

// Unwrap makes errors.Is(err, ErrNotCoordinator) hold.
func (e *NotCoordinatorError) Unwrap() error { return ErrNotCoordinator }

// CoordinatorOf says where group is coordinated: by this node
// (Leader.Local) or by Leader.Node, the node that leads the group's
// partition of __consumer_offsets. Exactly one node leads it, so exactly
// one coordinator serves a group's members, commits and admin requests;
// the API layer sends requests for other groups there. It waits until the
// offsets are loaded (bounded by ctx).
func (c *Coordinator) CoordinatorOf(ctx context.Context, group string) (Leader, error) {
	if err := c.waitReady(ctx); err != nil {
		return Leader{}, err
	}
	c.mu.Lock()
	n := c.offsetsParts
	c.mu.Unlock()
	p := offsetsPartition(group, n)
	ld, err := c.cfg.Log.Leader(ctx, OffsetsTopic, p)
	if err != nil {
		return Leader{}, fmt.Errorf("coordinator of group %s: %w", group, err)
	}
	if !ld.Local && !ld.Node.HasRole(meta.RoleController) {
		// Nodes run a coordinator only with both roles (platform wiring).
		return Leader{}, fmt.Errorf("group %s: %s/%d is led by node %d, which has no controller role and runs no group coordinator: %w",
			group, OffsetsTopic, p, ld.Node.ID, ErrNoCoordinator)
	}
	return ld, nil
}

// ErrNoCoordinator: the node leading the group's offsets partition runs
// no coordinator (a broker-only node), so no node serves the group.
var ErrNoCoordinator = errors.New("no coordinator for the group")

// checkOwner refuses a group another node coordinates. For one this node
// coordinates, it first reads the group's offsets partition again if its
// leader changed since it was read (another node may have taken commits
// while it led the partition).
func (c *Coordinator) checkOwner(ctx context.Context, group string) error {
	ld, err := c.CoordinatorOf(ctx, group)
	if err != nil {
		return err
	}
	if !ld.Local {
		return &NotCoordinatorError{Group: group, Leader: ld}
	}
	c.mu.Lock()
	p := offsetsPartition(group, c.offsetsParts)
	loaded, ok := c.loadedEpoch[p]
	c.mu.Unlock()
	if !ok || loaded != ld.Epoch {
		return c.reloadPartition(ctx, p, ld.Epoch)
	}
	return nil
}

// owns reports whether this node coordinates group (false when that is
// unknown right now). The caller holds c.mu, so it uses offsetsParts
// directly.
func (c *Coordinator) ownsLocked(ctx context.Context, group string) bool {
	ld, err := c.cfg.Log.Leader(ctx, OffsetsTopic, offsetsPartition(group, c.offsetsParts))
	return err == nil && ld.Local
}
