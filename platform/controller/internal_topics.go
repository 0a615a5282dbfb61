package controller

import (
	"context"

	"github.com/sluicehq/sluice/platform/meta"
)

// reconcileInternalTopics raises the replication of internal topics (such
// as __consumer_offsets) to what the alive brokers allow
// (meta.InternalTopicChanges): a topic created on a young cluster with one
// broker grows to three replicas, then to min.insync.replicas 2, as
// brokers join and its new replicas catch up. It runs on the active
// controller with every reconcile pass.
func (c *Controller) reconcileInternalTopics(ctx context.Context) {
	for _, cmd := range meta.InternalTopicChanges(c.Metadata()) {
		if ctx.Err() != nil {
			return
		}
		res, err := c.Propose(ctx, cmd)
		rr := cmd.RaiseReplication
		if err != nil {
			c.cfg.Logger.Warn("raise replication of internal topic", "topic", rr.Topic, "replication_factor", rr.ReplicationFactor,
				"min_insync_replicas", rr.MinInsyncReplicas, "err", err)
			continue
		}
		if res.Changed {
			c.cfg.Logger.Info("raised replication of internal topic", "topic", rr.Topic,
				"replication_factor", rr.ReplicationFactor, "min_insync_replicas", rr.MinInsyncReplicas)
		}
	}
}
