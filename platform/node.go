package platform

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/auth"
	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/sluicehq/sluice/platform/controller"
	"github.com/sluicehq/sluice/platform/groups"
	"github.com/sluicehq/sluice/platform/httpapi"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/stats"
	"github.com/sluicehq/sluice/platform/wsapi"
)

// Node is a running Sluice node. Close it to stop.
type Node struct {
	cfg      Config
	log      *slog.Logger
	httpURL  string // advertised base URL of the API
	listener net.Listener

	members    *membership.Membership
	controller *controller.Controller // nil without the controller role
	broker     *broker.Broker         // nil without the broker role
	groups     *groups.Coordinator    // nil unless the node has both roles
	ws         *wsapi.Handler         // nil unless groups runs
	plugins    *pluginRuntime         // Wasm plugin host: partitioners, processors, registry validation
	api        *httpapi.Server
	server     *http.Server
	peer       *httpapi.Peer         // calls to other nodes
	source     broker.MetadataSource // the controller, local or remote
	certs      *auth.CertReloader    // client listener's certificate, nil without TLS
	peerTLS    *tls.Config           // calls to other nodes' https URLs, nil without TLS

	plane         clusterPlane // node-to-node TLS and gossip keys
	clusterLn     net.Listener // the cluster listener (/internal/ routes)
	clusterURL    string       // its advertised base URL
	clusterServer *http.Server
	clusterFresh  freshConns // its connections without a request yet
	clusterDone   chan struct{}

	fresh       freshConns      // connections without a request yet
	serveCtx    context.Context // parent of every request's context
	cancelServe context.CancelFunc
	serveDone   chan struct{}

	caughtUp atomic.Bool       // the broker once applied all the controller had
	hb       heartbeats        // the broker's heartbeats to the active controller
	remote   *remoteController // nil unless the node is broker-only
	abrupt   atomic.Bool       // Kill: stop without leaving serf or the quorum
	fdLimit  uint64            // the file descriptor limit budgeted for (limits.go)
	capacity int               // partition replicas the node can hold (limits.go)
	isr      isrCounters       // ISR shrinks and expands this node's broker committed
	wsm      *wsCounters       // WebSocket produce and fetch records; nil before the API is built
	stats    *stats.Sampler    // throughput and lag history for the console; nil before the API is built

	closeOnce sync.Once
	closeErr  error
}

// readyPoll is how often Start re-checks readiness while it waits for the
// node to register itself (an event-driven wait would need a membership
// hook the controller does not expose; this is a bounded start-up wait,
// not synchronisation between components).
const readyPoll = 20 * time.Millisecond

// Start starts a node and returns once it serves. A node that bootstraps
// a cluster on its own (BootstrapExpect 1, no Join) also waits until its
// controller leads and its broker is registered, so that the caller can
// create topics at once; other nodes return as soon as they listen, and
// Node.WaitReady waits for the cluster. ctx bounds the start only.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.NodeID), serveDone: make(chan struct{}), clusterDone: make(chan struct{})}
	if err := n.start(ctx); err != nil {
		n.stop()
		return nil, err
	}
	n.log.Info("node started", "http", n.httpURL, "roles", cfg.Roles, "data_dir", cfg.DataDir,
		"replica_capacity", n.capacity, "file_limit", n.fdLimit)
	if cfg.Insecure {
		n.log.Warn("INSECURE: started with --insecure: the start-up security checks are off; anyone who reaches this node's ports may be able to use it",
			"tls", cfg.clientTLS(), "auth", cfg.Auth)
	}
	if cfg.BootstrapExpect <= 1 && len(cfg.Join) == 0 && cfg.HasRole(RoleController) {
		if err := n.WaitReady(ctx); err != nil {
			n.stop()
			return nil, fmt.Errorf("start node %d: %w", cfg.NodeID, err)
		}
		if _, err := n.BootstrapAuth(ctx); err != nil {
			n.stop()
			return nil, fmt.Errorf("start node %d: %w", cfg.NodeID, err)
		}
	}
	return n, nil
}

