package platform

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/sluicehq/sluice/platform/controller"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// heartbeats sends the broker's heartbeats to the active controller: the
// local one when it leads, else the one a not_controller answer names
// (over the internal heartbeat route). A broker-only node asks the
// controllers serf shows.
type heartbeats struct {
	n *Node
	// paused, in tests, drops every heartbeat: a process whose heartbeats
	// stop while its serf agent still answers (a stalled node).
	paused atomic.Bool
}

func (h *heartbeats) send(ctx context.Context, hb meta.Heartbeat) (meta.HeartbeatReply, error) {
	if h.paused.Load() {
		return meta.HeartbeatReply{}, errors.New("heartbeats paused")
	}
	n := h.n
	if n.controller != nil {
		reply, err := n.controller.Heartbeat(ctx, hb)
		var nc *controller.NotControllerError
		if errors.As(err, &nc) && nc.LeaderHTTPAddr != "" {
			return n.peer.Heartbeat(ctx, nc.LeaderHTTPAddr, hb)
		}
		return reply, err
	}
	remote := n.remote
	if remote == nil {
		return meta.HeartbeatReply{}, errors.New("no controller to heartbeat to")
	}
	addr, ok := remote.pick()
	if !ok {
		return meta.HeartbeatReply{}, &controller.NotControllerError{LeaderID: meta.NoLeader}
	}
	reply, err := n.peer.Heartbeat(ctx, addr, hb)
	var we *wire.Error
	if errors.As(err, &we) && we.Code == wire.CodeNotController && we.Details != nil && we.Details.LeaderAddr != "" && we.Details.LeaderAddr != addr {
		return n.peer.Heartbeat(ctx, we.Details.LeaderAddr, hb)
	}
	if err != nil {
		remote.failed()
		return reply, fmt.Errorf("heartbeat to %s: %w", addr, err)
	}
	return reply, nil
}

// heartbeatFunc is the broker's Config.Heartbeat: nil when heartbeat
// sessions are off.
func (n *Node) heartbeatFunc() func(context.Context, meta.Heartbeat) (meta.HeartbeatReply, error) {
	if n.cfg.Timing.BrokerSessionTimeout < 0 {
		return nil
	}
	return n.hb.send
}

// SetHeartbeatsPaused stops (true) or resumes (false) the broker's
// heartbeats to the active controller while everything else, serf
// included, keeps running: fault injection for a node whose process
// stalls (a SIGSTOP, a long pause) as the controller's session sees it.
func (n *Node) SetHeartbeatsPaused(paused bool) { n.hb.paused.Store(paused) }

// Kill stops the node the way a crash looks to the others, for fault
// tests: it neither leaves serf nor departs the controller quorum, so the
// others learn that it is gone only from its silence (its broker session
// expiring, serf's failure detection). Its files are closed as by Close.
func (n *Node) Kill() error {
	n.abrupt.Store(true)
	return n.Close()
}
