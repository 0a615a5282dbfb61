package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/sluicehq/sluice/platform/meta"
)

// Config configures a controller. Zero values take the documented defaults.
type Config struct {
	// NodeID is this node's id; it is also its raft server id.
	NodeID meta.NodeID
	// DataDir holds raft.db (log and stable store, bbolt) and snapshots/.
	DataDir string
	// RaftAddr is the host:port raft's TCP transport binds.
	RaftAddr string
	// AdvertiseRaft is the address other controllers dial; default RaftAddr
	// (which must then not be an unspecified address like 0.0.0.0).
	AdvertiseRaft string
	// TLS, when set, runs raft over mutual TLS (clusternet.StreamLayer):
	// both ends present node certificates of the cluster CA. Nil is plain
	// TCP (an insecure cluster plane).
	TLS *clusternet.TLS
	// ValidatePlugin, when set, checks a plugin upload on the active
	// controller before it reaches raft, whoever proposed it (the node's
	// plugin host: it compiles, exports what its kind needs, imports
	// nothing else); it may fill the upload's Exports with what it found.
	ValidatePlugin func(ctx context.Context, up *meta.UploadPlugin) error

	// Bootstrap makes this node bootstrap a one-voter raft cluster on first
	// start (no raft state yet). Use it for a single node, or for the first
	// of several when the others join later (the active controller adds
	// controller-role serf members as voters).
	Bootstrap bool
	// BootstrapExpect > 1: once serf shows this many alive controller-role
	// members and this node has no raft state, bootstrap raft with exactly
	// those (Consul's bootstrap-expect; every node computes the same set).
	// 1 bootstraps alone like Bootstrap, unless Membership already shows
	// other alive controllers (the node joined an existing cluster): then it
	// waits to be added, so a node restarted with an empty data dir or
	// started with --join never forms a second quorum. 0 (default) never
	// bootstraps: the node
	// waits for an existing cluster's active controller to add it — except
	// without Membership, where there is no way to be found, so it
	// bootstraps alone.
	BootstrapExpect int

	// Membership, if set, feeds the reconcile loop and bootstrap-expect. The
	// controller becomes the only reader of Membership.Events.
	Membership *membership.Membership

	// Logger; nil discards. raft's own INFO lines are logged at Debug.
	Logger *slog.Logger
	// Now is the clock stamped on proposed commands; default time.Now.
	Now func() time.Time

	// SnapshotThreshold: raft snapshots after this many new log entries
	// (default 8192). SnapshotInterval: how often raft checks (default 2m).
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	// TrailingLogs kept after a snapshot for slow followers (default 10240).
	TrailingLogs uint64
	// SnapshotsRetained on disk (default 2).
	SnapshotsRetained int

	// Raft timing (defaults: hashicorp/raft's 1s, 1s, 500ms, 50ms). Tests
	// scale these down.
	HeartbeatTimeout, ElectionTimeout, LeaderLeaseTimeout, CommitTimeout time.Duration

	// ApplyTimeout bounds one Propose when ctx has no earlier deadline
	// (default 10s).
	ApplyTimeout time.Duration
	// ReconcileInterval between full reconciliations of serf members with the
	// metadata on the active controller (default 10s); events trigger
	// targeted ones in between.
	ReconcileInterval time.Duration
	// BootstrapPoll: how often an unbootstrapped node with BootstrapExpect > 1
	// re-counts serf members between events (default 1s).
	BootstrapPoll time.Duration
	// TransportTimeout for raft's TCP I/O (default 10s).
	TransportTimeout time.Duration
	// BrokerSessionTimeout: the active controller fences a broker that
	// heartbeats (see Heartbeat) when it has not heard from it for this
	// long. Default DefaultBrokerSessionTimeout (1.5 s); negative turns
	// sessions off (serf alone detects failures).
	BrokerSessionTimeout time.Duration

	// LeaderRebalance configures the automatic preferred-leader election
	// the active controller runs (balance.go).
	LeaderRebalance LeaderRebalance
}