func (n *Node) start(ctx context.Context) error {
	cfg := n.cfg
	capacity, err := cfg.replicaCapacity()
	if err != nil {
		return err
	}
	n.capacity = capacity
	if n.fdLimit, err = cfg.fileLimit(); err != nil {
		return err
	}
	if n.plane, err = loadClusterPlane(cfg); err != nil {
		return err
	}
	if err := n.listenCluster(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on http addr %s: %w", cfg.HTTPAddr, err)
	}
	n.listener = ln
	scheme := "http://"
	if cfg.clientTLS() {
		tc, err := n.clientTLSConfig()
		if err != nil {
			_ = ln.Close()
			return err
		}
		n.listener, scheme = tls.NewListener(ln, tc), "https://"
	}
	n.httpURL = scheme + advertise(cfg.AdvertiseAddr, ln.Addr().String())

	var raftAdvertise string
	if cfg.HasRole(RoleController) {
		raftAdvertise = advertise(cfg.AdvertiseAddr, cfg.RaftAddr)
	}
	mcfg := membership.Config{
		NodeName: "node-" + strconv.Itoa(int(cfg.NodeID)),
		BindAddr: cfg.SerfAddr,
		Tags: membership.Tags{
			NodeID:      cfg.NodeID,
			Roles:       cfg.Roles,
			HTTPAddr:    n.httpURL,
			RaftAddr:    raftAdvertise,
			ClusterAddr: n.clusterURL,
			// The controller places no more replicas here than this.
			MaxReplicas: capacity,
			Rack:        cfg.Rack,
		},
		Cluster:          cfg.ClusterName,
		Join:             cfg.Join,
		RetryJoinTimeout: cfg.RetryJoinTimeout,
		Logger:           cfg.Logger.With("component", "serf"),
		Keys:             n.plane.gossipKeys,
	}
	if n.plane.gossipKeys != nil {
		mcfg.KeyringFile = filepath.Join(cfg.DataDir, keyringFile)
	}
	if g := cfg.Timing.SerfGossipInterval; g > 0 {
		// Close leaves the cluster; a few gossip rounds spread the news.
		mcfg.LeavePropagateDelay = 5 * g
	}
	if cfg.AdvertiseAddr != "" {
		_, port, _ := net.SplitHostPort(cfg.SerfAddr)
		mcfg.AdvertiseAddr = net.JoinHostPort(cfg.AdvertiseAddr, port)
	}
	tuneMembership(&mcfg, cfg)
	if n.members, err = membership.Start(ctx, mcfg); err != nil {
		return fmt.Errorf("start membership: %w", err)
	}

	if cfg.HasRole(RoleController) {
		ccfg := controller.Config{
			NodeID:          meta.NodeID(cfg.NodeID),
			DataDir:         filepath.Join(cfg.DataDir, "controller"),
			RaftAddr:        cfg.RaftAddr,
			AdvertiseRaft:   raftAdvertise,
			BootstrapExpect: cfg.BootstrapExpect,
			Membership:      n.members,
			Logger:          cfg.Logger.With("component", "controller"),
			TLS:             n.plane.tls,
			ValidatePlugin:  n.validatePlugin,
			LeaderRebalance: cfg.LeaderRebalance,
		}
		tuneController(&ccfg, cfg)
		if n.controller, err = controller.Start(ctx, ccfg); err != nil {
			return fmt.Errorf("start controller: %w", err)
		}
	}

	// Other nodes are reached over the internal HTTP routes: produce
	// batches for partitions led elsewhere, and, on a broker-only node,
	// the metadata and topic changes.
	if n.peerTLS, err = cfg.peerTLSConfig(); err != nil {
		return err
	}
	peer := &httpapi.Peer{HTTP: n.peerClient(), NodeID: cfg.NodeID}
	n.peer = peer
	var (
		source broker.MetadataSource
		admin  httpapi.Admin
	)
	if n.controller != nil {
		source, admin = n.controller, n.controller
	} else {
		remote := newRemoteController(peer, n.members, cfg.Logger.With("component", "remote-controller"))
		source, admin = remote, remote
		n.remote = remote
	}
	n.hb.n = n
	n.source = source
	if n.plugins, err = newPluginRuntime(ctx, cfg, n.metadata); err != nil {
		return err
	}
	if cfg.HasRole(RoleBroker) {
		if n.broker, err = broker.Start(ctx, broker.Config{
			NodeID:    cfg.NodeID,
			DataDir:   cfg.DataDir,
			Metadata:  source,
			Forwarder: peer,
			Logger:    cfg.Logger,
			Plugins:   n.plugins,
			// Followers fetch from leaders over the internal HTTP route.
			Replicas:         peer,
			ReplicaStreaming: cfg.ReplicationProtocol != ReplicationRequest,
			ReplicaLagMax:    cfg.Timing.ReplicaLagMax,
			Propose:          n.proposeISR(source),
			// Heartbeats make the broker's liveness and data-directory id
			// known to the active controller (docs/controller.md).
			Heartbeat:         n.heartbeatFunc(),
			HeartbeatInterval: cfg.Timing.BrokerHeartbeat,
		}); err != nil {
			return fmt.Errorf("start broker: %w", err)
		}
	}
	n.plugins.start(source, n.broker)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	apiCfg := httpapi.Config{
		NodeID:          cfg.NodeID,
		Broker:          n.broker,
		Metadata:        n.metadata,
		Cluster:         n.clusterInfo,
		Health:          n.health,
		HealthWarnings:  n.healthWarnings,
		MaxRequestBytes: cfg.MaxRequestBytes,
		Limits:          cfg.HTTPLimits,
		Processors:      n.plugins,
		Registry:        reg,
		Logger:          cfg.Logger,
	}
	if apiCfg.Security, err = n.apiSecurity(); err != nil {
		return err
	}
	apiCfg.Admin, apiCfg.Peer = n.plugins.checkPartitioners(admin), peer
	if n.controller != nil {
		apiCfg.Controller = n.controller
	}
	if n.api, err = httpapi.New(apiCfg); err != nil {
		return fmt.Errorf("build http api: %w", err)
	}
	if n.broker != nil {
		n.api.HandleReplication()
	}
	n.registerKeyring()
	if err := n.plugins.register(n.api); err != nil {
		return err
	}
	n.registerProbes()
	if err := n.registerOpsMetrics(reg); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	n.api.HandlePluginTest(n.plugins)
	if n.broker != nil && n.controller != nil {
		if err := n.startGroups(); err != nil {
			return err
		}
	}
	n.startStats(reg)
	n.serveCtx, n.cancelServe = context.WithCancel(context.Background())
	n.server = &http.Server{
		Handler:     n.api,
		BaseContext: func(net.Listener) context.Context { return n.serveCtx },
		ConnState:   n.fresh.track,
		ErrorLog:    slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	// Header, idle and header-size limits (cfg.HTTPLimits); the body
	// deadline and in-flight byte cap are applied by the API per request.
	n.api.ConfigureHTTPServer(n.server)
	go func() {
		defer close(n.serveDone)
		if err := n.server.Serve(n.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("http server stopped", "err", err)
		}
	}()
	n.serveCluster()
	return nil
}

// proposeISR is how the broker commits its ISR changes: through source,
// and when source is this node's controller but another one is active,
// through the active one's internal propose route.
func (n *Node) proposeISR(source broker.MetadataSource) func(context.Context, meta.Command) (meta.Result, error) {
	return func(ctx context.Context, cmd meta.Command) (res meta.Result, err error) {
		defer n.isr.observe(n.isrBefore(cmd), cmd, &err)
		res, err = source.Propose(ctx, cmd)
		var nc *controller.NotControllerError
		if n.controller != nil && errors.As(err, &nc) && nc.LeaderClusterAddr != "" {
			return n.peer.Propose(ctx, nc.LeaderClusterAddr, cmd)
		}
		return res, err
	}
}

// advertise is the host other nodes use for a listen address: the
// configured advertise host, else the listen host (loopback when it is a
// wildcard), with the listen port.
func advertise(host, listen string) string {
	lh, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" {
		host = lh
		if ip := net.ParseIP(lh); lh == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
	}
	return net.JoinHostPort(host, port)
}

