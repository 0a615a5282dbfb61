// Package controller runs Sluice's metadata quorum: hashicorp/raft around the
// pure state machine of package meta. Every metadata change, even on a single
// node, is a meta.Command committed through raft; every controller applies
// the committed log with meta.Apply and publishes an immutable *meta.Cluster.
//
// The raft leader is the active controller. It alone accepts proposals (the
// others answer with a *NotControllerError naming it) and runs the reconcile
// loop that keeps the metadata in line with serf membership (see leader.go).
package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/sluicehq/sluice/platform/meta"
)

// Controller is one member of the metadata quorum. Methods are safe for
// concurrent use.
type Controller struct {
	cfg   Config
	raft  *raft.Raft
	fsm   *fsm
	store *raftboltdb.BoltStore
	trans *raft.NetworkTransport

	leaderNotify chan bool             // raft's NotifyCh
	observations chan raft.Observation // leader changes, for WaitLeader
	observer     *raft.Observer

	leaderMu      sync.Mutex
	leaderChanged chan struct{} // closed and replaced on every leader change

	reconcileCh chan struct{} // pokes the leader loop; membership events arrive through it
	pending     pendingMembers
	sess        atomic.Pointer[sessions] // broker heartbeat sessions; nil unless leading
	seen        *sessions                // every heartbeat this controller received, leading or not

	shutdown  chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Start opens (or creates) the controller's raft state in cfg.DataDir, binds
// the raft transport and starts raft, the leadership monitor and, with
// cfg.Membership, the membership event loop. It bootstraps as Config
// describes. ctx bounds only the start.
func Start(ctx context.Context, cfg Config) (*Controller, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start controller: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("controller data dir: %w", err)
	}
	c := &Controller{
		cfg:           cfg,
		fsm:           newFSM(cfg.Logger),
		leaderNotify:  make(chan bool, 8),
		observations:  make(chan raft.Observation, 16),
		leaderChanged: make(chan struct{}),
		reconcileCh:   make(chan struct{}, 1),
		shutdown:      make(chan struct{}),
		seen:          newSessions(cfg.BrokerSessionTimeout, cfg.Now()),
	}
	if err := c.open(); err != nil {
		c.closeStores()
		return nil, err
	}
	c.observer = raft.NewObserver(c.observations, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	c.raft.RegisterObserver(c.observer)

	c.wg.Add(3)
	go c.watchObservations()
	go c.monitorLeadership()
	go c.watchHalt()
	if cfg.Membership != nil {
		c.wg.Add(2)
		go c.membershipLoop()
		go c.announceReady()
	}
	if err := c.bootstrapIfAlone(); err != nil {
		_ = c.Close()
		return nil, err
	}
	cfg.Logger.Info("controller started", "node", cfg.NodeID, "raft_addr", cfg.AdvertiseRaft, "data_dir", cfg.DataDir)
	return c, nil
}

// open creates the stores, transport and raft instance.
func (c *Controller) open() error {
	cfg := c.cfg
	hlog := newRaftLogger(cfg.Logger)
	path := filepath.Join(cfg.DataDir, "raft.db")
	store, err := openRaftStore(path)
	if err != nil {
		return fmt.Errorf("open raft log %s: %w", cfg.DataDir, err)
	}
	c.store = store
	guarded := &guardedStore{path: path, logs: store, stable: store}
	logs, err := raft.NewLogCache(512, guarded)
	if err != nil {
		return fmt.Errorf("raft log cache: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, cfg.SnapshotsRetained, hlog)
	if err != nil {
		return fmt.Errorf("raft snapshot store: %w", err)
	}
	adv, err := net.ResolveTCPAddr("tcp", cfg.AdvertiseRaft)
	if err != nil {
		return fmt.Errorf("resolve raft advertise address: %w", err)
	}
	// MaxRPCsInFlight 1 turns hashicorp/raft's pipelined replication off:
	// with it on, a follower's Success=false answer can leave the
	// pipeline's sender and decoder each waiting for the other (both
	// channels unbuffered at the default of 2), so the leader never again
	// replicates to that follower and its shutdown never returns (seen
	// here as a controller Close hung for 10 minutes in a rolling restart;
	// the same deadlock as grafana/pyroscope#5518, hashicorp/raft#612).
	// Metadata commands are small and rare: synchronous AppendEntries cost
	// nothing that matters (raft's own docs: pipelining helps little).
	tcfg := &raft.NetworkTransportConfig{MaxPool: 3, Timeout: cfg.TransportTimeout, Logger: hlog, MaxRPCsInFlight: 1}
	var trans *raft.NetworkTransport
	if cfg.TLS != nil {
		stream, err := clusternet.NewStreamLayer(cfg.RaftAddr, adv, cfg.TLS)
		if err != nil {
			return fmt.Errorf("raft transport on %s: %w", cfg.RaftAddr, err)
		}
		tcfg.Stream = stream
		trans = raft.NewNetworkTransportWithConfig(tcfg)
	} else if trans, err = raft.NewTCPTransportWithConfig(cfg.RaftAddr, adv, tcfg); err != nil {
		return fmt.Errorf("raft transport on %s: %w", cfg.RaftAddr, err)
	}
	c.trans = trans

	rc := raft.DefaultConfig()
	rc.LocalID = serverID(cfg.NodeID)
	rc.Logger = hlog
	rc.NotifyCh = c.leaderNotify
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.CommitTimeout
	if err := raft.ValidateConfig(rc); err != nil {
		return fmt.Errorf("raft config: %w", err)
	}
	r, err := newRaft(path, rc, c.fsm, logs, guarded, snaps, trans)
	if err != nil {
		if rerr := c.fsm.lastRestoreErr(); rerr != nil {
			return fmt.Errorf("start raft: %w: %w", err, rerr)
		}
		return fmt.Errorf("start raft: %w", err)
	}
	c.raft = r
	return nil
}

func (c *Controller) closeStores() {
	if c.trans != nil {
		c.trans.CloseStreams()
		_ = c.trans.Close()
	}
	if c.store != nil {
		_ = c.store.Close()
	}
}

// bootstrapIfAlone bootstraps a one-voter cluster when the config asks for
// it and there is no raft state yet.
func (c *Controller) bootstrapIfAlone() error {
	if c.raft.LastIndex() > 0 {
		return nil
	}
	var members []membership.Member
	if c.cfg.Membership != nil {
		members = c.cfg.Membership.Members()
	}
	if !c.cfg.shouldBootstrapAlone(members) {
		return nil
	}
	return c.bootstrap([]raft.Server{{
		Suffrage: raft.Voter,
		ID:       serverID(c.cfg.NodeID),
		Address:  raft.ServerAddress(c.cfg.AdvertiseRaft),
	}})
}

// bootstrap is a no-op when raft already has state.
func (c *Controller) bootstrap(servers []raft.Server) error {
	err := c.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error()
	switch {
	case errors.Is(err, raft.ErrCantBootstrap):
		return nil
	case err != nil:
		return fmt.Errorf("bootstrap raft: %w", err)
	}
	c.cfg.Logger.Info("raft bootstrapped", "servers", len(servers))
	return nil
}

func serverID(id meta.NodeID) raft.ServerID {
	return raft.ServerID(strconv.Itoa(int(id)))
}

func parseServerID(id raft.ServerID) meta.NodeID {
	n, err := strconv.ParseInt(string(id), 10, 32)
	if err != nil {
		return meta.NoLeader
	}
	return meta.NodeID(n)
}

// Metadata returns the latest applied metadata. It is immutable: share it,
// never modify it.
func (c *Controller) Metadata() *meta.Cluster { return c.fsm.state.Load() }

// Watch blocks until the applied metadata's Version exceeds after and returns
// it; Watch(ctx, 0) returns at once when anything was ever applied. Many
// watchers cost one channel close per new version.
func (c *Controller) Watch(ctx context.Context, after uint64) (*meta.Cluster, error) {
	for {
		cur, changed := c.fsm.current()
		if cur.Version > after {
			return cur, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("watch metadata after version %d: %w", after, ctx.Err())
		case <-c.shutdown:
			return nil, fmt.Errorf("watch metadata: %w", ErrClosed)
		}
	}
}

// IsLeader reports whether this node is the active controller.
func (c *Controller) IsLeader() bool { return c.raft.State() == raft.Leader }

// Leader returns the active controller's id and raft address, or
// (meta.NoLeader, "") while there is none.
func (c *Controller) Leader() (meta.NodeID, string) {
	addr, id := c.raft.LeaderWithID()
	if id == "" {
		return meta.NoLeader, ""
	}
	return parseServerID(id), string(addr)
}

// WaitLeader blocks until the quorum has a leader (this node or another).
func (c *Controller) WaitLeader(ctx context.Context) error {
	for {
		c.leaderMu.Lock()
		changed := c.leaderChanged
		c.leaderMu.Unlock()
		if id, _ := c.Leader(); id != meta.NoLeader {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for controller leader: %w", ctx.Err())
		case <-c.shutdown:
			return fmt.Errorf("wait for controller leader: %w", ErrClosed)
		}
	}
}

// watchObservations turns raft's leader observations into a broadcast.
func (c *Controller) watchObservations() {
	defer c.wg.Done()
	for {
		select {
		case <-c.observations:
			c.leaderMu.Lock()
			close(c.leaderChanged)
			c.leaderChanged = make(chan struct{})
			c.leaderMu.Unlock()
		case <-c.shutdown:
			return
		}
	}
}

// Snapshot makes raft take a snapshot now (and compact its log down to
// TrailingLogs entries).
func (c *Controller) Snapshot() error {
	if err := c.raft.Snapshot().Error(); err != nil {
		return fmt.Errorf("controller snapshot: %w", err)
	}
	return nil
}

// Close stops the loops, shuts raft down (without leaving the quorum: a
// restart from the same DataDir rejoins it) and closes the stores. It does
// not close Membership, which the caller owns.
func (c *Controller) Close() error {
	c.closeOnce.Do(func() {
		close(c.shutdown)
		c.raft.DeregisterObserver(c.observer)
		err := c.raft.Shutdown().Error()
		c.wg.Wait()
		if err != nil {
			c.closeErr = fmt.Errorf("raft shutdown: %w", err)
		}
		// Close also our pooled outgoing connections, so that peers'
		// connection handlers end instead of waiting for a next request.
		c.trans.CloseStreams()
		if err := c.trans.Close(); err != nil && c.closeErr == nil {
			c.closeErr = fmt.Errorf("close raft transport: %w", err)
		}
		if err := c.store.Close(); err != nil && c.closeErr == nil {
			c.closeErr = fmt.Errorf("close raft log: %w", err)
		}
		c.cfg.Logger.Info("controller stopped", "node", c.cfg.NodeID)
	})
	return c.closeErr
}
