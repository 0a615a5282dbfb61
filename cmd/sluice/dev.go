package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/urfave/cli/v2"
)

func devCommand() *cli.Command {
	return &cli.Command{
		Name:  "dev",
		Usage: "run Sluice locally: one node with both roles (or --nodes N on loopback)",
		Description: "Serves until Ctrl-C. Data survives restarts in --data-dir. With --nodes N,\n" +
			"starts N real nodes in this process (HTTP, raft and serf ports counting up\n" +
			"from the given ones; data in DIR/node-1 ... DIR/node-N); node 1..min(N,3) are\n" +
			"controllers, all are brokers. The nodes form a cluster named by --cluster-name,\n" +
			"by default a random name kept in DIR/cluster-name: nodes of another cluster\n" +
			"(another dev, or servers on the same ports) can never join this one.\n" +
			"Node-to-node traffic runs on the secure path with no set-up: a development\n" +
			"CA and gossip key are created in DIR/tls on first start (each node issues its\n" +
			"own loopback certificate from it); the HTTP API is for local use only.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data-dir", Value: "sluice-data", Usage: "`DIR` for all data"},
			&cli.StringFlag{Name: "http-addr", Value: platform.DefaultHTTPAddr, Usage: "HTTP API listen address (the CLI's default --server)"},
			&cli.StringFlag{Name: "raft-addr", Value: platform.DefaultRaftAddr, Usage: "raft address of node 1"},
			&cli.StringFlag{Name: "serf-addr", Value: platform.DefaultSerfAddr, Usage: "gossip address of node 1"},
			&cli.StringFlag{Name: "cluster-addr", Value: platform.DefaultClusterAddr, Usage: "node-to-node (cluster listener) address of node 1"},
			&cli.IntFlag{Name: "nodes", Value: 1, Usage: "number of nodes"},
			&cli.StringSliceFlag{Name: "allowed-origins", Usage: "browser `ORIGIN` allowed besides the node's own (repeatable; \"null\" lets a page opened from a file:// URL connect)"},
			&cli.StringFlag{Name: "cluster-name", Usage: "cluster `NAME` (default: the one kept in DIR/cluster-name, created at random on first start)"},
			logLevelFlag("error"),
		},
		Action: runDev,
	}
}

// devOptions are the settings of `sluice dev`.
type devOptions struct {
	nodes                        int
	dataDir                      string
	httpAddr, raftAddr, serfAddr string
	clusterAddr                  string
	clusterName                  string // "" means the one kept in dataDir
}

func runDev(c *cli.Context) error {
	logger, err := newLogger(c.App.ErrWriter, c.String("log-level"), "text")
	if err != nil {
		return err
	}
	platform.TuneGC(logger)
	cfgs, err := devConfigs(devOptions{nodes: c.Int("nodes"), dataDir: c.String("data-dir"),
		httpAddr: c.String("http-addr"), raftAddr: c.String("raft-addr"), serfAddr: c.String("serf-addr"),
		clusterAddr: c.String("cluster-addr"),
		clusterName: c.String("cluster-name")})
	if err != nil {
		return err
	}
	for i := range cfgs {
		cfgs[i].Logger = logger
		cfgs[i].AllowedOrigins = c.StringSlice("allowed-origins")
	}
	w := c.App.Writer
	return serveNodes(c.Context, cfgs, func(nodes []*platform.Node) {
		for i, nd := range nodes {
			fmt.Fprintf(w, "sluice dev: node %d serving %s (data in %s)\n", i+1, httpURL(nd.HTTPAddr()), cfgs[i].DataDir)
		}
		fmt.Fprintf(w, "sluice dev: UNAUTHENTICATED, loopback only: anyone on this machine can use it (docs/security.md runs a protected node)\n")
		fmt.Fprintf(w, "try:  sluice topic create demo --partitions 3   (Ctrl-C stops)\n")
	})
}

// devConfigs returns the configurations of the dev nodes: node 1 first
// (serveNodes starts it alone; the others join its gossip address).
func devConfigs(o devOptions) ([]platform.Config, error) {
	n := o.nodes
	if n < 1 || n > 9 {
		return nil, fmt.Errorf("--nodes %d: want 1 to 9", n)
	}
	name := o.clusterName
	if name == "" {
		var err error
		if name, err = devClusterName(o.dataDir); err != nil {
			return nil, err
		}
	}
	// One development CA for every node of this data directory (its nodes
	// trust each other, and nobody else).
	tlsDir := filepath.Join(o.dataDir, "tls")
	if err := clusternet.DevDir(tlsDir); err != nil {
		return nil, err
	}
	if o.clusterAddr == "" {
		o.clusterAddr = platform.DefaultClusterAddr
	}
	controllers := min(n, 3)
	var cfgs []platform.Config
	for i := 0; i < n; i++ {
		cfg := platform.DefaultConfig()
		cfg.NodeID = int32(i + 1)
		cfg.ClusterName = name
		// Loopback in one process: elections and failure detection in
		// milliseconds rather than seconds.
		cfg.Timing = platform.FastTiming()
		cfg.DataDir = o.dataDir
		if n > 1 {
			cfg.DataDir = filepath.Join(cfg.DataDir, "node-"+strconv.Itoa(i+1))
		}
		var err error
		if cfg.HTTPAddr, err = addPort(o.httpAddr, i); err != nil {
			return nil, err
		}
		if cfg.RaftAddr, err = addPort(o.raftAddr, i); err != nil {
			return nil, err
		}
		if cfg.SerfAddr, err = addPort(o.serfAddr, i); err != nil {
			return nil, err
		}
		if cfg.ClusterAddr, err = addPort(o.clusterAddr, i); err != nil {
			return nil, err
		}
		cfg.ClusterTLSDir = tlsDir
		cfg.Roles = []string{platform.RoleBroker}
		if i < controllers {
			cfg.Roles = []string{platform.RoleController, platform.RoleBroker}
		}
		cfg.BootstrapExpect = controllers
		if i > 0 {
			cfg.Join = []string{cfgs[0].SerfAddr}
		}
		cfgs = append(cfgs, cfg)
	}
	return cfgs, nil
}

// devClusterNameFile holds a dev cluster's name in its data directory.
const devClusterNameFile = "cluster-name"

// devClusterName returns the cluster name kept in dir, creating dir and a
// random name ("dev-" and 16 hex digits) on the first start. Every data
// directory is its own cluster: two dev runs on the same ports cannot
// gossip with each other, while a restart on the same data finds its name.
func devClusterName(dir string) (string, error) {
	path := filepath.Join(dir, devClusterNameFile)
	b, err := os.ReadFile(path)
	if err == nil {
		name := strings.TrimSpace(string(b))
		if name == "" {
			return "", fmt.Errorf("%s is empty: delete it or pass --cluster-name", path)
		}
		return name, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read cluster name: %w", err)
	}
	var r [8]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails (Go 1.24+)
	name := "dev-" + hex.EncodeToString(r[:])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(name+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("write cluster name: %w", err)
	}
	return name, nil
}

// addPort returns addr with its port increased by i (port 0 stays 0).
func addPort(addr string, i int) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", fmt.Errorf("address %q: port %q is not a number", addr, port)
	}
	if p != 0 {
		p += i
	}
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}