// metadata is the newest metadata this node holds.
func (n *Node) metadata() *meta.Cluster {
	if n.controller != nil {
		return n.controller.Metadata()
	}
	if n.broker != nil {
		return n.broker.Cluster()
	}
	return meta.NewCluster()
}

// health is "ok" once the node can do its job: a controller leader is
// known and, for a broker, it is registered and has once caught up with
// the metadata this node's controller holds (so after a restart every
// replica is open before the node reports ready).
func (n *Node) health() string {
	if out, _ := n.fdHealth(); out {
		return HealthOutOfFDs
	}
	if n.controller != nil {
		if n.controller.Halted() != nil {
			return httpapi.HealthControllerHalted
		}
		if id, _ := n.controller.Leader(); id == meta.NoLeader {
			return httpapi.HealthNoController
		}
	}
	if n.broker != nil {
		applied := n.broker.Cluster()
		b, ok := applied.Broker(meta.NodeID(n.cfg.NodeID))
		if !ok || !b.Alive() || !n.broker.Registered() {
			return httpapi.HealthStarting
		}
		if !n.caughtUp.Load() {
			if n.controller != nil && n.broker.Version() < n.controller.Metadata().Version {
				return httpapi.HealthStarting
			}
			n.caughtUp.Store(true)
		}
	}
	return httpapi.HealthOK
}

// WaitReady blocks until the node is healthy (see /healthz) or ctx ends.
func (n *Node) WaitReady(ctx context.Context) error {
	t := time.NewTicker(readyPoll)
	defer t.Stop()
	for {
		status := n.health()
		if status == httpapi.HealthOK {
			return nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("wait until ready (status %s): %w", status, ctx.Err())
		}
	}
}

