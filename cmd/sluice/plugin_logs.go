package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/sluicehq/sluice/sdk/wire"
)

func pluginLogsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "show a plugin's recent stdout/stderr lines, as kept by the node asked",
		ArgsUsage: "NAME",
		Description: "Each node keeps the last 1,000 lines of each plugin it ran, whatever its log level\n" +
			"(a call may log 100 lines, a plugin 100 lines/s; what goes past is counted, not kept).\n" +
			"A partitioner runs on the node that took the produce, a processor on the partition's leader.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new lines until interrupted"},
			&cli.Uint64Flag{Name: "after", Usage: "only lines after sequence number `SEQ`"},
			&cli.DurationFlag{Name: "interval", Value: time.Second, Usage: "how often --follow asks"},
		},
		Action: pluginLogs,
	}
}

func pluginLogs(c *cli.Context) error {
	name, err := oneArg(c, "NAME")
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	after := c.Uint64("after")
	var dropped uint64
	for {
		res, err := cl.PluginLogs(c.Context, name, after, 0)
		if err != nil {
			return err
		}
		for _, l := range res.Lines {
			if wantJSON(c) {
				if err := printJSONLine(c, l); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(c.App.Writer, "%s %s@%d %s: %s\n", l.Time.UTC().Format(time.RFC3339Nano), name, l.Version, l.Stream, l.Text)
		}
		if res.Dropped > dropped && !wantJSON(c) {
			fmt.Fprintf(c.App.ErrWriter, "(%d lines of plugin %s dropped by the node's rate limit)\n", res.Dropped-dropped, name)
		}
		dropped, after = res.Dropped, res.Next
		if !c.Bool("follow") {
			if !wantJSON(c) && len(res.Lines) == 0 {
				fmt.Fprintf(c.App.ErrWriter, "no log lines of plugin %s on this node\n", name)
			}
			return nil
		}
		if len(res.Lines) == 0 {
			select {
			case <-c.Context.Done():
				return nil
			case <-time.After(c.Duration("interval")):
			}
		}
	}
}

// printJSONLine writes one JSON line per log line (the --output json form).
func printJSONLine(c *cli.Context, l wire.PluginLogLine) error {
	return json.NewEncoder(c.App.Writer).Encode(l)
}
