package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
)

// Broker sessions (KRaft-like; docs/controller.md): brokers heartbeat to
// the active controller every Config.BrokerHeartbeat-ish interval (the
// broker chooses; platform uses a sixth of the timeout); the active
// controller fences a heartbeating broker it has not heard from for
// BrokerSessionTimeout, which moves its leaderships and ISR memberships at
// once. Serf's failure detection stays the second signal.

// DefaultBrokerSessionTimeout is Config.BrokerSessionTimeout's default.
const DefaultBrokerSessionTimeout = 1500 * time.Millisecond

// errStarting: this node leads raft but its leader loop has not yet
// caught up (Barrier); the broker retries at its next heartbeat. It
// counts as ErrNotController (retriable, not_controller on the wire).
var errStarting = fmt.Errorf("active controller still starting: %w", ErrNotController)

// SessionsEnabled reports whether this controller fences brokers by
// heartbeat session.
func (c *Controller) SessionsEnabled() bool { return c.cfg.BrokerSessionTimeout > 0 }

// SessionTimeout is the broker session timeout (<= 0: sessions disabled).
func (c *Controller) SessionTimeout() time.Duration { return c.cfg.BrokerSessionTimeout }

// Heartbeat records a broker's heartbeat on the active controller and
// commits what it changes: the first or a new directory id (a new one
// makes every replica of the broker a new one, see meta.RegisterBroker),
// or a fenced broker coming back. Other controllers answer a
// *NotControllerError, except a halted one (Halted), which refuses every
// heartbeat with its halt error: its node's broker follows the metadata
// that stopped at the damaged entry, so it must not be kept alive through
// this node (a not_controller answer would send the heartbeat on to the
// active controller); its session expires and the active controller fences
// it, moving its leaderships and ISR memberships to brokers that see the
// current metadata.
func (c *Controller) Heartbeat(ctx context.Context, hb meta.Heartbeat) (meta.HeartbeatReply, error) {
	if hb.DirID == "" || hb.Broker < 0 {
		return meta.HeartbeatReply{}, fmt.Errorf("heartbeat of broker %d: directory id required: %w", hb.Broker, meta.ErrInvalidRequest)
	}
	if err := c.Halted(); err != nil {
		return meta.HeartbeatReply{}, fmt.Errorf("heartbeat of broker %d: %w", hb.Broker, err)
	}
	c.seen.beat(hb.Broker, c.cfg.Now())
	if !c.IsLeader() {
		if hb.Observe {
			return meta.HeartbeatReply{SessionTimeoutMs: c.cfg.BrokerSessionTimeout.Milliseconds()}, nil
		}
		return meta.HeartbeatReply{}, c.notController()
	}
	s := c.sess.Load()
	if s == nil || !c.SessionsEnabled() {
		return meta.HeartbeatReply{}, fmt.Errorf("heartbeat of broker %d: %w", hb.Broker, errStarting)
	}
	s.beat(hb.Broker, c.cfg.Now())
	reply := meta.HeartbeatReply{SessionTimeoutMs: c.cfg.BrokerSessionTimeout.Milliseconds()}
	cmd, known := heartbeatCommand(c.Metadata(), hb)
	if !known {
		return reply, nil
	}
	reply.Registered = true
	if cmd != nil {
		res, err := c.Propose(ctx, *cmd)
		if err != nil {
			return reply, fmt.Errorf("heartbeat of broker %d: %w", hb.Broker, err)
		}
		if res.Changed {
			c.cfg.Logger.Info("broker registered by heartbeat", "broker", hb.Broker, "dir_id", hb.DirID,
				"broker_epoch", res.Broker.Epoch, "partitions_changed", len(res.Partitions))
		}
	}
	if b, ok := c.Metadata().Broker(hb.Broker); ok {
		reply.BrokerEpoch, reply.Fenced = b.Epoch, !b.Alive()
	}
	return reply, nil
}

// sessionCheckInterval is how often the leader loop looks for expired
// sessions: a tenth of the timeout, so a silent broker is fenced within
// 1.1 timeouts of its last heartbeat.
func (c *Controller) sessionCheckInterval() time.Duration {
	return max(c.cfg.BrokerSessionTimeout/10, 5*time.Millisecond)
}

// expireSessions fences every heartbeating broker whose session ran out.
func (c *Controller) expireSessions(ctx context.Context) {
	s := c.sess.Load()
	if s == nil {
		return
	}
	for _, id := range s.expired(c.Metadata(), c.cfg.Now()) {
		if ctx.Err() != nil {
			return
		}
		c.fence(ctx, id, fmt.Sprintf("no heartbeat for %s (session timeout)", c.cfg.BrokerSessionTimeout))
	}
}

// heartbeatOwnsLiveness reports whether a fenced broker b must come back
// through its own heartbeat rather than serf's view: it heartbeats (its
// directory id is known) and sessions are on. A broker whose process
// stalls keeps its serf agent's answers going for a while; it must not be
// unfenced for that.
func (c *Controller) heartbeatOwnsLiveness(b *meta.Broker) bool {
	if !c.SessionsEnabled() || b.DirID == "" || b.Alive() {
		return false
	}
	s := c.sess.Load()
	return s == nil || !s.heard(b.ID, c.cfg.Now())
}

// sessionLive reports whether b heartbeats and this active controller
// heard from it within the session timeout.
func (c *Controller) sessionLive(b *meta.Broker) bool {
	if !c.SessionsEnabled() || b.DirID == "" {
		return false
	}
	s := c.sess.Load()
	return s != nil && s.heard(b.ID, c.cfg.Now())
}
