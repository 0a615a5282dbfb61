package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/hashicorp/raft"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/meta"
)

// Errors of the quorum administration.
var (
	// ErrUnknownController: the node is not in the raft configuration (or,
	// for AddController, not a controller serf knows).
	ErrUnknownController = errors.New("unknown controller")
	// ErrQuorumAtRisk: the change would leave the quorum without a
	// majority of alive voters, or without any voter.
	ErrQuorumAtRisk = errors.New("change would break the controller quorum")
	// ErrControllerAlive: a controller serf shows alive cannot be removed
	// (the reconcile loop would add it back); stop it first.
	ErrControllerAlive = errors.New("controller is alive")
)

// RaftStatus is one controller's view of its raft.
type RaftStatus struct {
	NodeID meta.NodeID `json:"node_id"`
	// State is Leader, Follower, Candidate or Shutdown.
	State        string      `json:"state"`
	Term         uint64      `json:"term"`
	LastIndex    uint64      `json:"last_index"`
	CommitIndex  uint64      `json:"commit_index"`
	AppliedIndex uint64      `json:"applied_index"`
	Leader       meta.NodeID `json:"leader"`
}

// Status reports this controller's raft state, term and indexes.
func (c *Controller) Status() RaftStatus {
	st := c.raft.Stats()
	num := func(k string) uint64 {
		n, _ := strconv.ParseUint(st[k], 10, 64)
		return n
	}
	leader, _ := c.Leader()
	return RaftStatus{
		NodeID:       c.cfg.NodeID,
		State:        c.raft.State().String(),
		Term:         num("term"),
		LastIndex:    c.raft.LastIndex(),
		CommitIndex:  num("commit_index"),
		AppliedIndex: c.raft.AppliedIndex(),
		Leader:       leader,
	}
}

// Server is one member of the raft configuration.
type Server struct {
	ID      meta.NodeID `json:"id"`
	Address string      `json:"address"`
	// Voter is false for a non-voter still catching up.
	Voter bool `json:"voter"`
	// Alive says whether serf shows the node alive.
	Alive bool `json:"alive"`
}

// Servers returns the latest raft configuration, sorted by id.
func (c *Controller) Servers() ([]Server, error) {
	f := c.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("raft configuration: %w", err)
	}
	alive := c.aliveMembers()
	var out []Server
	for _, s := range f.Configuration().Servers {
		id := parseServerID(s.ID)
		out = append(out, Server{ID: id, Address: string(s.Address), Voter: s.Suffrage == raft.Voter, Alive: alive[id]})
	}
	slices.SortFunc(out, func(a, b Server) int { return int(a.ID) - int(b.ID) })
	return out, nil
}

func (c *Controller) aliveMembers() map[meta.NodeID]bool {
	alive := map[meta.NodeID]bool{c.cfg.NodeID: true}
	if c.cfg.Membership == nil {
		return alive
	}
	for _, m := range c.cfg.Membership.Members() {
		if m.Status == membership.StatusAlive && c.ourCluster(m) {
			alive[meta.NodeID(m.ID)] = true
		}
	}
	return alive
}

// RemoveController takes a dead controller out of the raft configuration
// (raft RemoveServer), so that the quorum stops counting it. It refuses a
// node that is not in the configuration (ErrUnknownController), one serf
// shows alive (ErrControllerAlive: a clean shutdown leaves the quorum by
// itself, and the reconcile loop adds alive controllers back), and a
// removal after which the alive voters would be no majority or no voter
// would be left (ErrQuorumAtRisk). Only the active controller can do it.
func (c *Controller) RemoveController(ctx context.Context, id meta.NodeID) error {
	if !c.IsLeader() {
		return c.notController()
	}
	f := c.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("remove controller %d: %w", id, err)
	}
	servers := f.Configuration().Servers
	i := slices.IndexFunc(servers, func(s raft.Server) bool { return s.ID == serverID(id) })
	if i < 0 {
		return fmt.Errorf("remove controller %d: not in the raft configuration: %w", id, ErrUnknownController)
	}
	if c.aliveMembers()[id] {
		return fmt.Errorf("remove controller %d: it is alive; stop it first (a clean shutdown leaves the quorum on its own): %w", id, ErrControllerAlive)
	}
	// The voters left must keep an alive majority (while this node leads,
	// removing a dead voter always does; serf's view may lag raft's).
	alive := c.aliveMembers()
	voters, up := 0, 0
	for _, s := range servers {
		if s.Suffrage == raft.Voter && s.ID != serverID(id) {
			voters++
			if alive[parseServerID(s.ID)] {
				up++
			}
		}
	}
	if servers[i].Suffrage == raft.Voter && (voters == 0 || up <= voters/2) {
		return fmt.Errorf("remove controller %d: the alive voters left would be no majority of the rest: %w", id, ErrQuorumAtRisk)
	}
	if err := c.raft.RemoveServer(serverID(id), f.Index(), c.cfg.ApplyTimeout).Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return c.notController() // retriable: ask the new leader
		}
		return fmt.Errorf("remove controller %d: %w", id, err)
	}
	c.cfg.Logger.Info("removed controller from the quorum", "node", id)
	return ctx.Err()
}

// AddController makes an alive controller-role serf member a raft voter
// now (the reconcile loop does the same on its own, first as a non-voter
// until the member reports its raft caught up; this is that step on
// demand). ErrUnknownController when serf shows no such alive controller.
func (c *Controller) AddController(ctx context.Context, id meta.NodeID) error {
	if !c.IsLeader() {
		return c.notController()
	}
	if c.cfg.Membership == nil {
		return fmt.Errorf("add controller %d: no membership: %w", id, ErrUnknownController)
	}
	for _, m := range c.cfg.Membership.Members() {
		if meta.NodeID(m.ID) != id || m.Status != membership.StatusAlive || !c.ourCluster(m) {
			continue
		}
		if !m.HasRole(meta.RoleController) || m.RaftAddr == "" {
			return fmt.Errorf("add controller %d: the node has no controller role: %w", id, ErrUnknownController)
		}
		if id == c.cfg.NodeID {
			return nil
		}
		c.ensureVoter(id, m.RaftAddr, m.RaftReady)
		return ctx.Err()
	}
	return fmt.Errorf("add controller %d: serf shows no alive node with that id: %w", id, ErrUnknownController)
}
