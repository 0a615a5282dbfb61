package platform

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"time"

	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/sluicehq/sluice/platform/controller"
	"github.com/sluicehq/sluice/platform/httpapi"
)

// Role names a node's job. A node has one or both.
const (
	// RoleController: a voter in the raft metadata quorum.
	RoleController = "controller"
	// RoleBroker: holds partition replicas and serves produce and fetch.
	RoleBroker = "broker"
)

// Config configures one node. DefaultConfig returns the values documented
// on each field; Start validates the whole struct once and fails with
// ErrInvalidConfig before it touches the disk or the network.
type Config struct {
	// NodeID identifies the node in the cluster, stable across restarts.
	// Default 1.
	NodeID int32
	// Roles are "controller", "broker" or both. Default both.
	Roles []string
	// DataDir holds the raft log, the metadata snapshots and the
	// partition logs (<DataDir>/partitions/<topic>-<topicID>/<n>.db).
	// Default "sluice-data".
	DataDir string
	// HTTPAddr is where the /v1 API listens. Port 0 picks a free one
	// (Node.HTTPAddr says which). Default "127.0.0.1:8080".
	HTTPAddr string
	// RaftAddr is the controller's raft transport address (controllers
	// only). Default "127.0.0.1:9093".
	RaftAddr string
	// SerfAddr is the gossip address. Default "127.0.0.1:7946".
	SerfAddr string
	// ClusterAddr is where the node-to-node API listens: every /internal/
	// route (replication, forwarding, metadata, proposals), for other
	// nodes only; the HTTP API answers 404 for them. Port 0 picks a free
	// one. Default "127.0.0.1:9400".
	ClusterAddr string
	// Insecure lets the node run without the protections it otherwise
	// requires. For the client plane it skips the start-up gate (a node
	// reachable from other machines must serve TLS with auth on) and is
	// reported at start and in /v1/cluster. For the node-to-node plane: without cluster TLS it serves
	// and calls the /internal/ routes over plain HTTP (the calling node is
	// whatever it claims), raft runs over plain TCP and gossip is not
	// encrypted unless a gossip key is given. Default false.
	Insecure bool
	// ClusterTLS names the cluster plane's certificate files: the cluster
	// CA, this node's certificate and key (`sluice cert node`), or the CA
	// key to issue its own at start (development). Fields left empty are
	// taken from ClusterTLSDir.
	ClusterTLS clusternet.Files
	// ClusterTLSDir is a directory laid out by `sluice cert`: ca.crt,
	// node-<id>.crt and .key (or ca.key), gossip.key.
	ClusterTLSDir string
	// GossipKeyFile holds the serf gossip encryption key(s), base64, one
	// per line, the first primary (`sluice cert gossip-key`). Once keys
	// are rotated (`sluice cluster keyring`) the keyring kept in
	// <DataDir>/serf-keyring.json wins over it.
	GossipKeyFile string
	// AdvertiseAddr is the host other nodes and clients use to reach this
	// one; empty means the hosts of the listen addresses.
	AdvertiseAddr string
	// Join lists serf addresses of other members to join at start. Start
	// retries with backoff until one answers (any live member is a seed;
	// nodes of a cold start may list each other).
	Join []string
	// RetryJoinTimeout bounds those retries; 0 retries until the start's
	// context ends (Ctrl-C).
	RetryJoinTimeout time.Duration
	// ClusterName names the cluster: nodes gossip only with nodes of the
	// same name, so a node started with another cluster's addresses by
	// mistake can never become part of it. Letters, digits, '.', '_' and
	// '-', at most 64. Default "sluice" (DefaultClusterName).
	ClusterName string
	// BootstrapExpect is how many controllers form the first quorum;
	// the quorum bootstraps once that many have joined. Default 1.
	BootstrapExpect int
	// Logger receives the node's structured logs. Default slog.Default().
	Logger *slog.Logger
	// Rack names the failure domain (rack, zone) of the node, carried in
	// its serf tags into the broker registration. When every broker has
	// one, new topics, added partitions and generated reassignment plans
	// spread each partition's replicas over distinct racks first.
	// Default "" (no rack).
	Rack string
	// LeaderRebalance configures the active controller's automatic
	// preferred-leader election (on by default: 10% imbalance per broker,
	// checked every 5 minutes).
	LeaderRebalance controller.LeaderRebalance

	// MaxRequestBytes bounds an HTTP request body; a larger one gets 413
	// record_too_large. Default 64 MiB.
	MaxRequestBytes int64
	// HTTPLimits bound the HTTP server: header and body read timeouts,
	// idle keep-alive connections, header size and the request body bytes
	// in flight node-wide (httpapi.Limits; zero fields take its defaults,
	// docs/operations.md "Limits").
	HTTPLimits httpapi.Limits
	// MaxReplicas bounds the partition replicas this node holds; 0 leaves
	// only the file-descriptor budget (FileLimit less FDReserve). The
	// smaller of the two is advertised to the controller, which refuses
	// topics that would pass it (quota_exceeded). Default 0.
	MaxReplicas int
	// FDReserve is how many file descriptors the node keeps for other
	// things than partition files (client and peer connections, raft,
	// serf, plugin cache), at most half the file limit. Default
	// DefaultFDReserve (1024).
	FDReserve int
	// FileLimit is the file descriptor limit to budget for; 0 reads the
	// process's RLIMIT_NOFILE. /healthz warns at 80% of it in use and
	// answers 503 out_of_file_descriptors at 95%. Default 0.
	FileLimit uint64
	// ShutdownTimeout bounds Close's wait for in-flight HTTP requests
	// (long-polls are cancelled at once). Default 10 s.
	ShutdownTimeout time.Duration
	// ReplicationProtocol is how followers fetch from leaders on the
	// cluster listener (docs/replication.md): ReplicationStream ("" too),
	// one persistent binary stream per follower and leader with pipelined
	// fetches; or ReplicationRequest, one JSON request per fetch round.
	// Leaders always serve both. Default ReplicationStream.
	ReplicationProtocol string
	// Timing overrides raft and serf timings; the zero value keeps their
	// production defaults. See FastTiming.
	Timing Timing
	// PluginInterpreter runs Wasm plugins in wazero's interpreter instead
	// of compiling them to machine code: a module starts many times faster
	// but runs several times slower. For tests (under the race detector
	// the compiler takes tens of seconds per Go module); a production node
	// leaves it false, the default.
	PluginInterpreter bool

	// Client-plane security (security.go, docs/security.md).

	// TLSCertFile and TLSKeyFile (PEM) make the HTTP/WebSocket listener
	// serve TLS; the files are read again when they change (checked at
	// most once a second, on a handshake) and on Node.ReloadTLS.
	TLSCertFile, TLSKeyFile string
	// TLSClientCAFile (PEM) verifies client certificates when a client
	// presents one; its subject CN is then the request's principal.
	TLSClientCAFile string
	// TLSCAFile (PEM) is what this node trusts, besides the system roots,
	// for other nodes' client-listener certificates when it calls them
	// (forwarding, the WebSocket group proxy, the group list). Default
	// TLSClientCAFile (one cluster CA for nodes and clients).
	TLSCAFile string
	// Auth requires a token or a client certificate on every /v1 request
	// and an ACL that allows it. Default false (sluice server turns it on
	// unless --insecure).
	Auth bool
	// AllowedOrigins are browser origins ("https://console.example.com",
	// or "*") allowed besides the listener's own, for CORS and WebSocket
	// upgrades. Default none.
	AllowedOrigins []string
	// BootstrapAdminTokenFile holds the first admin's token (created there
	// when missing); empty generates one into <DataDir>/admin-token.
	BootstrapAdminTokenFile string
	// AuditLogger receives the audit records (every admin action and
	// every denial); nil sends them to Logger with audit=true.
	AuditLogger *slog.Logger
	// JWTPublicKeyFile (PEM public key or certificate: RSA, ECDSA P-256
	// or Ed25519) accepts bearer JWTs signed with its key, from an OIDC
	// identity provider; their "sub" is the principal. JWTIssuer and
	// JWTAudience, when set, must match the iss and aud claims.
	JWTPublicKeyFile, JWTIssuer, JWTAudience string
	// TokenCacheTTL is how long a verified token is trusted before its
	// hash is checked again. Default auth.DefaultCacheTTL (5 min).
	TokenCacheTTL time.Duration
}

