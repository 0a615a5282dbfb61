package broker

import (
	"context"
	"errors"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
)

// DefaultReplicaLagMax is Config.ReplicaLagMax's default (Kafka's
// replica.lag.time.max.ms).
const DefaultReplicaLagMax = 10 * time.Second

// isrProposeTimeout bounds one AlterPartition proposal; isrRetryDelay is
// the pause after a refused one (stale epochs: newer metadata is coming).
const (
	isrProposeTimeout = 5 * time.Second
	isrRetryDelay     = 200 * time.Millisecond
)

// kickISR asks the ISR loop to look now (a follower may join).
func (b *Broker) kickISR() {
	select {
	case b.isrKick <- struct{}{}:
	default:
	}
}

// isrLoop is the leader's ISR maintenance: every half lag period, and when
// a fetch kicks it, it proposes the ISR changes its led partitions need
// (meta.AlterPartition with the epochs they hold). A change takes effect
// only when the committed metadata comes back through Watch; a refusal
// (stale epochs) is dropped, as the newer metadata is on its way.
func (b *Broker) isrLoop(ctx context.Context) {
	defer close(b.isrDone)
	t := time.NewTimer(b.minLagMax() / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.isrKick:
		}
		b.checkISR(ctx)
		t.Reset(b.minLagMax() / 2)
	}
}

// lagMax is a topic's replica.lag.time.max.ms: its own setting, else the
// broker's (Config.ReplicaLagMax).
func (b *Broker) lagMax(cfg meta.TopicConfig) time.Duration {
	if cfg.ReplicaLagTimeMaxMs > 0 {
		return time.Duration(cfg.ReplicaLagTimeMaxMs) * time.Millisecond
	}
	return b.cfg.ReplicaLagMax
}

// minLagMax is the smallest lag setting over the topics held: the ISR
// loop looks twice per that period.
func (b *Broker) minLagMax() time.Duration {
	b.mu.RLock()
	topics := b.topics
	b.mu.RUnlock()
	d := b.cfg.ReplicaLagMax
	for _, t := range topics {
		d = min(d, b.lagMax(t.meta.Config))
	}
	return max(d, 2*time.Millisecond)
}

func (b *Broker) checkISR(ctx context.Context) {
	b.mu.RLock()
	topics := b.topics
	b.mu.RUnlock()
	now := time.Now()
	for _, t := range topics {
		lag := b.lagMax(t.meta.Config)
		for _, p := range t.parts {
			if p == nil {
				continue
			}
			ap, ok := p.isrChange(now, lag)
			if !ok {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, isrProposeTimeout)
			_, err := b.cfg.Propose(pctx, meta.Command{Op: meta.OpAlterPartition, AlterPartition: ap})
			cancel()
			if err != nil {
				if ferr := p.isrProposalFailed(ap.PartitionEpoch, time.Now().Add(isrRetryDelay)); ferr != nil {
					b.log.Warn("high watermark after a refused ISR change", "partition", p.String(), "err", ferr)
				}
				if ctx.Err() != nil {
					return
				}
				lvl := b.log.Warn
				if errors.Is(err, meta.ErrStaleEpoch) {
					lvl = b.log.Debug
				}
				lvl("propose ISR change", "partition", p.String(), "isr", ap.ISR, "err", err)
				continue
			}
			b.log.Info("proposed ISR change", "partition", p.String(), "isr", ap.ISR, "leader_epoch", ap.LeaderEpoch, "partition_epoch", ap.PartitionEpoch)
		}
	}
}
