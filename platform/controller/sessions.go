package controller

import (
	"sync"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
)

// sessions is the active controller's view of broker liveness from
// heartbeats (KRaft's BrokerHeartbeatManager), a plain value behind a
// mutex: time comes in as an argument. Only brokers that heartbeat are
// tracked: a broker whose metadata carries a directory id (which only a
// heartbeat records) is expected to heartbeat, and is fenced when it falls
// silent for longer than the timeout. Others are left to serf.
type sessions struct {
	mu      sync.Mutex
	timeout time.Duration
	since   time.Time // when this controller began to lead: the grace for brokers not heard yet
	last    map[meta.NodeID]time.Time
}

func newSessions(timeout time.Duration, now time.Time) *sessions {
	return &sessions{timeout: timeout, since: now, last: map[meta.NodeID]time.Time{}}
}

// seedFrom copies what o saw into s: a new active controller that had
// been observing heartbeats knows who fell silent before it took over.
func (s *sessions) seedFrom(o *sessions) {
	o.mu.Lock()
	seen := make(map[meta.NodeID]time.Time, len(o.last))
	for id, t := range o.last {
		seen[id] = t
	}
	o.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range seen {
		if t.After(s.last[id]) {
			s.last[id] = t
		}
	}
}

// beat records a heartbeat from id at now.
func (s *sessions) beat(id meta.NodeID, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.After(s.last[id]) {
		s.last[id] = now
	}
}

// heard reports whether id heartbeated within the timeout at now.
func (s *sessions) heard(id meta.NodeID, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := s.last[id]
	return ok && now.Sub(last) <= s.timeout
}

// expired returns the alive, heartbeating brokers of c whose session ran
// out at now: no heartbeat for longer than the timeout, counting from this
// leadership's start for a broker not heard from at all (a new active
// controller that saw no heartbeat of a broker gives it one full timeout).
func (s *sessions) expired(c *meta.Cluster, now time.Time) []meta.NodeID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []meta.NodeID
	for _, b := range c.BrokerList() {
		if !b.Alive() || b.DirID == "" || !b.HasRole(meta.RoleBroker) {
			continue
		}
		last, ok := s.last[b.ID]
		if !ok {
			last = s.since
		}
		if now.Sub(last) > s.timeout {
			out = append(out, b.ID)
		}
	}
	return out
}

// heartbeatCommand is what a heartbeat asks of the metadata c: nothing,
// or a RegisterBroker that records a new directory id (the broker lost its
// data: meta.Apply makes its replicas new ones) or brings a fenced broker
// back. known is false when c has no such broker (serf registers it).
func heartbeatCommand(c *meta.Cluster, hb meta.Heartbeat) (cmd *meta.Command, known bool) {
	b, ok := c.Broker(hb.Broker)
	if !ok {
		return nil, false
	}
	if b.Alive() && b.DirID == hb.DirID {
		return nil, true
	}
	nb := *b
	nb.DirID = hb.DirID
	return &meta.Command{Op: meta.OpRegisterBroker, RegisterBroker: &meta.RegisterBroker{Broker: nb}}, true
}
