package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/platform"
	"github.com/urfave/cli/v2"
)

func serverCommand() *cli.Command {
	d := platform.DefaultConfig()
	return &cli.Command{
		Name:  "server",
		Usage: "run a node of a Sluice cluster",
		Description: "Runs until SIGINT or SIGTERM, then shuts down cleanly (in-flight requests\n" +
			"finish, partition files are closed). Every flag can also come from an\n" +
			"environment variable (shown in brackets) or from a JSON --config file whose\n" +
			"keys are the flag names, e.g.\n\n" +
			"   {\"node-id\": 2, \"roles\": \"broker\", \"data-dir\": \"/var/lib/sluice\",\n" +
			"    \"join\": [\"10.0.0.1:7946\"], \"log-level\": \"info\"}\n\n" +
			"Flags win over the environment, which wins over the file.\n\n" +
			"A three-node cluster on one machine (certificates first; docs/security.md):\n\n" +
			"   sluice cert ca --dir tls && sluice cert gossip-key --dir tls\n" +
			"   for i in 1 2 3; do sluice cert node --dir tls --id $i; done\n" +
			"   sluice server --node-id 1 --data-dir d1 --tls-dir tls --http-addr :8080 --raft-addr 127.0.0.1:9093 --serf-addr 127.0.0.1:7946 --cluster-addr 127.0.0.1:9400 --bootstrap-expect 3\n" +
			"   sluice server --node-id 2 --data-dir d2 --tls-dir tls --http-addr :8081 --raft-addr 127.0.0.1:9094 --serf-addr 127.0.0.1:7947 --cluster-addr 127.0.0.1:9401 --bootstrap-expect 3 --join 127.0.0.1:7946\n" +
			"   sluice server --node-id 3 --data-dir d3 --tls-dir tls --http-addr :8082 --raft-addr 127.0.0.1:9095 --serf-addr 127.0.0.1:7948 --cluster-addr 127.0.0.1:9402 --bootstrap-expect 3 --join 127.0.0.1:7946\n\n" +
			"Without --insecure, authentication is on: a new cluster creates the principal\n" +
			"admin and writes its token to DATA-DIR/admin-token (or --bootstrap-admin-token-file).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", EnvVars: []string{"SLUICE_CONFIG"}, Usage: "read settings from JSON `FILE`"},
			&cli.IntFlag{Name: "node-id", EnvVars: []string{"SLUICE_NODE_ID"}, Value: int(d.NodeID), Usage: "node id, unique in the cluster and stable across restarts"},
			&cli.StringFlag{Name: "roles", EnvVars: []string{"SLUICE_ROLES"}, Value: strings.Join(d.Roles, ","), Usage: "controller, broker, or both (comma-separated)"},
			&cli.StringFlag{Name: "data-dir", EnvVars: []string{"SLUICE_DATA_DIR"}, Value: d.DataDir, Usage: "`DIR` for the raft log, metadata and partition files"},
			&cli.StringFlag{Name: "http-addr", EnvVars: []string{"SLUICE_HTTP_ADDR"}, Value: d.HTTPAddr, Usage: "listen address of the HTTP API"},
			&cli.StringFlag{Name: "raft-addr", EnvVars: []string{"SLUICE_RAFT_ADDR"}, Value: d.RaftAddr, Usage: "raft address (controllers)"},
			&cli.StringFlag{Name: "serf-addr", EnvVars: []string{"SLUICE_SERF_ADDR"}, Value: d.SerfAddr, Usage: "gossip (serf) address"},
			&cli.StringFlag{Name: "cluster-addr", EnvVars: []string{"SLUICE_CLUSTER_ADDR"}, Value: d.ClusterAddr, Usage: "listen address of the node-to-node API (other nodes only; mutual TLS)"},
			&cli.StringFlag{Name: "tls-dir", EnvVars: []string{"SLUICE_TLS_DIR"}, Usage: "`DIR` written by sluice cert: ca.crt, node-<id>.crt/.key, gossip.key"},
			&cli.StringFlag{Name: "cluster-ca", EnvVars: []string{"SLUICE_CLUSTER_CA"}, Usage: "cluster CA certificate `FILE` (PEM)"},
			&cli.StringFlag{Name: "cluster-cert", EnvVars: []string{"SLUICE_CLUSTER_CERT"}, Usage: "this node's certificate `FILE` (PEM, from sluice cert node)"},
			&cli.StringFlag{Name: "cluster-key", EnvVars: []string{"SLUICE_CLUSTER_KEY"}, Usage: "this node's private key `FILE` (PEM)"},
			&cli.StringFlag{Name: "gossip-key-file", EnvVars: []string{"SLUICE_GOSSIP_KEY_FILE"}, Usage: "`FILE` with the gossip encryption key (base64, from sluice cert gossip-key)"},
			&cli.StringFlag{Name: "replication-protocol", EnvVars: []string{"SLUICE_REPLICATION_PROTOCOL"}, Value: platform.ReplicationStream, Usage: "how followers fetch from leaders: stream (persistent binary stream) or request (one JSON request per round)"},
			&cli.StringFlag{Name: "advertise-addr", EnvVars: []string{"SLUICE_ADVERTISE_ADDR"}, Usage: "host other nodes and clients reach this node at (default: the listen hosts)"},
			&cli.StringSliceFlag{Name: "join", EnvVars: []string{"SLUICE_JOIN"}, Usage: "serf `ADDR` of a member to join (repeatable; comma-separated in the env)"},
			&cli.DurationFlag{Name: "retry-join-timeout", EnvVars: []string{"SLUICE_RETRY_JOIN_TIMEOUT"}, Usage: "give up joining after `DURATION` with no --join seed answering (0: retry until stopped)"},
			&cli.StringFlag{Name: "cluster-name", EnvVars: []string{"SLUICE_CLUSTER_NAME"}, Value: d.ClusterName, Usage: "`NAME` of the cluster; nodes gossip only with nodes of the same name"},
			&cli.IntFlag{Name: "bootstrap-expect", EnvVars: []string{"SLUICE_BOOTSTRAP_EXPECT"}, Value: d.BootstrapExpect, Usage: "controllers that form the first quorum"},
			&cli.IntFlag{Name: "max-replicas", EnvVars: []string{"SLUICE_MAX_REPLICAS"}, Usage: "most partition replicas this node holds (0: as many as its file descriptors allow)"},
			&cli.IntFlag{Name: "fd-reserve", EnvVars: []string{"SLUICE_FD_RESERVE"}, Value: platform.DefaultFDReserve, Usage: "file descriptors kept for other things than partition files"},
			&cli.StringFlag{Name: "rack", EnvVars: []string{"SLUICE_RACK"}, Usage: "`RACK` (or zone) of this node; with a rack on every broker, replicas spread over racks first"},
			&cli.BoolFlag{Name: "auto-leader-rebalance", EnvVars: []string{"SLUICE_AUTO_LEADER_REBALANCE"}, Value: true, Usage: "the active controller moves leadership back to preferred replicas when a broker's imbalance passes --leader-imbalance-percent"},
			&cli.IntFlag{Name: "leader-imbalance-percent", EnvVars: []string{"SLUICE_LEADER_IMBALANCE_PERCENT"}, Value: 10, Usage: "share of a broker's preferred partitions led elsewhere that triggers a rebalance (1-100)"},
			&cli.DurationFlag{Name: "leader-imbalance-interval", EnvVars: []string{"SLUICE_LEADER_IMBALANCE_INTERVAL"}, Value: 5 * time.Minute, Usage: "how often the active controller checks leader imbalance"},
			logLevelFlag("info"),
			&cli.StringFlag{Name: "log-format", EnvVars: []string{"SLUICE_LOG_FORMAT"}, Value: "text", Usage: "text or json"},
			&cli.StringFlag{Name: "tls-cert", EnvVars: []string{"SLUICE_TLS_CERT"}, Usage: "PEM certificate `FILE` of the HTTP/WebSocket listener (reloaded when it changes and on SIGHUP)"},
			&cli.StringFlag{Name: "tls-key", EnvVars: []string{"SLUICE_TLS_KEY"}, Usage: "PEM key `FILE` of --tls-cert"},
			&cli.StringFlag{Name: "tls-client-ca", EnvVars: []string{"SLUICE_TLS_CLIENT_CA"}, Usage: "PEM CA `FILE` verifying client certificates (their CN is the principal)"},
			&cli.StringFlag{Name: "tls-ca", EnvVars: []string{"SLUICE_TLS_CA"}, Usage: "PEM CA `FILE` trusted for other nodes' https certificates (default: --tls-client-ca)"},
			&cli.StringFlag{Name: "jwt-public-key", EnvVars: []string{"SLUICE_JWT_PUBLIC_KEY"}, Usage: "PEM public key `FILE` (RSA, ECDSA P-256, Ed25519) of an identity provider whose bearer JWTs are accepted; sub is the principal"},
			&cli.StringFlag{Name: "jwt-issuer", EnvVars: []string{"SLUICE_JWT_ISSUER"}, Usage: "required iss claim of JWTs"},
			&cli.StringFlag{Name: "jwt-audience", EnvVars: []string{"SLUICE_JWT_AUDIENCE"}, Usage: "required aud claim of JWTs"},
			&cli.BoolFlag{Name: "insecure", EnvVars: []string{"SLUICE_INSECURE"}, Usage: "run without authentication, without the TLS requirement and without node-to-node TLS and gossip encryption (logged as a warning)"},
			&cli.StringSliceFlag{Name: "allowed-origins", EnvVars: []string{"SLUICE_ALLOWED_ORIGINS"}, Usage: "browser `ORIGIN` allowed besides the listener's own, e.g. https://console.example.com, or * (repeatable)"},
			&cli.StringFlag{Name: "bootstrap-admin-token-file", EnvVars: []string{"SLUICE_BOOTSTRAP_ADMIN_TOKEN_FILE"}, Usage: "`FILE` with the first admin's token, created when missing (default: generated into DATA-DIR/admin-token)"},
			&cli.StringFlag{Name: "audit-log", EnvVars: []string{"SLUICE_AUDIT_LOG"}, Usage: "append audit records (admin actions, denials) as JSON lines to `FILE` (default: the log, with audit=true)"},
		},
		Action: runServer,
	}
}

