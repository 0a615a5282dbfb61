package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/urfave/cli/v2"
)

func certCommand() *cli.Command {
	dir := &cli.StringFlag{Name: "dir", Value: "tls", Usage: "TLS `DIR` (created 0700; keys are written 0600)"}
	return &cli.Command{
		Name:  "cert",
		Usage: "create a cluster CA, node and client certificates, gossip keys",
		Description: "Writes PEM files into --dir, never overwriting one:\n" +
			"   sluice cert ca                      ca.crt, ca.key (keep ca.key offline)\n" +
			"   sluice cert node --id 2 --host h2   node-2.crt, node-2.key (server and client auth,\n" +
			"                                       SANs localhost, 127.0.0.1, ::1 and each --host)\n" +
			"   sluice cert client --name alice     client-alice.crt, client-alice.key\n" +
			"   sluice cert gossip-key              gossip.key (base64, for --gossip-key-file)\n" +
			"A node started with --tls-dir DIR finds ca.crt, node-<id>.crt/.key and gossip.key there.",
		Subcommands: []*cli.Command{
			{
				Name: "ca", Usage: "create a CA (ca.crt, ca.key)",
				Flags: []cli.Flag{dir, &cli.StringFlag{Name: "name", Value: "Sluice cluster CA", Usage: "the CA's common `NAME`"}},
				Action: func(c *cli.Context) error {
					ca, err := clusternet.NewCA(c.String("name"))
					if err != nil {
						return err
					}
					if err := clusternet.WriteCA(c.String("dir"), ca); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "wrote %s and %s\n", filepath.Join(c.String("dir"), clusternet.CAFileName), filepath.Join(c.String("dir"), clusternet.CAKeyFileName))
					return nil
				},
			},
			{
				Name: "node", Usage: "issue a node certificate (node-<id>.crt, node-<id>.key)",
				Flags: []cli.Flag{dir,
					&cli.IntFlag{Name: "id", Required: true, Usage: "node `ID` (the node's --node-id)"},
					&cli.StringSliceFlag{Name: "host", Usage: "extra `HOST` name or IP address other nodes reach it at (repeatable)"},
					&cli.BoolFlag{Name: "broker-only", Usage: "a node that never runs a controller: raft refuses this certificate"}},
				Action: func(c *cli.Context) error {
					ca, err := loadCAFromDir(c.String("dir"))
					if err != nil {
						return err
					}
					id := int32(c.Int("id"))
					issue := ca.IssueNode
					if c.Bool("broker-only") {
						issue = ca.IssueBroker
					}
					is, err := issue(id, splitHosts(c.StringSlice("host")))
					if err != nil {
						return err
					}
					crt, key := filepath.Join(c.String("dir"), clusternet.NodeCertFileName(id)), filepath.Join(c.String("dir"), clusternet.NodeKeyFileName(id))
					if err := clusternet.WritePair(crt, key, is); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "wrote %s and %s\n", crt, key)
					return nil
				},
			},
			{
				Name: "client", Usage: "issue a client certificate (client-<name>.crt, client-<name>.key)",
				Flags: []cli.Flag{dir, &cli.StringFlag{Name: "name", Required: true, Usage: "client `NAME` (URI SAN sluice://client/NAME)"}},
				Action: func(c *cli.Context) error {
					ca, err := loadCAFromDir(c.String("dir"))
					if err != nil {
						return err
					}
					name := c.String("name")
					is, err := ca.IssueClient(name)
					if err != nil {
						return err
					}
					crt, key := filepath.Join(c.String("dir"), clusternet.ClientCertFileName(name)), filepath.Join(c.String("dir"), clusternet.ClientKeyFileName(name))
					if err := clusternet.WritePair(crt, key, is); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "wrote %s and %s\n", crt, key)
					return nil
				},
			},
			{
				Name: "gossip-key", Usage: "create a gossip encryption key (gossip.key); --print writes a new key to stdout instead",
				Flags: []cli.Flag{dir, &cli.BoolFlag{Name: "print", Usage: "print a new key (for sluice cluster keyring install) instead of writing a file"}},
				Action: func(c *cli.Context) error {
					if c.Bool("print") {
						fmt.Fprintln(c.App.Writer, clusternet.NewGossipKey())
						return nil
					}
					path := filepath.Join(c.String("dir"), clusternet.GossipFileName)
					if err := mkdirPrivate(c.String("dir")); err != nil {
						return err
					}
					if err := clusternet.WriteGossipKey(path); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "wrote %s\n", path)
					return nil
				},
			},
		},
	}
}

func loadCAFromDir(dir string) (*clusternet.CA, error) {
	return clusternet.LoadCA(filepath.Join(dir, clusternet.CAFileName), filepath.Join(dir, clusternet.CAKeyFileName))
}

func splitHosts(in []string) []string {
	var out []string
	for _, h := range in {
		for _, p := range strings.Split(h, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
