package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sluicehq/sluice/platform/meta"
)

// Propose commits cmd through raft and returns what meta.Apply produced. On
// a node that is not the active controller it fails with a
// *NotControllerError (errors.Is(err, ErrNotController)); a command the state
// machine refuses fails with the meta error (errors.Is(err, meta.ErrTopicExists)
// and so on). cmd.At is stamped from Config.Now when zero.
//
// The wait is bounded by ctx's deadline or Config.ApplyTimeout, whichever
// is earlier; raft offers no cancellation, so a cancelled ctx without a
// deadline still waits up to ApplyTimeout.
//
// Every command is first checked by CheckCommand (names, ids, limits)
// and, for a plugin upload, by Config.ValidatePlugin, before it reaches
// raft.
func (c *Controller) Propose(ctx context.Context, cmd meta.Command) (meta.Result, error) {
	return c.propose(ctx, cmd, nil)
}

// propose runs allow (when set) on the active controller, after the
// checks every command gets and before raft.
func (c *Controller) propose(ctx context.Context, cmd meta.Command, allow func() error) (meta.Result, error) {
	if err := CheckCommand(&cmd); err != nil {
		return meta.Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return meta.Result{}, fmt.Errorf("propose %s: %w", cmd.Op, err)
	}
	select {
	case <-c.shutdown:
		return meta.Result{}, fmt.Errorf("propose %s: %w", cmd.Op, ErrClosed)
	default:
	}
	if err := c.fsm.haltErr(); err != nil {
		return meta.Result{}, fmt.Errorf("propose %s: controller halted: %w", cmd.Op, err)
	}
	if !c.IsLeader() {
		return meta.Result{}, c.notController()
	}
	if allow != nil {
		if err := allow(); err != nil {
			return meta.Result{}, fmt.Errorf("propose %s: %w", cmd.Op, err)
		}
	}
	if cmd.Op == meta.OpUploadPlugin && c.cfg.ValidatePlugin != nil {
		// Validated here, on the active controller, whatever the proposer
		// did: what reaches raft is a module this node's plugin host
		// accepts, with the exports it found.
		if err := c.cfg.ValidatePlugin(ctx, cmd.UploadPlugin); err != nil {
			return meta.Result{}, fmt.Errorf("propose %s: %w", cmd.Op, err)
		}
	}
	if cmd.At.IsZero() {
		cmd.At = c.cfg.Now().UTC()
	}
	data, err := encodeEntry(cmd)
	if err != nil {
		return meta.Result{}, err
	}
	timeout := c.cfg.ApplyTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, max(time.Until(dl), time.Millisecond))
	}
	f := c.raft.Apply(data, timeout)
	if err := f.Error(); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
			errors.Is(err, raft.ErrLeadershipTransferInProgress):
			return meta.Result{}, c.notController()
		case errors.Is(err, raft.ErrRaftShutdown):
			return meta.Result{}, fmt.Errorf("propose %s: %w", cmd.Op, ErrClosed)
		}
		return meta.Result{}, fmt.Errorf("propose %s: %w", cmd.Op, err)
	}
	ar, ok := f.Response().(applyResult)
	if !ok {
		return meta.Result{}, fmt.Errorf("propose %s: unexpected state machine response %T", cmd.Op, f.Response())
	}
	return ar.res, ar.err
}

// notController builds the error that points at the current leader.
func (c *Controller) notController() error {
	id, raftAddr := c.Leader()
	e := &NotControllerError{LeaderID: id, LeaderRaftAddr: raftAddr}
	if id == meta.NoLeader {
		return e
	}
	if b, ok := c.Metadata().Broker(id); ok {
		e.LeaderHTTPAddr, e.LeaderClusterAddr = b.HTTPAddr, b.ClusterAddr
	}
	if (e.LeaderHTTPAddr == "" || e.LeaderClusterAddr == "") && c.cfg.Membership != nil {
		for _, m := range c.cfg.Membership.Members() {
			if meta.NodeID(m.ID) == id {
				e.LeaderHTTPAddr, e.LeaderClusterAddr = m.HTTPAddr, m.ClusterAddr
				break
			}
		}
	}
	return e
}

// CreateTopic creates a topic (see meta.CreateTopic) and returns it.
func (c *Controller) CreateTopic(ctx context.Context, ct meta.CreateTopic) (*meta.Topic, error) {
	res, err := c.Propose(ctx, meta.Command{Op: meta.OpCreateTopic, CreateTopic: &ct})
	return res.Topic, err
}

// DeleteTopic deletes a topic.
func (c *Controller) DeleteTopic(ctx context.Context, name string) error {
	_, err := c.Propose(ctx, meta.Command{Op: meta.OpDeleteTopic, DeleteTopic: &meta.DeleteTopic{Name: name}})
	return err
}

// AlterTopic changes a topic's configuration and/or partitioner and returns
// the topic as it is afterwards.
func (c *Controller) AlterTopic(ctx context.Context, at meta.AlterTopic) (*meta.Topic, error) {
	res, err := c.Propose(ctx, meta.Command{Op: meta.OpAlterTopic, AlterTopic: &at})
	return res.Topic, err
}

// AlterPartition commits a partition leader's ISR change and returns the
// partition with its new partition epoch (meta.ErrStaleEpoch when the
// leader's view is outdated).
func (c *Controller) AlterPartition(ctx context.Context, ap meta.AlterPartition) (*meta.Partition, error) {
	res, err := c.Propose(ctx, meta.Command{Op: meta.OpAlterPartition, AlterPartition: &ap})
	return res.Partition, err
}

// ElectLeader runs a preferred or ISR election (see meta.ElectLeader) and
// returns the partitions whose leader changed.
func (c *Controller) ElectLeader(ctx context.Context, el meta.ElectLeader) ([]meta.Partition, error) {
	res, err := c.Propose(ctx, meta.Command{Op: meta.OpElectLeader, ElectLeader: &el})
	return res.Partitions, err
}

// UploadPlugin stores a new version of a plugin (validated by the caller's
// plugin host beforehand) and returns it.
func (c *Controller) UploadPlugin(ctx context.Context, up meta.UploadPlugin) (*meta.PluginVersion, error) {
	res, err := c.Propose(ctx, meta.Command{Op: meta.OpUploadPlugin, UploadPlugin: &up})
	return res.Plugin, err
}

// DeletePlugin deletes one version of a plugin, or all (version 0);
// meta.ErrPluginInUse while a topic's partitioner uses it.
func (c *Controller) DeletePlugin(ctx context.Context, name string, version int) error {
	_, err := c.Propose(ctx, meta.Command{Op: meta.OpDeletePlugin, DeletePlugin: &meta.DeletePlugin{Name: name, Version: version}})
	return err
}

// RegisterBroker registers (or re-registers, unfencing) a node. With
// Membership the reconcile loop does this by itself.
func (c *Controller) RegisterBroker(ctx context.Context, b meta.Broker) (*meta.Broker, error) {
	res, err := c.Propose(ctx, meta.Command{Op: meta.OpRegisterBroker, RegisterBroker: &meta.RegisterBroker{Broker: b}})
	return res.Broker, err
}

// FenceBroker fences a node (its partitions get new leaders from their ISRs).
func (c *Controller) FenceBroker(ctx context.Context, id meta.NodeID) error {
	_, err := c.Propose(ctx, meta.Command{Op: meta.OpFenceBroker, FenceBroker: &meta.FenceBroker{ID: id}})
	return err
}
