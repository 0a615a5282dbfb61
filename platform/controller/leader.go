package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/meta"
)

// The reconcile loop follows Consul's leader.go: leadership is watched
// through raft's NotifyCh; on gaining it the new active controller issues a
// Barrier (so it has applied everything earlier leaders committed), makes
// sure the cluster has an ID, reconciles every serf member once, then each
// membership event as it comes and everything again every
// ReconcileInterval. Each step compares serf's view with the metadata and
// proposes only the difference, so repeating it is harmless.

// monitorLeadership starts and stops the leader loop as raft leadership
// comes and goes.
func (c *Controller) monitorLeadership() {
	defer c.wg.Done()
	var (
		cancel context.CancelFunc
		loop   sync.WaitGroup
	)
	stop := func() {
		if cancel != nil {
			cancel()
			loop.Wait()
			cancel = nil
		}
	}
	for {
		select {
		case isLeader := <-c.leaderNotify:
			if !isLeader {
				if cancel != nil {
					c.cfg.Logger.Info("lost controller leadership", "node", c.cfg.NodeID)
				}
				stop()
				continue
			}
			if cancel != nil {
				continue
			}
			c.cfg.Logger.Info("became the active controller", "node", c.cfg.NodeID)
			ctx, cancelLoop := context.WithCancel(context.Background())
			cancel = cancelLoop
			loop.Add(1)
			go func() {
				defer loop.Done()
				c.leaderLoop(ctx)
			}()
		case <-c.shutdown:
			stop()
			return
		}
	}
}

