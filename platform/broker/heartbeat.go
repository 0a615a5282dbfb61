package broker

import (
	"context"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
)

// DefaultHeartbeatInterval is Config.HeartbeatInterval's default: six
// heartbeats per default session timeout (controller.DefaultBrokerSessionTimeout).
const DefaultHeartbeatInterval = 250 * time.Millisecond

// heartbeatLoop sends a heartbeat every HeartbeatInterval (the first at
// once), and reports lost replicas the metadata does not show yet. It is
// owned by the broker: Close stops it and waits.
func (b *Broker) heartbeatLoop(ctx context.Context) {
	defer close(b.hbDone)
	t := time.NewTimer(0)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if b.cfg.Heartbeat != nil {
			hctx, cancel := context.WithTimeout(ctx, 2*b.cfg.HeartbeatInterval+time.Second)
			reply, err := b.cfg.Heartbeat(hctx, meta.Heartbeat{Broker: meta.NodeID(b.cfg.NodeID), DirID: b.dirID, BrokerEpoch: b.epoch.Load()})
			cancel()
			switch {
			case err != nil && ctx.Err() == nil:
				failures++
				if failures == 20 {
					b.log.Warn("heartbeats to the active controller keep failing", "err", err)
				} else {
					b.log.Debug("heartbeat failed", "err", err)
				}
			case err == nil:
				failures = 0
				if reply.BrokerEpoch != 0 {
					b.epoch.Store(reply.BrokerEpoch)
				}
			}
		}
		b.reportLost(ctx)
		t.Reset(b.cfg.HeartbeatInterval)
	}
}