// HTTPAddr is the host:port the API listens on (the chosen port when
// Config.HTTPAddr asked for port 0).
func (n *Node) HTTPAddr() string { return n.listener.Addr().String() }

// URL is the API's advertised base URL, "http://host:port".
func (n *Node) URL() string { return n.httpURL }

// ClusterAddr is the host:port the cluster listener (the node-to-node
// routes) listens on.
func (n *Node) ClusterAddr() string { return n.clusterLn.Addr().String() }

// ClusterURL is the cluster listener's advertised base URL
// ("https://host:port", "http://" on an insecure plane without TLS).
func (n *Node) ClusterURL() string { return n.clusterURL }

// ClusterTLS is the node's cluster-plane identity, nil on an insecure
// plane without TLS.
func (n *Node) ClusterTLS() *clusternet.TLS { return n.plane.tls }

// ID is the node's id.
func (n *Node) ID() int32 { return n.cfg.NodeID }

// Broker is the node's broker, nil without the broker role.
func (n *Node) Broker() *broker.Broker { return n.broker }

// Controller is the node's controller, nil without the controller role.
func (n *Node) Controller() *controller.Controller { return n.controller }

// API is the node's HTTP handler; other packages add routes with
// API().Handle before clients use them.
func (n *Node) API() *httpapi.Server { return n.api }

// Membership is the node's serf agent.
func (n *Node) Membership() *membership.Membership { return n.members }

// Close stops the node in order: WebSocket connections, the HTTP server
// (long-polls are cut short, other requests get Config.ShutdownTimeout
// to finish), the group coordinator, the broker
// (flushes and closes every partition log), the controller, then serf,
// which first leaves the cluster gracefully: the others see this node as
// left rather than failed (the active controller fences its broker at once
// and takes a departed controller out of the raft configuration when the
// rest keep a majority). A failed Start cleans up the same way, so a node
// that joined a cluster and could not finish starting does not linger in it
// as a failed voter. The data stays in DataDir for the next Start.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.closeErr = n.stop()
		n.log.Info("node stopped", "err", n.closeErr)
	})
	return n.closeErr
}

// departTimeout bounds Close's wait for the quorum to let this controller
// go: ten election timeouts.
func (n *Node) departTimeout() time.Duration {
	d := n.cfg.Timing.RaftElection
	if d <= 0 {
		d = time.Second // hashicorp/raft's default
	}
	return 10 * d
}

func (n *Node) stop() error {
	var errs []error
	if n.ws != nil {
		// WebSocket connections are hijacked: http.Server.Shutdown does
		// not wait for them, so they are ended first.
		if err := n.ws.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close websocket api: %w", err))
		}
	}
	if n.server != nil {
		n.cancelServe()
		n.fresh.closeAll()
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
		if err := n.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop http server: %w", err))
			_ = n.server.Close()
		}
		if err := n.stopCluster(ctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
		<-n.serveDone
	} else {
		if n.listener != nil {
			_ = n.listener.Close()
		}
		if n.clusterLn != nil {
			_ = n.clusterLn.Close()
		}
	}
	n.stopStats()
	if n.api != nil {
		// acks=0 produces answered but not yet appended need the broker.
		if err := n.api.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close http api: %w", err))
		}
	}
	if n.groups != nil {
		if err := n.groups.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close group coordinator: %w", err))
		}
	}
	if n.broker != nil {
		if err := n.broker.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close broker: %w", err))
		}
	}
	if n.plugins != nil {
		if err := n.plugins.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if n.members != nil && !n.abrupt.Load() {
		// Leave first, while raft still runs: the active controller can
		// then commit taking this node out of the quorum (Depart waits for
		// that). Close of the membership follows right after the
		// controller's (membership.Leave's contract).
		if err := n.members.Leave(); err != nil {
			// Serf may be down already (it shuts itself down when it loses
			// a node name conflict): nothing is left to close gracefully.
			n.log.Warn("leave cluster", "err", err)
		} else if n.controller != nil {
			ctx, cancel := context.WithTimeout(context.Background(), n.departTimeout())
			if err := n.controller.Depart(ctx); err != nil {
				n.log.Warn("still a controller voter after leaving; the others count it as absent", "err", err)
			}
			cancel()
		}
	}
	if n.controller != nil {
		if err := n.controller.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close controller: %w", err))
		}
	}
	if n.peer != nil {
		_ = n.peer.Close() // its produce streams
		n.peer.HTTP.CloseIdleConnections()
	}
	if n.members != nil {
		if err := n.members.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close membership: %w", err))
		}
	}
	return errors.Join(errs...)
}