// Defaults of Config, named so that docs and flags can quote them.
const (
	DefaultNodeID          = 1
	DefaultDataDir         = "sluice-data"
	DefaultHTTPAddr        = "127.0.0.1:8080"
	DefaultRaftAddr        = "127.0.0.1:9093"
	DefaultSerfAddr        = "127.0.0.1:7946"
	DefaultClusterAddr     = "127.0.0.1:9400"
	DefaultBootstrapExpect = 1
	DefaultClusterName     = "sluice"
	DefaultMaxRequestBytes = 64 << 20
	DefaultShutdownTimeout = 10 * time.Second
)

// ErrInvalidConfig is returned by Start (wrapped) when Config is not usable.
var ErrInvalidConfig = errors.New("invalid node configuration")

// DefaultConfig returns a one-node cluster with both roles on loopback.
func DefaultConfig() Config {
	return Config{
		NodeID:          DefaultNodeID,
		Roles:           []string{RoleController, RoleBroker},
		DataDir:         DefaultDataDir,
		HTTPAddr:        DefaultHTTPAddr,
		RaftAddr:        DefaultRaftAddr,
		SerfAddr:        DefaultSerfAddr,
		ClusterAddr:     DefaultClusterAddr,
		BootstrapExpect: DefaultBootstrapExpect,
		ClusterName:     DefaultClusterName,
		MaxRequestBytes: DefaultMaxRequestBytes,
		ShutdownTimeout: DefaultShutdownTimeout,
		FDReserve:       DefaultFDReserve,
	}
}