func (c *Controller) leaderLoop(ctx context.Context) {
	for {
		err := c.raft.Barrier(c.cfg.ApplyTimeout).Error()
		if err == nil {
			break
		}
		c.cfg.Logger.Warn("leader barrier failed", "err", err)
		if !sleepCtx(ctx, c.cfg.ReconcileInterval) {
			return
		}
	}
	c.ensureClusterID(ctx)
	sess := newSessions(c.cfg.BrokerSessionTimeout, c.cfg.Now())
	sess.seedFrom(c.seen)
	c.sess.Store(sess)
	defer c.sess.Store(nil)
	c.pending.take() // the full pass below covers whatever was queued
	c.reconcileAll(ctx)
	c.reconcileInternalTopics(ctx)
	tick := time.NewTicker(c.cfg.ReconcileInterval)
	defer tick.Stop()
	var sessTick <-chan time.Time
	if c.SessionsEnabled() {
		t := time.NewTicker(c.sessionCheckInterval())
		defer t.Stop()
		sessTick = t.C
	}
	rebalance, stopRebalance := c.rebalanceTicker()
	defer stopRebalance()
	for {
		select {
		case <-ctx.Done():
			return
		case <-rebalance:
			c.rebalanceLeaders(ctx)
		case <-c.reconcileCh:
			for _, p := range c.pending.take() {
				c.reconcileMember(ctx, p.member, p.reaped)
			}
			c.reconcileInternalTopics(ctx)
		case <-tick.C:
			c.reconcileAll(ctx)
			c.reconcileInternalTopics(ctx)
		case <-sessTick:
			c.expireSessions(ctx)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (c *Controller) ensureClusterID(ctx context.Context) {
	if c.Metadata().ClusterID != "" {
		return
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	_, err := c.Propose(ctx, meta.Command{Op: meta.OpSetClusterID, SetClusterID: &meta.SetClusterID{ClusterID: hex.EncodeToString(b[:])}})
	if err != nil && !errors.Is(err, meta.ErrInvalidRequest) {
		c.cfg.Logger.Warn("set cluster id", "err", err)
	}
}

// reconcileAll reconciles every serf member, then fences brokers that serf
// no longer knows at all (reaped while no controller was leading).
func (c *Controller) reconcileAll(ctx context.Context) {
	if c.cfg.Membership == nil {
		return
	}
	members := c.cfg.Membership.Members()
	known := map[meta.NodeID]bool{}
	for _, m := range members {
		if !c.ourCluster(m) {
			continue
		}
		known[meta.NodeID(m.ID)] = true
		if ctx.Err() != nil {
			return
		}
		c.reconcileMember(ctx, m, false)
	}
	for _, b := range c.Metadata().BrokerList() {
		if !known[b.ID] && b.Alive() && ctx.Err() == nil {
			c.fence(ctx, b.ID, "unknown to serf")
		}
	}
}

// reconcileMember brings the metadata (and the raft configuration, for
// controllers) in line with one member's serf state.
func (c *Controller) reconcileMember(ctx context.Context, m membership.Member, reaped bool) {
	if !c.ourCluster(m) {
		// Never register, fence or make a voter of another cluster's node
		// (membership filters them too; this holds whatever feeds us).
		c.cfg.Logger.Warn("ignoring a member of another cluster", "member", m.Name, "id", m.ID, "its_cluster", m.Cluster)
		return
	}
	id := meta.NodeID(m.ID)
	if reaped || m.Status != membership.StatusAlive {
		if c.aliveTwin(m) {
			return // the same node id is alive under another serf name
		}
		if b, ok := c.Metadata().Broker(id); ok && b.Alive() {
			if !reaped && m.Status == membership.StatusFailed && c.sessionLive(b) {
				// Serf lost it but its heartbeats still arrive: the
				// session is the first signal; fencing now would only
				// flap with its next heartbeat.
				c.cfg.Logger.Debug("serf reports a broker failed while its session is live; not fencing", "broker", id)
				return
			}
			why := "serf status " + string(m.Status)
			if reaped {
				why = "reaped by serf"
			}
			c.fence(ctx, id, why)
		}
		if m.HasRole(meta.RoleController) && (reaped || m.Status == membership.StatusLeft) {
			c.removeVoter(id)
		}
		return
	}
	want := meta.Broker{ID: id, HTTPAddr: m.HTTPAddr, RaftAddr: m.RaftAddr, SerfAddr: m.SerfAddr, ClusterAddr: m.ClusterAddr,
		Rack: m.Rack, Roles: slices.Clone(m.Roles), MaxReplicas: m.MaxReplicas}
	if b, ok := c.Metadata().Broker(id); ok && c.heartbeatOwnsLiveness(b) {
		// Fenced for a silent session: only its heartbeat brings it back.
	} else if !ok || !b.Alive() || !sameAddrs(b, &want) {
		if _, err := c.RegisterBroker(ctx, want); err != nil {
			c.cfg.Logger.Warn("register broker", "broker", id, "err", err)
		} else {
			c.cfg.Logger.Info("registered broker", "broker", id, "http_addr", want.HTTPAddr, "rejoined", ok)
		}
	}
	if m.HasRole(meta.RoleController) && m.RaftAddr != "" && id != c.cfg.NodeID {
		c.ensureVoter(id, m.RaftAddr, m.RaftReady)
	}
}

func sameAddrs(a, b *meta.Broker) bool {
	return a.HTTPAddr == b.HTTPAddr && a.RaftAddr == b.RaftAddr && a.SerfAddr == b.SerfAddr && a.ClusterAddr == b.ClusterAddr &&
		a.Rack == b.Rack && slices.Equal(a.Roles, b.Roles) && a.MaxReplicas == b.MaxReplicas
}

func (c *Controller) aliveTwin(m membership.Member) bool {
	for _, o := range c.cfg.Membership.Members() {
		if o.ID == m.ID && o.Name != m.Name && o.Status == membership.StatusAlive {
			return true
		}
	}
	return false
}

func (c *Controller) fence(ctx context.Context, id meta.NodeID, why string) {
	res, err := c.Propose(ctx, meta.Command{Op: meta.OpFenceBroker, FenceBroker: &meta.FenceBroker{ID: id}})
	if err != nil {
		c.cfg.Logger.Warn("fence broker", "broker", id, "err", err)
		return
	}
	c.cfg.Logger.Info("fenced broker", "broker", id, "reason", why, "partitions_moved", len(res.Partitions))
}

// ensureVoter brings a controller into the raft configuration in two
// steps: first as a non-voter (which the quorum does not count, so adding
// one that never answers costs nothing), then, once the member reports that
// its raft caught up (ready, see announceReady), as a voter. It also
// updates a member's changed address.
func (c *Controller) ensureVoter(id meta.NodeID, addr string, ready bool) {
	f := c.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return
	}
	var cur *raft.Server
	for _, s := range f.Configuration().Servers {
		if s.ID == serverID(id) {
			cur = &s
			break
		}
	}
	sameAddr := cur != nil && string(cur.Address) == addr
	switch {
	case cur != nil && cur.Suffrage == raft.Voter && sameAddr:
		return
	case cur != nil && cur.Suffrage == raft.Voter, ready:
		if err := c.raft.AddVoter(serverID(id), raft.ServerAddress(addr), 0, c.cfg.ApplyTimeout).Error(); err != nil {
			c.cfg.Logger.Warn("add raft voter", "node", id, "err", err)
			return
		}
		c.cfg.Logger.Info("added raft voter", "node", id, "raft_addr", addr)
	case sameAddr:
		return // a non-voter still catching up
	default:
		if err := c.raft.AddNonvoter(serverID(id), raft.ServerAddress(addr), 0, c.cfg.ApplyTimeout).Error(); err != nil {
			c.cfg.Logger.Warn("add raft non-voter", "node", id, "err", err)
			return
		}
		c.cfg.Logger.Info("added raft non-voter; a voter once it has caught up", "node", id, "raft_addr", addr)
	}
}

// removeVoter takes a controller that left for good out of the raft
// configuration (failed controllers stay: they count as absent voters until
// they come back or leave).
func (c *Controller) removeVoter(id meta.NodeID) {
	if id == c.cfg.NodeID {
		return
	}
	f := c.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return
	}
	servers := f.Configuration().Servers
	for _, s := range servers {
		if s.ID != serverID(id) {
			continue
		}
		if !c.quorumWithout(servers, s.ID) {
			c.cfg.Logger.Warn("keeping a departed raft voter: without it the alive voters would be no majority", "node", id)
			return
		}
		if err := c.raft.RemoveServer(s.ID, 0, c.cfg.ApplyTimeout).Error(); err != nil {
			c.cfg.Logger.Warn("remove raft voter", "node", id, "err", err)
			return
		}
		c.cfg.Logger.Info("removed raft voter", "node", id)
		return
	}
}

// ourCluster reports whether m belongs to this controller's cluster.
func (c *Controller) ourCluster(m membership.Member) bool {
	return m.Cluster == c.cfg.Membership.Cluster()
}

// quorumWithout reports whether the voters of servers other than gone, of
// which serf shows alive those that are, still hold a majority of the
// configuration without gone. A controller that leaves while another voter
// is down stays in the configuration: removing it would leave a
// configuration whose majority is not alive, and nothing could then be
// committed (not even adding the node back) until the down voter returns.
func (c *Controller) quorumWithout(servers []raft.Server, gone raft.ServerID) bool {
	alive := map[raft.ServerID]bool{serverID(c.cfg.NodeID): true}
	for _, m := range c.cfg.Membership.Members() {
		if m.Status == membership.StatusAlive && c.ourCluster(m) {
			alive[serverID(meta.NodeID(m.ID))] = true
		}
	}
	voters, up := 0, 0
	for _, s := range servers {
		if s.ID == gone || s.Suffrage != raft.Voter {
			continue
		}
		voters++
		if alive[s.ID] {
			up++
		}
	}
	return up > voters/2
}
