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
	"time"

	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/plugins"
)

// The node-to-node plane (docs/security.md): the cluster listener serving
// every /internal/ route, mutual TLS under the cluster CA for it, for raft
// and for the peer client, and the gossip keyring.

// keyringFile, in the data directory, is serf's keyring after rotations.
const keyringFile = "serf-keyring.json"

// devTLSDir, in the data directory, is where a node that forms a cluster
// alone keeps the CA it created for itself.
const devTLSDir = "tls"

// clusterPlane is what the node-to-node plane runs with.
type clusterPlane struct {
	tls        *clusternet.TLS // nil: plain (Insecure only)
	gossipKeys [][]byte        // nil: gossip in the clear (Insecure only)
}

// alone reports whether the node forms a cluster by itself: it joins
// nobody and bootstraps the quorum without waiting for others.
func (c *Config) alone() bool { return len(c.Join) == 0 && c.BootstrapExpect <= 1 }

// loadClusterPlane resolves the cluster plane's certificates and gossip
// keys from the configuration. A node that is neither Insecure nor given
// a CA gets one of its own when it forms a cluster alone (in
// <DataDir>/tls, with the CA key, so that `sluice cert node --dir` can
// issue certificates for the nodes that join it later); any other node
// without one is refused.
func loadClusterPlane(cfg Config) (clusterPlane, error) {
	files, gossipFile := cfg.ClusterTLS, cfg.GossipKeyFile
	dir := cfg.ClusterTLSDir
	if files.CA == "" && dir == "" && !cfg.Insecure {
		if !cfg.alone() {
			return clusterPlane{}, fmt.Errorf("%w: the node-to-node plane needs the cluster CA, this node's certificate and the gossip key "+
				"(--tls-dir, or --cluster-ca, --cluster-cert, --cluster-key and --gossip-key-file; see docs/security.md), or --insecure", ErrInvalidConfig)
		}
		dir = filepath.Join(cfg.DataDir, devTLSDir)
		if err := clusternet.DevDir(dir); err != nil {
			return clusterPlane{}, fmt.Errorf("create the cluster CA of a new one-node cluster: %w", err)
		}
		cfg.Logger.Info("cluster plane: using the node's own CA; issue certificates for nodes that join with sluice cert node --dir", "dir", dir)
	}
	if dir != "" {
		df, dg := clusternet.DirFiles(dir, cfg.NodeID)
		if files.CA == "" {
			files.CA = df.CA
		}
		if files.Cert == "" && files.Key == "" && files.CAKey == "" {
			files.Cert, files.Key, files.CAKey = df.Cert, df.Key, df.CAKey
		}
		if gossipFile == "" {
			gossipFile = dg
		}
	}
	var cp clusterPlane
	if files.CA != "" {
		t, err := clusternet.Load(files, cfg.NodeID, clusternet.Issue{Hosts: certHosts(cfg), Controller: cfg.HasRole(RoleController)})
		if err != nil {
			return clusterPlane{}, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		if cfg.HasRole(RoleController) && !t.CanControl() {
			return clusterPlane{}, fmt.Errorf("%w: cluster TLS: node %d has the controller role, but its certificate may not run a controller (issued with sluice cert node --broker-only)", ErrInvalidConfig, cfg.NodeID)
		}
		cp.tls = t
	} else if files != (clusternet.Files{}) {
		return clusterPlane{}, fmt.Errorf("%w: cluster TLS: the CA certificate is not set", ErrInvalidConfig)
	}
	if gossipFile != "" {
		keys, err := clusternet.ReadGossipKeys(gossipFile)
		if err != nil {
			return clusterPlane{}, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		cp.gossipKeys = keys
	} else if !cfg.Insecure {
		return clusterPlane{}, fmt.Errorf("%w: gossip encryption needs a key (--gossip-key-file, or gossip.key in --tls-dir; sluice cert gossip-key makes one), or --insecure", ErrInvalidConfig)
	}
	return cp, nil
}

// certHosts are the SANs of a certificate the node issues itself: the
// advertised host and the hosts it listens on (besides loopback).
func certHosts(cfg Config) []string {
	var hosts []string
	if cfg.AdvertiseAddr != "" {
		hosts = append(hosts, cfg.AdvertiseAddr)
	}
	for _, a := range []string{cfg.ClusterAddr, cfg.RaftAddr, cfg.HTTPAddr} {
		h, _, err := net.SplitHostPort(a)
		if ip := net.ParseIP(h); err != nil || h == "" || (ip != nil && ip.IsUnspecified()) {
			continue
		}
		hosts = append(hosts, h)
	}
	return hosts
}

// listenCluster opens the cluster listener; its URL goes into the node's
// tags before membership starts.
func (n *Node) listenCluster() error {
	ln, err := net.Listen("tcp", n.cfg.ClusterAddr)
	if err != nil {
		return fmt.Errorf("listen on cluster addr %s: %w", n.cfg.ClusterAddr, err)
	}
	n.clusterLn = ln
	scheme := "https://"
	if n.plane.tls == nil {
		scheme = "http://"
	}
	n.clusterURL = scheme + advertise(n.cfg.AdvertiseAddr, ln.Addr().String())
	return nil
}

// peerClient is the HTTP client of the peer calls: with TLS it presents the
// node's certificate and accepts only cluster nodes.
func (n *Node) peerClient() *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 16, ForceAttemptHTTP2: false}
	if n.plane.tls != nil {
		// A fresh configuration per connection: renewed certificate files
		// take effect without a restart (clusternet.ReloadInterval).
		tr.DialTLSContext = n.plane.tls.DialTLS
	}
	return &http.Client{Transport: tr}
}