func logLevelFlag(def string) cli.Flag {
	return &cli.StringFlag{Name: "log-level", EnvVars: []string{"SLUICE_LOG_LEVEL"}, Value: def, Usage: "debug, info, warn or error"}
}

// newLogger builds the slog logger of --log-level and --log-format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// serverSettings are the settings of `sluice server` after file, env and
// flags were merged.
type serverSettings struct {
	cfg       platform.Config
	logLevel  string
	logFormat string
	auditLog  string
}

// configKeys are the keys a --config file may hold: the flag names.
var configKeys = []string{"node-id", "roles", "data-dir", "http-addr", "raft-addr", "serf-addr", "advertise-addr", "join", "retry-join-timeout", "cluster-name", "bootstrap-expect", "max-replicas", "fd-reserve", "log-level", "log-format",
	"cluster-addr", "tls-dir", "cluster-ca", "cluster-cert", "cluster-key", "gossip-key-file", "insecure",
	"tls-cert", "tls-key", "tls-client-ca", "tls-ca", "jwt-public-key", "jwt-issuer", "jwt-audience", "allowed-origins", "bootstrap-admin-token-file", "audit-log",
	"rack", "auto-leader-rebalance", "leader-imbalance-percent", "leader-imbalance-interval", "replication-protocol"}

