package platform

import (
	"time"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/controller"
)

// Timing overrides protocol timings. The zero value keeps the defaults:
// hashicorp/raft's (1 s heartbeat and election timeouts) and serf's LAN
// profile (1 s probes). Tests and one-process demo clusters shorten them
// (FastTiming) so that elections and failure detection take milliseconds.
type Timing struct {
	// RaftHeartbeat, RaftElection, RaftLeaderLease and RaftCommit are
	// hashicorp/raft's HeartbeatTimeout, ElectionTimeout,
	// LeaderLeaseTimeout and CommitTimeout.
	RaftHeartbeat, RaftElection, RaftLeaderLease, RaftCommit time.Duration
	// Reconcile is how often the active controller compares serf's
	// members with the metadata in full (events trigger it in between).
	Reconcile time.Duration
	// SerfProbeInterval, SerfProbeTimeout and SerfGossipInterval tune
	// failure detection and gossip.
	SerfProbeInterval, SerfProbeTimeout, SerfGossipInterval time.Duration
	// ReplicaLagMax is replica.lag.time.max.ms: a follower that has not
	// caught up with its leader for this long leaves the ISR. Zero keeps
	// broker.DefaultReplicaLagMax (10 s).
	ReplicaLagMax time.Duration
	// BrokerSessionTimeout: the active controller fences a broker it has
	// not heard a heartbeat from for this long. Zero keeps
	// controller.DefaultBrokerSessionTimeout (1.5 s); negative turns
	// heartbeat sessions off (serf alone detects failures).
	BrokerSessionTimeout time.Duration
	// BrokerHeartbeat is the interval between a broker's heartbeats. Zero
	// keeps broker.DefaultHeartbeatInterval (250 ms).
	BrokerHeartbeat time.Duration
	// AccessRecheck is how often an open WebSocket's credential and ACLs
	// are checked again (auth on). Zero keeps auth.DefaultRecheckInterval
	// (10 s).
	AccessRecheck time.Duration
	// StatsInterval is how often the node samples its throughput and group
	// lag for /v1/stats/history (the console's charts). Zero keeps
	// stats.DefaultInterval (5 s); 15 minutes of samples are kept.
	StatsInterval time.Duration
}

// FastTiming is Timing for loopback clusters in one process: raft elects
// in about 100 ms and serf notices a dead node in well under a second.
func FastTiming() Timing {
	return Timing{
		RaftHeartbeat:      100 * time.Millisecond,
		RaftElection:       100 * time.Millisecond,
		RaftLeaderLease:    50 * time.Millisecond,
		RaftCommit:         5 * time.Millisecond,
		Reconcile:          time.Second,
		SerfProbeInterval:  100 * time.Millisecond,
		SerfProbeTimeout:   50 * time.Millisecond,
		SerfGossipInterval: 20 * time.Millisecond,
		ReplicaLagMax:      3 * time.Second,
		AccessRecheck:      200 * time.Millisecond,
	}
}

func tuneController(c *controller.Config, cfg Config) {
	t := cfg.Timing
	c.HeartbeatTimeout = t.RaftHeartbeat
	c.ElectionTimeout = t.RaftElection
	c.LeaderLeaseTimeout = t.RaftLeaderLease
	c.CommitTimeout = t.RaftCommit
	c.ReconcileInterval = t.Reconcile
	c.BrokerSessionTimeout = t.BrokerSessionTimeout
}

func tuneMembership(m *membership.Config, cfg Config) {
	t := cfg.Timing
	m.ProbeInterval = t.SerfProbeInterval
	m.ProbeTimeout = t.SerfProbeTimeout
	m.GossipInterval = t.SerfGossipInterval
}