// LeaderRebalance is Kafka's auto.leader.rebalance.enable,
// leader.imbalance.per.broker.percentage and
// leader.imbalance.check.interval.seconds. The zero value is on, with
// the defaults.
type LeaderRebalance struct {
	// Disabled turns the automatic rebalance off (it is on by default);
	// `sluice partition elect-leader` still works.
	Disabled bool
	// ThresholdPercent: a broker whose share of the partitions it prefers
	// (first replica) but does not lead exceeds this gets them back
	// (default DefaultLeaderImbalancePercent).
	ThresholdPercent int
	// Interval between checks (default DefaultLeaderImbalanceInterval).
	Interval time.Duration
}

// Defaults of LeaderRebalance (Kafka's).
const (
	DefaultLeaderImbalancePercent  = 10
	DefaultLeaderImbalanceInterval = 5 * time.Minute
)

func (c *Config) withDefaults() (Config, error) {
	cfg := *c
	if cfg.NodeID < 0 {
		return cfg, fmt.Errorf("controller: node id %d must be >= 0", cfg.NodeID)
	}
	if cfg.DataDir == "" {
		return cfg, errors.New("controller: DataDir is required")
	}
	if cfg.RaftAddr == "" {
		return cfg, errors.New("controller: RaftAddr is required")
	}
	if cfg.AdvertiseRaft == "" {
		cfg.AdvertiseRaft = cfg.RaftAddr
	}
	if _, err := net.ResolveTCPAddr("tcp", cfg.AdvertiseRaft); err != nil {
		return cfg, fmt.Errorf("controller: advertise raft address %q: %w", cfg.AdvertiseRaft, err)
	}
	if cfg.BootstrapExpect < 0 {
		return cfg, fmt.Errorf("controller: BootstrapExpect %d must be >= 0", cfg.BootstrapExpect)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	setDefault(&cfg.SnapshotThreshold, 8192)
	setDefault(&cfg.SnapshotInterval, 2*time.Minute)
	setDefault(&cfg.TrailingLogs, 10240)
	setDefault(&cfg.SnapshotsRetained, 2)
	setDefault(&cfg.HeartbeatTimeout, time.Second)
	setDefault(&cfg.ElectionTimeout, time.Second)
	setDefault(&cfg.LeaderLeaseTimeout, 500*time.Millisecond)
	setDefault(&cfg.CommitTimeout, 50*time.Millisecond)
	setDefault(&cfg.ApplyTimeout, 10*time.Second)
	setDefault(&cfg.ReconcileInterval, 10*time.Second)
	setDefault(&cfg.BootstrapPoll, time.Second)
	setDefault(&cfg.TransportTimeout, 10*time.Second)
	setDefault(&cfg.BrokerSessionTimeout, DefaultBrokerSessionTimeout)
	setDefault(&cfg.LeaderRebalance.ThresholdPercent, DefaultLeaderImbalancePercent)
	setDefault(&cfg.LeaderRebalance.Interval, DefaultLeaderImbalanceInterval)
	if cfg.LeaderRebalance.ThresholdPercent < 0 || cfg.LeaderRebalance.ThresholdPercent > 100 {
		return cfg, fmt.Errorf("controller: leader imbalance threshold %d%%: want 0..100", cfg.LeaderRebalance.ThresholdPercent)
	}
	return cfg, nil
}

// shouldBootstrapAlone decides, for a node without raft state, whether it
// bootstraps a one-voter cluster, given the members serf shows.
func (c *Config) shouldBootstrapAlone(members []membership.Member) bool {
	switch {
	case c.Bootstrap:
		return true
	case c.BootstrapExpect == 0:
		return c.Membership == nil // nobody could ever add it
	case c.BootstrapExpect > 1:
		return false // bootstrap-expect decides (membershipLoop)
	}
	// BootstrapExpect 1 on a node that joined a serf cluster which already
	// has controllers: bootstrapping alone would start a second, diverging
	// quorum. Wait for the active controller to add this node instead.
	for _, m := range members {
		if meta.NodeID(m.ID) != c.NodeID && m.Status == membership.StatusAlive && m.HasRole(meta.RoleController) {
			c.Logger.Info("controllers already exist; waiting to be added to their quorum", "seen", m.ID)
			return false
		}
	}
	return true
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
