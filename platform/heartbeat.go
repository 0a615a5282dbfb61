package platform

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/controller"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// heartbeats sends the broker's heartbeats to the active controller: the
// local one when it leads, else the one a not_controller answer names
// (over the internal heartbeat route, on that node's cluster listener:
// /internal/ routes are served there only). A broker-only node asks the
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
	if c := h.n.controller; c != nil {
		// This node's metadata stopped at a damaged entry: no heartbeat
		// (not even observe ones), so that its session expires and the
		// active controller fences this broker (controller.Heartbeat).
		if err := c.Halted(); err != nil {
			return meta.HeartbeatReply{}, fmt.Errorf("no heartbeats from a node whose controller halted: %w", err)
		}
	}
	reply, primary, err := h.sendActive(ctx, hb)
	h.observe(ctx, hb, primary)
	return reply, err
}

// observe sends hb, marked Observe, to every other alive controller, in
// parallel and bounded by one heartbeat interval, so that whichever takes
// over next knows who was alive (controller.Heartbeat). primary is the
// address the heartbeat went to ("" for the local controller).
func (h *heartbeats) observe(ctx context.Context, hb meta.Heartbeat, primary string) {
	n := h.n
	interval := n.cfg.Timing.BrokerHeartbeat
	if interval <= 0 {
		interval = broker.DefaultHeartbeatInterval
	}
	ctx, cancel := context.WithTimeout(ctx, interval)
	defer cancel()
	hb.Observe = true
	var wg sync.WaitGroup
	for _, m := range n.members.Members() {
		if m.Status != membership.StatusAlive || !m.HasRole(RoleController) || m.ClusterAddr == "" ||
			m.ID == n.cfg.NodeID || m.ClusterAddr == primary {
			continue
		}
		wg.Add(1)
		go func(addr string) {
			defer wg.Done()
			_, _ = n.peer.Heartbeat(ctx, addr, hb) // best effort: the active controller already has it
		}(m.ClusterAddr)
	}
	wg.Wait() // (the local controller, if any, saw the heartbeat in sendActive)
}

// sendActive sends hb to the active controller and returns its reply and
// the address it went to ("" for the local controller).
func (h *heartbeats) sendActive(ctx context.Context, hb meta.Heartbeat) (meta.HeartbeatReply, string, error) {
	n := h.n
	if n.controller != nil {
		reply, err := n.controller.Heartbeat(ctx, hb)
		var nc *controller.NotControllerError
		if errors.As(err, &nc) && nc.LeaderClusterAddr != "" {
			reply, err = n.peer.Heartbeat(ctx, nc.LeaderClusterAddr, hb)
			return reply, nc.LeaderClusterAddr, err
		}
		return reply, "", err
	}
	remote := n.remote
	if remote == nil {
		return meta.HeartbeatReply{}, "", errors.New("no controller to heartbeat to")
	}
	addr, ok := remote.pick()
	if !ok {
		return meta.HeartbeatReply{}, "", &controller.NotControllerError{LeaderID: meta.NoLeader}
	}
	reply, err := n.peer.Heartbeat(ctx, addr, hb)
	var we *wire.Error
	// A not_controller answer names the active controller's HTTP
	// address; its cluster address is what serf shows for its id.
	if errors.As(err, &we) && we.Code == wire.CodeNotController && we.Details != nil && we.Details.LeaderID != nil {
		if leader := remote.clusterAddrOf(*we.Details.LeaderID); leader != "" && leader != addr {
			reply, err = n.peer.Heartbeat(ctx, leader, hb)
			return reply, leader, err
		}
	}
	if err != nil {
		remote.failed()
		return reply, addr, fmt.Errorf("heartbeat to %s: %w", addr, err)
	}
	return reply, addr, nil
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
