package main

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"github.com/sluicehq/sluice/platform"
	"github.com/urfave/cli/v2"
)

func devCommand() *cli.Command {
	return &cli.Command{
		Name:  "dev",
		Usage: "run Sluice locally: one node with both roles (or --nodes N on loopback)",
		Description: "Serves until Ctrl-C. Data survives restarts in --data-dir. With --nodes N,\n" +
			"starts N real nodes in this process (HTTP, raft and serf ports counting up\n" +
			"from the given ones; data in DIR/node-1 ... DIR/node-N); node 1..min(N,3) are\n" +
			"controllers, all are brokers.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data-dir", Value: "sluice-data", Usage: "`DIR` for all data"},
			&cli.StringFlag{Name: "http-addr", Value: platform.DefaultHTTPAddr, Usage: "HTTP API listen address (the CLI's default --server)"},
			&cli.StringFlag{Name: "raft-addr", Value: platform.DefaultRaftAddr, Usage: "raft address of node 1"},
			&cli.StringFlag{Name: "serf-addr", Value: platform.DefaultSerfAddr, Usage: "gossip address of node 1"},
			&cli.IntFlag{Name: "nodes", Value: 1, Usage: "number of nodes"},
			logLevelFlag("error"),
		},
		Action: runDev,
	}
}

func runDev(c *cli.Context) error {
	n := c.Int("nodes")
	if n < 1 || n > 9 {
		return fmt.Errorf("--nodes %d: want 1 to 9", n)
	}
	logger, err := newLogger(c.App.ErrWriter, c.String("log-level"), "text")
	if err != nil {
		return err
	}
	controllers := min(n, 3)
	var cfgs []platform.Config
	for i := 0; i < n; i++ {
		cfg := platform.DefaultConfig()
		cfg.NodeID = int32(i + 1)
		cfg.Logger = logger
		// Loopback in one process: elections and failure detection in
		// milliseconds rather than seconds.
		cfg.Timing = platform.FastTiming()
		cfg.DataDir = c.String("data-dir")
		if n > 1 {
			cfg.DataDir = filepath.Join(cfg.DataDir, "node-"+strconv.Itoa(i+1))
		}
		if cfg.HTTPAddr, err = addPort(c.String("http-addr"), i); err != nil {
			return err
		}
		if cfg.RaftAddr, err = addPort(c.String("raft-addr"), i); err != nil {
			return err
		}
		if cfg.SerfAddr, err = addPort(c.String("serf-addr"), i); err != nil {
			return err
		}
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
	w := c.App.Writer
	return serveNodes(c.Context, cfgs, func(nodes []*platform.Node) {
		for i, nd := range nodes {
			fmt.Fprintf(w, "sluice dev: node %d serving %s (data in %s)\n", i+1, httpURL(nd.HTTPAddr()), cfgs[i].DataDir)
		}
		fmt.Fprintf(w, "try:  sluice topic create demo --partitions 3   (Ctrl-C stops)\n")
	})
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
