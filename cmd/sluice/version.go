package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/platform/buildinfo"
	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/urfave/cli/v2"
)

// versionAsk bounds the question to the node: `sluice version` must answer
// at once even when no node runs.
const versionAsk = 3 * time.Second

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version of this binary and of the node at --server",
		Description: "The CLI's build (version, VCS revision, Go version, platform), then the node's\n" +
			"(GET /v1/version) unless --client. A node that does not answer within 3 s is\n" +
			"reported, not an error: the command still exits 0.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "client", Usage: "print only this binary's version; do not ask a node"},
		},
		Action: printVersion,
	}
}

// versionOutput is `sluice version -o json`.
type versionOutput struct {
	Client      buildinfo.Info     `json:"client"`
	Server      *wire.BuildVersion `json:"server,omitempty"`
	ServerError string             `json:"server_error,omitempty"`
}

func printVersion(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("version: unexpected arguments: %v", c.Args().Slice())
	}
	out := versionOutput{Client: buildinfo.Get()}
	if !c.Bool("client") {
		cl, err := newClient(c)
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(c.Context, versionAsk)
		defer cancel()
		v, err := cl.Version(ctx)
		if err != nil {
			out.ServerError = errorMessage(err)
		}
		out.Server = v
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, out)
	}
	fmt.Fprintf(c.App.Writer, "client: sluice %s\n", out.Client)
	switch {
	case out.Server != nil:
		s := buildinfo.Info{Version: out.Server.Version, Revision: out.Server.Revision, Modified: out.Server.Modified,
			GoVersion: out.Server.GoVersion, OS: out.Server.OS, Arch: out.Server.Arch}
		fmt.Fprintf(c.App.Writer, "server: sluice %s, node %d at %s\n", s, out.Server.NodeID, c.String("server"))
	case out.ServerError != "":
		fmt.Fprintf(c.App.Writer, "server: %s\n", out.ServerError)
	}
	return nil
}