func loadServerSettings(c *cli.Context) (*serverSettings, error) {
	s := &serverSettings{cfg: platform.DefaultConfig(), logLevel: "info", logFormat: "text"}
	values := map[string]any{}
	if path := c.String("config"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
		raw := map[string]any{}
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
		for k, v := range raw {
			k = strings.ReplaceAll(k, "_", "-")
			if !contains(configKeys, k) {
				return nil, fmt.Errorf("config file %s: unknown key %q (keys are the flag names: %s)", path, k, strings.Join(configKeys, ", "))
			}
			values[k] = v
		}
	}
	// Flags and environment variables win over the file.
	for _, k := range configKeys {
		if c.IsSet(k) {
			if k == "join" || k == "allowed-origins" {
				values[k] = c.StringSlice(k)
			} else {
				values[k] = c.Value(k)
			}
		}
	}
	for k, v := range values {
		if err := s.set(k, v); err != nil {
			return nil, err
		}
	}
	// Authentication is on unless the operator opts out of security.
	s.cfg.Auth = !s.cfg.Insecure
	return s, nil
}

func (s *serverSettings) set(key string, v any) error {
	str := func() (string, error) {
		switch x := v.(type) {
		case string:
			return x, nil
		case float64:
			return fmt.Sprint(x), nil
		}
		return "", fmt.Errorf("setting %s: want a string, got %v", key, v)
	}
	num := func() (int, error) {
		switch x := v.(type) {
		case int:
			return x, nil
		case float64:
			if x == float64(int(x)) {
				return int(x), nil
			}
		case string:
			var n int
			if _, err := fmt.Sscan(x, &n); err == nil {
				return n, nil
			}
		}
		return 0, fmt.Errorf("setting %s: want an integer, got %v", key, v)
	}
	list := func() ([]string, error) {
		var out []string
		switch x := v.(type) {
		case string:
			out = strings.Split(x, ",")
		case []string:
			for _, e := range x {
				out = append(out, strings.Split(e, ",")...)
			}
		case []any:
			for _, e := range x {
				es, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("setting %s: want strings, got %v", key, e)
				}
				out = append(out, es)
			}
		default:
			return nil, fmt.Errorf("setting %s: want a list of strings, got %v", key, v)
		}
		clean := out[:0]
		for _, e := range out {
			if e = strings.TrimSpace(e); e != "" {
				clean = append(clean, e)
			}
		}
		return clean, nil
	}
	var err error
	switch key {
	case "node-id":
		var n int
		n, err = num()
		s.cfg.NodeID = int32(n)
	case "bootstrap-expect":
		s.cfg.BootstrapExpect, err = num()
	case "max-replicas":
		s.cfg.MaxReplicas, err = num()
	case "fd-reserve":
		s.cfg.FDReserve, err = num()
	case "roles":
		s.cfg.Roles, err = list()
	case "join":
		s.cfg.Join, err = list()
	case "retry-join-timeout":
		s.cfg.RetryJoinTimeout, err = duration(key, v)
	case "data-dir":
		s.cfg.DataDir, err = str()
	case "http-addr":
		s.cfg.HTTPAddr, err = str()
	case "raft-addr":
		s.cfg.RaftAddr, err = str()
	case "serf-addr":
		s.cfg.SerfAddr, err = str()
	case "advertise-addr":
		s.cfg.AdvertiseAddr, err = str()
	case "cluster-name":
		s.cfg.ClusterName, err = str()
	case "cluster-addr":
		s.cfg.ClusterAddr, err = str()
	case "tls-dir":
		s.cfg.ClusterTLSDir, err = str()
	case "cluster-ca":
		s.cfg.ClusterTLS.CA, err = str()
	case "cluster-cert":
		s.cfg.ClusterTLS.Cert, err = str()
	case "cluster-key":
		s.cfg.ClusterTLS.Key, err = str()
	case "gossip-key-file":
		s.cfg.GossipKeyFile, err = str()
	case "insecure":
		switch x := v.(type) {
		case bool:
			s.cfg.Insecure = x
		case string:
			s.cfg.Insecure, err = strconv.ParseBool(x)
		default:
			err = fmt.Errorf("setting insecure: want true or false, got %v", v)
		}
	case "replication-protocol":
		s.cfg.ReplicationProtocol, err = str()
	case "log-level":
		s.logLevel, err = str()
	case "log-format":
		s.logFormat, err = str()
	case "tls-cert":
		s.cfg.TLSCertFile, err = str()
	case "tls-key":
		s.cfg.TLSKeyFile, err = str()
	case "tls-client-ca":
		s.cfg.TLSClientCAFile, err = str()
	case "tls-ca":
		s.cfg.TLSCAFile, err = str()
	case "jwt-public-key":
		s.cfg.JWTPublicKeyFile, err = str()
	case "jwt-issuer":
		s.cfg.JWTIssuer, err = str()
	case "jwt-audience":
		s.cfg.JWTAudience, err = str()
	case "allowed-origins":
		s.cfg.AllowedOrigins, err = list()
	case "bootstrap-admin-token-file":
		s.cfg.BootstrapAdminTokenFile, err = str()
	case "audit-log":
		s.auditLog, err = str()
	case "rack":
		s.cfg.Rack, err = str()
	case "auto-leader-rebalance":
		var on bool
		on, err = boolean(key, v)
		s.cfg.LeaderRebalance.Disabled = !on
	case "leader-imbalance-percent":
		s.cfg.LeaderRebalance.ThresholdPercent, err = num()
	case "leader-imbalance-interval":
		s.cfg.LeaderRebalance.Interval, err = duration(key, v)
	}
	return err
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func runServer(c *cli.Context) error {
	s, err := loadServerSettings(c)
	if err != nil {
		return err
	}
	logger, err := newLogger(c.App.ErrWriter, s.logLevel, s.logFormat)
	if err != nil {
		return err
	}
	s.cfg.Logger = logger
	platform.TuneGC(logger)
	if err := checkClusterSecurity(s.cfg); err != nil {
		return err
	}
	if s.auditLog != "" {
		f, err := os.OpenFile(s.auditLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("--audit-log: %w", err)
		}
		defer f.Close()
		s.cfg.AuditLogger = slog.New(slog.NewJSONHandler(f, nil)).With("node", s.cfg.NodeID)
	}
	var hangups sync.WaitGroup // the SIGHUP handler, stopped by ctx
	defer hangups.Wait()
	return serveNodes(c.Context, []platform.Config{s.cfg}, func(nodes []*platform.Node) {
		n := nodes[0]
		if _, err := n.BootstrapAuth(c.Context); err != nil {
			logger.Error("bootstrap authentication", "err", err)
		}
		logger.Info("sluice server ready", "node_id", s.cfg.NodeID, "http", n.URL(), "roles", strings.Join(s.cfg.Roles, ","),
			"data_dir", s.cfg.DataDir, "tls", s.cfg.TLSCertFile != "", "auth", s.cfg.Auth)
		hangups.Add(1)
		go func() {
			defer hangups.Done()
			reloadOnHangup(c.Context, n, logger)
		}()
	})
}

