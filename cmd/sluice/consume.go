package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/urfave/cli/v2"
)

func consumeCommand() *cli.Command {
	return &cli.Command{
		Name:      "consume",
		Usage:     "print the records of a topic",
		ArgsUsage: "TOPIC",
		Description: "Reads every partition (or --partition P) from --from and prints one record\n" +
			"per line: the value (text format; non-printable bytes escaped unless --raw), or a JSON object with partition, offset,\n" +
			"timestamp, key, value and headers (json format). Exits after --max records,\n" +
			"after --idle-timeout without records, or follows the topic until Ctrl-C.\n" +
			"Within a partition records arrive in offset order.\n\n" +
			"   sluice consume orders --from earliest --max 10 --format json\n" +
			"   sluice consume orders --processor redact@2 --param fields=email",
		Flags: []cli.Flag{
			&cli.IntSliceFlag{Name: "partition", Aliases: []string{"p"}, Usage: "read only partition `P` (repeatable; default all)"},
			&cli.StringFlag{Name: "from", Value: "earliest", Usage: "start at earliest, latest, an OFFSET, or @TIMESTAMP (ms since the epoch or RFC 3339)"},
			&cli.IntFlag{Name: "max", Aliases: []string{"n"}, Usage: "exit after `N` records (0: follow)"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text (the value; key too with --key-separator) or json (one object per line; the default with --output json)"},
			&cli.StringFlag{Name: "key-separator", Aliases: []string{"K"}, Usage: "text format: print key, `SEP`, value for records with a key"},
			&cli.BoolFlag{Name: "raw", Usage: "text format: print keys and values byte for byte (default: control characters and invalid UTF-8 escaped as \\n, \\xNN)"},
			&cli.StringFlag{Name: "processor", Usage: "run processor plugin `NAME[@N]` on the broker"},
			&cli.StringSliceFlag{Name: "param", Usage: "processor parameter `KEY=VALUE` (repeatable)"},
			&cli.DurationFlag{Name: "idle-timeout", Usage: "exit when no record arrives for this long (0: never)"},
			&cli.StringFlag{Name: "group", Aliases: []string{"g"}, Usage: "consume as a member of consumer group `G` (over WebSocket; --from applies where G has no committed offset; commits every second and on exit)"},
		},
		Action: consume,
	}
}

func consume(c *cli.Context) error {
	topic, err := oneArg(c, "TOPIC")
	if err != nil {
		return err
	}
	from, err := client.ParsePosition(c.String("from"))
	if err != nil {
		return err
	}
	format := c.String("format")
	if !c.IsSet("format") && wantJSON(c) {
		format = "json" // --output json without --format: JSON lines
	}
	if format != "text" && format != "json" {
		return fmt.Errorf("--format %q: want text or json", format)
	}
	params, err := parseKV("param", c.StringSlice("param"))
	if err != nil {
		return err
	}
	if params != nil && c.String("processor") == "" {
		return fmt.Errorf("--param needs --processor")
	}
	var parts []int32
	for _, p := range c.IntSlice("partition") {
		parts = append(parts, int32(p))
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	pr := recordPrinter{w: c.App.Writer, json: format == "json", sep: c.String("key-separator"), raw: c.Bool("raw")}
	if g := c.String("group"); g != "" {
		if len(parts) > 0 {
			return fmt.Errorf("--partition and --group exclude each other: the group assigns partitions")
		}
		return consumeGroup(c, cl, topic, g, from, params, &pr)
	}
	cs, err := cl.NewConsumer(c.Context, client.ConsumerConfig{
		Topic:      topic,
		Partitions: parts,
		From:       from,
		Processor:  c.String("processor"),
		Params:     params,
	})
	if err != nil {
		return err
	}
	defer cs.Close()

	max, idle := c.Int("max"), c.Duration("idle-timeout")
	n := 0
	for max == 0 || n < max {
		ctx, cancel := c.Context, context.CancelFunc(func() {})
		if idle > 0 {
			ctx, cancel = context.WithTimeout(c.Context, idle)
		}
		fb, err := cs.Poll(ctx)
		cancel()
		switch {
		case err == nil:
		case c.Context.Err() != nil:
			return nil // Ctrl-C ends following: not an error
		case errors.Is(err, context.DeadlineExceeded) && idle > 0:
			return nil
		default:
			return err
		}
		for _, r := range fb.Records {
			if max > 0 && n >= max {
				break
			}
			if err := pr.print(&r); err != nil {
				return err
			}
			n++
		}
	}
	return nil
}

// recordPrinter writes one record per line.
type recordPrinter struct {
	w    io.Writer
	json bool
	sep  string
	raw  bool // text format: bytes unchanged (else escaped, see appendSafe)
	buf  []byte
}

func (p *recordPrinter) print(r *client.Record) error {
	if p.json {
		b, err := json.Marshal(wire.NewFetchRecord(*r, false))
		if err != nil {
			return fmt.Errorf("encode record: %w", err)
		}
		b = append(b, '\n')
		_, err = p.w.Write(b)
		return err
	}
	b := p.buf[:0]
	if p.sep != "" && r.Key != nil {
		b = p.text(b, r.Key)
		b = append(b, p.sep...)
	}
	b = p.text(b, r.Value)
	b = append(b, '\n')
	p.buf = b
	_, err := p.w.Write(b)
	return err
}

func (p *recordPrinter) text(dst, v []byte) []byte {
	if p.raw {
		return append(dst, v...)
	}
	return appendSafe(dst, v)
}
