package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// departPoll is how often Depart looks at the raft configuration.
const departPoll = 10 * time.Millisecond

// Depart hands this controller's part in the quorum over before its node
// stops for good. Call it after the node left serf (membership.Leave) and
// before Close: while this raft still runs, the active controller can
// commit the configuration change that takes it out, which it makes for
// a member that left when the others keep an alive majority. If this node
// leads, Depart first transfers leadership, so that another controller
// sees the leave. It returns when this node is no voter of its latest
// configuration, when it is the only one (nobody could take it out), or
// when ctx ends (an error wrapping ctx's; Close may still follow).
func (c *Controller) Depart(ctx context.Context) error {
	self := serverID(c.cfg.NodeID)
	tick := time.NewTicker(departPoll)
	defer tick.Stop()
	transferred := false
	for {
		f := c.raft.GetConfiguration()
		if err := f.Error(); err != nil {
			return fmt.Errorf("depart from the controller quorum: %w", err)
		}
		voter, others := false, 0
		for _, s := range f.Configuration().Servers {
			switch {
			case s.Suffrage != raft.Voter:
			case s.ID == self:
				voter = true
			default:
				others++
			}
		}
		if !voter || others == 0 {
			return nil
		}
		if !transferred && c.IsLeader() {
			transferred = true
			if err := c.raft.LeadershipTransfer().Error(); err != nil {
				c.cfg.Logger.Warn("hand leadership over before leaving", "err", err)
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("depart from the controller quorum: %w", ctx.Err())
		case <-c.shutdown:
			return fmt.Errorf("depart from the controller quorum: %w", ErrClosed)
		}
	}
}