// serveCluster serves the /internal/ routes on the cluster listener.
func (n *Node) serveCluster() {
	n.clusterServer = &http.Server{
		Handler:           n.api.ClusterHandler(n.plane.tls == nil),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return n.serveCtx },
		// Peers keep spare connections that never carry a request;
		// Shutdown would wait for them (see freshConns).
		ConnState: n.clusterFresh.track,
		ErrorLog:  slog.NewLogLogger(n.cfg.Logger.Handler(), slog.LevelWarn),
	}
	// The same header, idle and header-size limits as the client listener.
	n.api.ConfigureHTTPServer(n.clusterServer)
	ln := n.clusterLn
	if n.plane.tls != nil {
		n.clusterServer.TLSConfig = n.plane.tls.ServerConfig()
		ln = tls.NewListener(ln, n.clusterServer.TLSConfig)
	}
	go func() {
		defer close(n.clusterDone)
		if err := n.clusterServer.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("cluster listener stopped", "err", err)
		}
	}()
}

// stopCluster stops the cluster listener (long-polls end with serveCtx).
func (n *Node) stopCluster(ctx context.Context) error {
	if n.clusterServer == nil {
		if n.clusterLn != nil {
			_ = n.clusterLn.Close()
		}
		return nil
	}
	n.clusterFresh.closeAll()
	err := n.clusterServer.Shutdown(ctx)
	if err != nil {
		_ = n.clusterServer.Close()
	}
	<-n.clusterDone
	if err != nil {
		return fmt.Errorf("stop cluster listener: %w", err)
	}
	return nil
}

// validatePlugin is the controller's upload check (controller.Config.
// ValidatePlugin): this node's plugin host validates the module whoever
// proposed it, and the exports stored are the ones it found.
func (n *Node) validatePlugin(ctx context.Context, up *meta.UploadPlugin) error {
	if n.plugins == nil || n.plugins.host == nil {
		return fmt.Errorf("plugin %s: this controller has no plugin host to validate it: %w", up.Name, meta.ErrInvalidRequest)
	}
	kind, err := plugins.ParseKind(up.Kind)
	if err != nil {
		return fmt.Errorf("plugin %s: %w: %v", up.Name, meta.ErrInvalidRequest, err)
	}
	info, err := n.plugins.host.Validate(ctx, up.Wasm, kind)
	if err != nil {
		return fmt.Errorf("plugin %s: %w", up.Name, err)
	}
	pages := up.Limits.MemoryPages
	if pages == 0 {
		pages = plugins.DefaultMemoryPages
	}
	if info.MemoryMin > pages {
		return fmt.Errorf("plugin %s: %w: the module starts with %d memory pages, more than its limit of %d", up.Name, plugins.ErrInvalidModule, info.MemoryMin, pages)
	}
	up.Exports = info.Exports
	return nil
}