// checkClusterSecurity is sluice server's part of the start-up gate, on
// top of platform.Config's (which refuses any non-loopback address
// without TLS and auth): a multi-node cluster (joining others, or a quorum
// of more than one) needs TLS and auth even on loopback, unless
// --insecure.
func checkClusterSecurity(cfg platform.Config) error {
	if cfg.Insecure || (cfg.TLSCertFile != "" && cfg.Auth) {
		return nil
	}
	if len(cfg.Join) > 0 || cfg.BootstrapExpect > 1 {
		return errors.New("refusing to start a multi-node cluster without TLS and authentication: give --tls-cert and --tls-key, " +
			"or --insecure to run it unprotected (see docs/security.md)")
	}
	return nil
}

// reloadOnHangup reloads the node's TLS certificate on every SIGHUP until
// ctx ends (the server's lifetime).
func reloadOnHangup(ctx context.Context, n *platform.Node, logger *slog.Logger) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			if err := n.ReloadTLS(); err != nil {
				logger.Error("reload tls certificate on SIGHUP", "err", err)
			} else {
				logger.Info("tls certificate reloaded on SIGHUP")
			}
		}
	}
}

// serveNodes starts the nodes: the first alone (the others join its
// gossip), then the rest concurrently (a controller may wait for its peers
// to form the quorum). It calls ready once every node serves, serves until
// ctx ends (SIGINT/SIGTERM), then closes the nodes in reverse order.
func serveNodes(ctx context.Context, cfgs []platform.Config, ready func([]*platform.Node)) error {
	nodes := make([]*platform.Node, len(cfgs))
	errs := make([]error, len(cfgs))
	nodes[0], errs[0] = platform.Start(ctx, cfgs[0])
	if errs[0] == nil {
		var wg sync.WaitGroup
		for i := 1; i < len(cfgs); i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				nodes[i], errs[i] = platform.Start(ctx, cfgs[i])
			}()
		}
		wg.Wait()
	}
	closeAll := func() error {
		var first error
		for i := len(nodes) - 1; i >= 0; i-- {
			if nodes[i] == nil {
				continue
			}
			if err := nodes[i].Close(); err != nil && first == nil {
				first = fmt.Errorf("close node %d: %w", cfgs[i].NodeID, err)
			}
		}
		return first
	}
	if err := errors.Join(errs...); err != nil {
		closeAll()
		if ctx.Err() != nil {
			return nil // interrupted while starting
		}
		return fmt.Errorf("start: %w", err)
	}
	// Nodes that join others return from Start before the cluster has
	// formed; report ready once every node serves.
	for _, n := range nodes {
		if err := n.WaitReady(ctx); err != nil {
			closeAll()
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	ready(nodes)
	<-ctx.Done()
	return closeAll()
}

// httpURL turns a listen address into a base URL.
func httpURL(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	return "http://" + addr
}

// duration reads a setting given as a Go duration string ("30s", "5m") or,
// from a flag, as a time.Duration.
func duration(key string, v any) (time.Duration, error) {
	switch x := v.(type) {
	case time.Duration:
		return x, nil
	case string:
		d, err := time.ParseDuration(x)
		if err != nil {
			return 0, fmt.Errorf("setting %s: %w", key, err)
		}
		return d, nil
	}
	return 0, fmt.Errorf("setting %s: want a duration such as \"30s\", got %v", key, v)
}

// boolean reads a setting given as a JSON or flag bool, or a string
// ("true", "false").
func boolean(key string, v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		b, err := strconv.ParseBool(x)
		if err != nil {
			return false, fmt.Errorf("setting %s: want true or false, got %q", key, x)
		}
		return b, nil
	}
	return false, fmt.Errorf("setting %s: want true or false, got %v", key, v)
}