// HasRole reports whether the configuration gives the node role.
func (c *Config) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// withDefaults fills zero optional fields and returns the result; it does
// not touch the fields an operator must choose consciously (NodeID, roles,
// addresses stay as given when set).
func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.FDReserve == 0 {
		c.FDReserve = DefaultFDReserve
	}
	if c.ClusterName == "" {
		c.ClusterName = DefaultClusterName
	}
	if c.BootstrapExpect == 0 && slices.Contains(c.Roles, RoleController) {
		c.BootstrapExpect = DefaultBootstrapExpect
	}
	if c.DataDir != "" {
		c.DataDir = filepath.Clean(c.DataDir)
	}
	if c.Insecure {
		c.Logger = c.Logger.With("insecure", true)
	}
	return c
}

// Validate checks the configuration as Start will use it.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.NodeID < 0 {
		bad("node id %d: must be >= 0", c.NodeID)
	}
	if len(c.Roles) == 0 {
		bad("roles: need controller, broker or both")
	}
	switch c.ReplicationProtocol {
	case "", ReplicationStream, ReplicationRequest:
	default:
		bad("replication protocol %q: want %q or %q", c.ReplicationProtocol, ReplicationStream, ReplicationRequest)
	}
	for _, r := range c.Roles {
		if r != RoleController && r != RoleBroker {
			bad("role %q: want %q or %q", r, RoleController, RoleBroker)
		}
	}
	if c.DataDir == "" {
		bad("data dir: must be set")
	}
	if !validClusterName(c.ClusterName) {
		bad("cluster name %q: want 1 to %d letters, digits, '.', '_' or '-'", c.ClusterName, maxClusterName)
	}
	checkAddr := func(name, addr string) {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad("%s %q: %v", name, addr, err)
		}
	}
	checkAddr("http addr", c.HTTPAddr)
	checkAddr("serf addr", c.SerfAddr)
	checkAddr("cluster addr", c.ClusterAddr)
	if c.HasRole(RoleController) {
		checkAddr("raft addr", c.RaftAddr)
		if c.BootstrapExpect < 1 {
			bad("bootstrap expect %d: must be >= 1", c.BootstrapExpect)
		}
	}
	if c.AdvertiseAddr != "" && net.ParseIP(c.AdvertiseAddr) == nil {
		if _, _, err := net.SplitHostPort(c.AdvertiseAddr); err == nil {
			bad("advertise addr %q: a host, without a port", c.AdvertiseAddr)
		}
	}
	if c.MaxRequestBytes < 1<<10 {
		bad("max request bytes %d: must be >= 1024", c.MaxRequestBytes)
	}
	if c.MaxReplicas < 0 {
		bad("max replicas %d: must be >= 0", c.MaxReplicas)
	}
	if c.FDReserve < 0 {
		bad("fd reserve %d: must be >= 0", c.FDReserve)
	}
	if lr := c.LeaderRebalance; lr.ThresholdPercent < 0 || lr.ThresholdPercent > 100 || lr.Interval < 0 {
		bad("leader rebalance: threshold %d%% (want 0..100), interval %v (want >= 0)", lr.ThresholdPercent, lr.Interval)
	}
	if len(c.Rack) > maxRackLen {
		bad("rack %q: at most %d characters", c.Rack, maxRackLen)
	}
	if c.ShutdownTimeout < 0 {
		bad("shutdown timeout %v: must be >= 0", c.ShutdownTimeout)
	}
	errs = append(errs, c.validateSecurity()...)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// maxRackLen bounds Config.Rack.
const maxRackLen = 255

// maxClusterName bounds Config.ClusterName.
const maxClusterName = 64

func validClusterName(s string) bool {
	if s == "" || len(s) > maxClusterName {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Config.ReplicationProtocol values.
const (
	ReplicationStream  = "stream"
	ReplicationRequest = "request"
)
