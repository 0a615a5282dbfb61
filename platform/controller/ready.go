package controller

import (
	"slices"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sluicehq/sluice/platform/meta"
)

// readyPoll is how often a starting controller checks whether its raft has
// caught up, until it has.
const readyPoll = 20 * time.Millisecond

// announceReady sets this node's raft_ready serf tag once its raft holds a
// configuration that names it and it leads or hears from a leader: a
// joining controller has then received the log up to the entry that added
// it, over a raft address that works. Only then does the active controller
// make it a voter (ensureVoter); a controller that never gets there (a
// wrong advertised address, a crash right after joining) stays a
// non-voter, which the quorum does not count.
func (c *Controller) announceReady() {
	defer c.wg.Done()
	t := time.NewTicker(readyPoll)
	defer t.Stop()
	for {
		if c.raftCaughtUp() {
			err := c.cfg.Membership.SetRaftReady()
			if err == nil {
				return
			}
			c.cfg.Logger.Warn("announce raft ready", "err", err)
		}
		select {
		case <-t.C:
		case <-c.shutdown:
			return
		}
	}
}

func (c *Controller) raftCaughtUp() bool {
	if c.raft.LastIndex() == 0 {
		return false
	}
	f := c.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	self := serverID(c.cfg.NodeID)
	if !slices.ContainsFunc(f.Configuration().Servers, func(s raft.Server) bool { return s.ID == self }) {
		return false
	}
	if c.IsLeader() {
		return true
	}
	id, _ := c.Leader()
	return id != meta.NoLeader
}
