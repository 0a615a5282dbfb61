package controller

import (
	"context"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
)

// rebalanceTicker is the leader loop's clock for automatic preferred
// leader elections: a nil channel (never ready) when they are disabled.
func (c *Controller) rebalanceTicker() (<-chan time.Time, func()) {
	if c.cfg.LeaderRebalance.Disabled {
		return nil, func() {}
	}
	t := time.NewTicker(c.cfg.LeaderRebalance.Interval)
	return t.C, t.Stop
}

// rebalanceLeaders proposes the preferred-leader elections that
// meta.PreferredElections finds due: brokers over the imbalance threshold
// get back the partitions they prefer, where they are alive and in sync.
// Each election is an ordinary ElectLeader command, so a stale view
// (the ISR changed meanwhile) only makes it change less.
func (c *Controller) rebalanceLeaders(ctx context.Context) {
	for _, el := range meta.PreferredElections(c.Metadata(), c.cfg.LeaderRebalance.ThresholdPercent) {
		if ctx.Err() != nil {
			return
		}
		moved, err := c.ElectLeader(ctx, el)
		if err != nil {
			c.cfg.Logger.Warn("automatic preferred leader election", "topic", el.Topic, "err", err)
			continue
		}
		if len(moved) > 0 {
			c.cfg.Logger.Info("leaders rebalanced to preferred replicas", "topic", el.Topic, "partitions", len(moved))
		}
	}
}
