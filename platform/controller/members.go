package controller

import (
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/meta"
)

// pendingMember is the latest news about one member, waiting for the leader
// loop.
type pendingMember struct {
	member membership.Member
	reaped bool
}

// pendingMembers coalesces membership events per node id, so handing them to
// the leader loop never blocks and never loses the latest state of a member.
type pendingMembers struct {
	mu    sync.Mutex
	byID  map[int32]pendingMember
	order []int32
}

func (p *pendingMembers) add(ev membership.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byID == nil {
		p.byID = map[int32]pendingMember{}
	}
	id := ev.Member.ID
	if _, ok := p.byID[id]; !ok {
		p.order = append(p.order, id)
	}
	p.byID[id] = pendingMember{member: ev.Member, reaped: ev.Type == membership.EventReap}
}

func (p *pendingMembers) take() []pendingMember {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]pendingMember, 0, len(p.order))
	for _, id := range p.order {
		out = append(out, p.byID[id])
	}
	p.byID, p.order = nil, nil
	return out
}

// membershipLoop is the only reader of Membership.Events. It queues every
// event for the leader loop (which ignores the queue unless this node leads)
// and, until raft has state, tries bootstrap-expect.
func (c *Controller) membershipLoop() {
	defer c.wg.Done()
	events := c.cfg.Membership.Events()
	var bootTick <-chan time.Time
	if c.cfg.BootstrapExpect > 1 && !c.maybeBootstrap() {
		t := time.NewTicker(c.cfg.BootstrapPoll)
		defer t.Stop()
		bootTick = t.C
	}
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil // membership closed; keep serving until Close
				continue
			}
			c.pending.add(ev)
			select {
			case c.reconcileCh <- struct{}{}:
			default: // a poke is already pending
			}
			if bootTick != nil && ev.Type == membership.EventJoin && c.maybeBootstrap() {
				bootTick = nil
			}
		case <-bootTick:
			if c.maybeBootstrap() {
				bootTick = nil
			}
		case <-c.shutdown:
			return
		}
	}
}

// maybeBootstrap is Consul's bootstrap-expect: when this node has no raft
// state and serf shows at least BootstrapExpect alive controllers, bootstrap
// raft with all of them. Every node sees the same members and so proposes the
// same configuration. It reports whether nothing is left to do.
func (c *Controller) maybeBootstrap() bool {
	if c.raft.LastIndex() > 0 {
		return true // bootstrapped before, or added by a leader
	}
	var servers []raft.Server
	for _, m := range c.cfg.Membership.Members() {
		if m.Status != membership.StatusAlive || !m.HasRole(meta.RoleController) || m.RaftAddr == "" || !c.ourCluster(m) {
			continue
		}
		servers = append(servers, raft.Server{
			Suffrage: raft.Voter,
			ID:       serverID(meta.NodeID(m.ID)),
			Address:  raft.ServerAddress(m.RaftAddr),
		})
	}
	if len(servers) < c.cfg.BootstrapExpect {
		return false
	}
	if !slices.ContainsFunc(servers, func(s raft.Server) bool { return s.ID == serverID(c.cfg.NodeID) }) {
		c.cfg.Logger.Warn("bootstrap-expect: this node is not among the controllers serf shows; check its roles and raft address tags")
		return false
	}
	slices.SortFunc(servers, func(a, b raft.Server) int { return int(parseServerID(a.ID) - parseServerID(b.ID)) })
	if err := c.bootstrap(servers); err != nil {
		c.cfg.Logger.Warn("bootstrap-expect", "err", err)
		return false
	}
	return true
}
