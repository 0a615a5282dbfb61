package membership

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Join backoff defaults (Config.RetryJoinMaxBackoff documents them).
const (
	firstJoinBackoff   = 100 * time.Millisecond
	defaultJoinBackoff = 5 * time.Second
)

// retryJoin joins cfg.Join, retrying with capped exponential backoff and
// jitter while no seed answers. Serf is already listening, so while this
// node waits for its seeds, other nodes can join it: a cold start in which
// every node lists the others converges on one cluster.
func (m *Membership) retryJoin(ctx context.Context, cfg Config) error {
	if cfg.RetryJoinTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.RetryJoinTimeout)
		defer cancel()
	}
	maxWait := cfg.RetryJoinMaxBackoff
	if maxWait <= 0 {
		maxWait = defaultJoinBackoff
	}
	wait := firstJoinBackoff
	for attempt := 1; ; attempt++ {
		err := m.Join(ctx, cfg.Join)
		if err == nil {
			return nil
		}
		// Someone else may have joined us meanwhile: then we are in the
		// cluster, whatever our seeds answer.
		if m.serf.NumNodes() > 1 {
			m.log.Info("joined through a member that contacted this node", "seeds", cfg.Join)
			return nil
		}
		d := backoff(wait, maxWait)
		m.log.Warn("join failed, retrying", "seeds", cfg.Join, "attempt", attempt, "retry_in", d.Round(time.Millisecond), "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("join %v: no seed answered in %d attempts: %w (last error: %v)", cfg.Join, attempt, ctx.Err(), err)
		case <-time.After(d):
		}
		wait = min(2*wait, maxWait)
	}
}

// backoff returns wait with ±25% jitter, capped at max, so nodes that
// started together do not retry in lockstep.
func backoff(wait, max time.Duration) time.Duration {
	j := time.Duration(rand.Int64N(int64(wait)/2+1)) - wait/4
	return min(wait+j, max)
}
